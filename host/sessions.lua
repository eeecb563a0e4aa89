-- Standalone client sessions: what Prosody's c2s, sessionmanager,
-- stanza_router, mod_iq, mod_presence and mod_roster's query handling do for
-- a logged-in client, reduced to what plugins observe. Used by the embedding
-- API and `modhost test` when there is no XMPP server; with a link, sessions
-- come from the server's presence instead.
--
-- Each session processes its work in a util.async runner of its own, one item
-- at a time, as a Prosody c2s session does: a handler may wait (a roster fetch
-- at login) without blocking any other session.

local native = ...;
local async = require "util.async";
local st = require "util.stanza";
local rostermanager = require "core.rostermanager";
local jid_lib = require "util.jid";
local xml_parse = require "util.xml".parse;

local pairs, tostring, tonumber = pairs, tostring, tonumber;

local sessions = {};

local function bare_of(session) return session.username .. "@" .. session.host; end

-- The roster of an online user is held by Go until Lua reads it
-- (core.rostermanager's load_online): reading user.roster or session.roster
-- makes it the Lua table that is the truth from then on. A field set or
-- already made is read raw, as on any table.
local bare_mt = { __index = function (user, key)
	if key ~= "roster" then return nil; end
	local roster = rostermanager.materialise(user.username, user.host);
	if roster ~= nil then rawset(user, "roster", roster); end
	return roster;
end };

-- One metatable for every full session (one each would cost a table and
-- a closure per session): the bare session is found by name.
local full_mt = { __index = function (session, key)
	if key ~= "roster" then return nil; end
	local h = hosts[rawget(session, "host")];
	local user = h and h.sessions[rawget(session, "username")];
	local roster = user and user.roster;
	if roster ~= nil then rawset(session, "roster", roster); end
	return roster;
end };

-- A session has a runner only while it has work: one kept for every idle
-- session cost three tables (~2 KiB in gopher-lua) per online user. Idle
-- runners wait in a small pool; the one a session holds is session.runner.
local runner_pool, pooled = {}, 0;
local pool_max = 16;

local function release(runner)
	local session = runner.data;
	if session and rawget(session, "runner") == runner then session.runner = nil; end
	runner.data = nil;
	if pooled < pool_max then
		pooled = pooled + 1;
		runner_pool[pooled] = runner;
	end
end

local session_watchers = {
	error = function (runner, err)
		runner.data.log("error", "error while processing a stanza: %s", tostring(err));
	end;
	-- Back to ready after waiting, its queue done: the session is idle.
	ready = release;
};

local function do_work(work) work(); end

local function run_in(session, work)
	local runner = rawget(session, "runner");
	if runner then -- busy: the work waits its turn, as in one runner
		runner:run(work);
		return;
	end
	if pooled > 0 then
		runner, runner_pool[pooled], pooled = runner_pool[pooled], nil, pooled - 1;
	else
		runner = async.runner(do_work, session_watchers);
	end
	runner.data = session;
	session.runner = runner;
	runner:run(work);
	if runner.state == "ready" and runner.data == session then release(runner); end
end

-- login binds a resource: the bare session is created on first login, the
-- roster is loaded (roster-load handlers may wait here, as at a real login),
-- then resource-bind fires. done(session) or done(nil, err) is called when all
-- of that has finished.
function sessions.login(host, username, resource, send, done, before_bind)
	local h = hosts[host];
	if not h then return done(nil, "no such host: " .. tostring(host)); end
	-- Prosody knows a client by its nodeprep'd username and resourceprep'd
	-- resource (SASL and resource binding normalise them), so "Alice" is
	-- the session of alice, whom a refresh of "alice" finds.
	local node, _, res = jid_lib.split(jid_lib.prep(username .. "@" .. host .. "/" .. resource));
	if not node or not res then
		return done(nil, "invalid username or resource: " .. username .. "/" .. resource);
	end
	username, resource = node, res;
	local bare = username .. "@" .. host;
	local user = h.sessions[username];
	if user and user.sessions[resource] then
		return done(nil, "resource already bound: " .. bare .. "/" .. resource);
	end
	if not user then
		user = setmetatable({ username = username, host = host, sessions = {} }, bare_mt);
		h.sessions[username] = user;
		prosody.bare_sessions[bare] = user;
	end
	local full = bare .. "/" .. resource;
	local session = setmetatable({
		type = "c2s"; host = host; username = username; resource = resource;
		full_jid = full; priority = 0; send = send;
		log = native.logger("c2s:" .. full);
	}, full_mt);
	user.sessions[resource] = session;
	prosody.full_sessions[full] = session;
	run_in(session, function ()
		if before_bind then before_bind(session); end
		if not rawget(user, "roster") and not native.roster_held(host, username) then
			local roster, err = rostermanager.load_online(username, host);
			if not roster then session.log("warn", "roster not loaded: %s", tostring(err)); end
		end
		h.events.fire_event("resource-bind", { session = session });
		done(session);
	end);
end

function sessions.logout(session, reason, done)
	run_in(session, function ()
		local h = hosts[session.host];
		local user = h and h.sessions[session.username];
		if session.presence then
			local unavailable = st.presence({ type = "unavailable", from = session.full_jid });
			session.presence = nil;
			h.events.fire_event("presence/bare", { origin = session, stanza = unavailable });
		end
		h.events.fire_event("resource-unbind", { session = session, error = reason });
		if user then
			user.sessions[session.resource] = nil;
			if next(user.sessions) == nil then
				h.sessions[session.username] = nil;
				native.roster_drop(session.host, session.username);
				prosody.bare_sessions[bare_of(session)] = nil;
			end
		end
		prosody.full_sessions[session.full_jid] = nil;
		session.destroyed = true;
		done(true);
	end);
end

local function fire(h, name, data)
	return h.events.fire_event(name, data);
end

-- process routes one stanza a client sent, as Prosody's stanza router and
-- its core modules would, firing the same events in the same order.
local function process(session, stanza)
	local h = hosts[session.host];
	stanza.attr.from = session.full_jid;
	local to = stanza.attr.to;
	local bare = bare_of(session);
	local to_self = to == nil or to == bare;
	local data = { origin = session, stanza = stanza };
	local kind = stanza.name;
	if kind == "iq" and to_self then
		if fire(h, "pre-iq/self", data) then return; end
		if fire(h, "iq/self", data) then return; end
		local child = stanza.tags[1];
		local t = stanza.attr.type;
		if child then
			local key = (child.attr.xmlns or "") .. ":" .. child.name;
			local ret = fire(h, "iq/self/" .. key, data);
			if ret == nil and (t == "get" or t == "set") then
				ret = fire(h, "iq-" .. t .. "/self/" .. key, data);
			end
			if ret ~= nil then return; end
		elseif t == "result" or t == "error" then
			if fire(h, "iq-" .. t .. "/self/" .. tostring(stanza.attr.id), data) ~= nil then return; end
		end
		if t == "get" or t == "set" then
			session.send(st.error_reply(stanza, "cancel", "service-unavailable"));
		end
		return;
	end
	if kind == "presence" and to == nil then
		if fire(h, "pre-presence/bare", data) then return; end
		if fire(h, "presence/bare", data) then return; end
		local t = stanza.attr.type;
		if t == nil then
			session.presence = stanza;
			session.priority = tonumber(stanza:get_child_text("priority")) or 0;
		elseif t == "unavailable" then
			session.presence = nil;
		end
		return;
	end
	-- Stanzas to others: pre- and main events by the kind of address, then out.
	local to_type = "/bare";
	if to and to:find("/", 1, true) then
		to_type = "/full";
	elseif to and not to:find("@", 1, true) then
		to_type = "/host";
	end
	if fire(h, "pre-" .. kind .. to_type, data) then return; end
	if fire(h, kind .. to_type, data) then return; end
	prosody.core_post_stanza(session, stanza);
end

function sessions.incoming(session, stanza)
	if session.destroyed then return; end
	run_in(session, function () process(session, stanza); end);
end

-- incoming_xml is incoming for a stanza as XML text (the embedding API's
-- Session.Send): nil and the parser's error if it is not XML.
function sessions.incoming_xml(session, text)
	local stanza, err = xml_parse(text);
	if not stanza then return nil, err; end
	sessions.incoming(session, stanza);
	return true;
end

-- The roster query answer modhost gives standalone (mod_roster runs in the
-- XMPP server, not here): the stored roster, and the session marked as
-- interested in pushes. At priority -1, below any plugin.
local function server_version(roster)
	return tonumber(roster[false] and roster[false].version or 1);
end

local function roster_result(stanza, roster)
	local ver = server_version(roster);
	local reply = st.reply(stanza):tag("query", { xmlns = "jabber:iq:roster", ver = ver and tostring(ver) });
	local jids = {};
	for jid in pairs(roster) do
		if jid then jids[#jids + 1] = jid; end
	end
	table.sort(jids);
	for _, jid in ipairs(jids) do
		local item = roster[jid];
		reply:tag("item", { jid = jid, subscription = item.subscription, name = item.name, ask = item.ask });
		local groups = {};
		for group in pairs(item.groups or {}) do groups[#groups + 1] = group; end
		table.sort(groups);
		for _, group in ipairs(groups) do reply:tag("group"):text(group):up(); end
		reply:up();
	end
	return reply;
end

for _, h in pairs(hosts) do
	h.events.add_handler("iq-get/self/jabber:iq:roster:query", function (event)
		local session, stanza = event.origin, event.stanza;
		if not session.username then return; end
		session.interested = true;
		-- Roster versioning (XEP-0237) as Prosody's mod_roster does it: a
		-- client that gives the current version gets an empty result, and
		-- from then on the pushes.
		local client_ver = tonumber(stanza.tags[1].attr.ver);
		if client_ver then
			local server_ver;
			if not rawget(session, "roster") and native.roster_held(session.host, session.username) then
				server_ver = tonumber(native.roster_version(session.host, session.username));
			else
				local roster = session.roster or rostermanager.load_roster(session.username, session.host);
				session.roster = roster;
				server_ver = server_version(roster);
			end
			if client_ver == server_ver then
				session.send(st.reply(stanza));
				return true;
			end
		end
		if not rawget(session, "roster") and native.roster_answer(session, stanza) then
			return true; -- answered by Go from the roster it holds, sent as Go built it
		end
		if not rawget(session, "roster") and native.roster_held(session.host, session.username) then
			-- Answered from the roster Go holds: no table per contact.
			session.send(st.reply(stanza):add_child(native.roster_query(session.host, session.username)));
			return true;
		end
		local roster = session.roster or rostermanager.load_roster(session.username, session.host);
		session.roster = roster;
		session.interested = true;
		session.send(roster_result(stanza, roster));
		return true;
	end, -1);
	h.events.add_handler("iq-set/self/jabber:iq:roster:query", function (event)
		local session, stanza = event.origin, event.stanza;
		local item = stanza.tags[1]:get_child("item");
		if not (session.roster and item and item.attr.jid) then
			session.send(st.error_reply(stanza, "modify", "bad-request"));
			return true;
		end
		local jid = item.attr.jid;
		local ok, kind, condition, text;
		if item.attr.subscription == "remove" then
			ok, kind, condition, text = rostermanager.remove_from_roster(session, jid);
		else
			local groups = {};
			for group in item:childtags("group") do groups[group:get_text()] = true; end
			local old = session.roster[jid];
			ok, kind, condition, text = rostermanager.add_to_roster(session, jid, {
				name = item.attr.name, groups = groups,
				subscription = old and old.subscription or "none", ask = old and old.ask,
			});
		end
		if not ok then
			session.send(st.error_reply(stanza, kind, condition, text));
			return true;
		end
		session.send(st.reply(stanza));
		rostermanager.roster_push(session.username, session.host, jid);
		return true;
	end, -1);
end

-- waiting_step makes a login step (before_bind) that waits, inside the
-- session's runner, for work done outside Lua (the XMPP link's read of the
-- server's roster): start(username, done) begins it and calls done when it
-- is over, then finish(username) runs. Outside a runner it does nothing.
function sessions.waiting_step(start, finish)
	return function (session)
		if not async.ready() then return; end
		local wait, done = async.waiter();
		start(session.username, done);
		wait();
		finish(session.username);
	end;
end

return sessions;
