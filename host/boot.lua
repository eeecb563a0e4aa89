-- modhost's boot chunk: builds Prosody's globals in the loop's Lua state.
-- Called once by the Go runtime with the native library, the host list,
-- prosody.paths and the config file's name.

local native, host_list, paths, config_file = ...;

local events = require "util.events";

prosody = {
	hosts = {};
	events = events.new();
	paths = paths;
	version = "0.12 (modhost)";
	platform = "posix";
	process_type = "modhost";
	full_sessions = {};
	bare_sessions = {};
	start_time = os.time();
	config_file = config_file;
	lock_globals = function () end;
	unlock_globals = function () end;
	_shared_tables = {};
};

-- prosody.shutdown(reason, code) asks modhost to stop as a signal would
-- (Runtime.ShutdownRequested); its presence tells a module it runs in the
-- server, not under prosodyctl (mod_invites_api, mod_invites_page mount
-- nothing without it).
function prosody.shutdown(reason, code)
	native.shutdown(reason ~= nil and tostring(reason) or "", tonumber(code) or 0);
end
hosts = prosody.hosts;

-- prosody.reload_config(): what Prosody 0.12 does on SIGHUP (util/startup.lua
-- gives it the same steps). The config in use stays when the file fails to
-- load; modules are not reloaded. Returns true, or false and why.
function prosody.reload_config()
	local log = native.logger("general");
	log("info", "Reloading configuration file");
	prosody.events.fire_event("reloading-config");
	local configmanager = require "core.configmanager";
	local ok, level, err = configmanager.load(prosody.config_file);
	if not ok then
		if level == "parser" then
			log("error", "There was an error parsing the configuration file: %s", err);
		else
			log("error", "Couldn't read the config file when trying to reload: %s", err);
		end
		return false, tostring(level) .. ": " .. tostring(err);
	end
	prosody.events.fire_event("config-reloaded", {
		filename = prosody.config_file;
		config = configmanager.getconfig();
	});
	return true;
end

for _, h in ipairs(host_list) do
	hosts[h.name] = {
		type = h.type;
		host = h.name;
		events = events.new();
		modules = {};
		sessions = {};
		-- Outgoing s2s sessions by remote domain: the XMPP server holds
		-- them, modhost has none, so a plugin that only reads it sees an
		-- empty table.
		s2sout = {};
	};
end

local function host_of(jid)
	if not jid then return nil; end
	jid = jid:gsub("/.*$", "");
	return jid:match("@(.*)$") or jid;
end

-- Stanzas for a user who has a standalone session on this modhost go to that
-- session; everything else leaves through the host's stanza sink.
function prosody.core_post_stanza(origin, stanza)
	local to = stanza.attr and stanza.attr.to;
	local to_host = host_of(to);
	local h = to_host and hosts[to_host];
	if h and h.sessions and to then
		local node, resource = to:match("^([^@/]+)@[^/]+/?(.*)$");
		local user = node and h.sessions[node];
		if user then
			if resource ~= "" then
				local session = user.sessions and user.sessions[resource];
				if session and session.send then
					session.send(stanza);
					return true;
				end
			end
		end
	end
	local from_host = origin and origin.host or host_of(stanza.attr and stanza.attr.from);
	if from_host and native.link_send(from_host, stanza) then
		return true;
	end
	return native.send(from_host or "*", tostring(stanza));
end

function prosody.core_route_stanza(origin, stanza)
	return prosody.core_post_stanza(origin, stanza);
end

function prosody.core_send_iq()
	return nil, "send_iq needs an XMPP link";
end

for _, h in pairs(hosts) do
	h.send = function (stanza) return prosody.core_post_stanza(h, stanza); end;
end

-- Session counts for modhost_sessions, taken first so that no handler
-- stopping the event can hide a session.
for name, h in pairs(hosts) do
	if h.type == "local" then
		native.sessions_changed(name, 0);
		h.events.add_handler("resource-bind", function () native.sessions_changed(name, 1); end, 1000);
		h.events.add_handler("resource-unbind", function () native.sessions_changed(name, -1); end, 1000);
	end
end

-- Plugins' HTTP routes: what Prosody's mod_http does for module:provides("http").
for name, h in pairs(hosts) do
	local mounted = {};
	h.events.add_handler("item-added/http-provider", function (event)
		local item = event.item;
		local id, where = native.http_mount(name, event.source and event.source.name or item.name or "?", item);
		if not id then
			local log = native.logger(name .. ":http");
			log("error", "Could not mount HTTP routes of %s: %s", tostring(item._provided_by or item.name), tostring(where));
			return;
		end
		mounted[item] = id;
	end);
	h.events.add_handler("item-removed/http-provider", function (event)
		local id = mounted[event.item];
		if id then
			mounted[event.item] = nil;
			native.http_unmount(id);
		end
	end);
end
