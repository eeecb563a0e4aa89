-- core.moduleapi: the methods every plugin's `module` object has.
--
-- A module object is created per (host, module) by core.modulemanager; this
-- table is its metatable's __index. Semantics follow Prosody 0.12: options are
-- coerced as Prosody coerces them (and say so in the log when they cannot be),
-- hooks go onto the host's util.events object, timers run on modhost's loop.

local native = require "modhost.native";
local config = require "core.configmanager";
-- util.set and util.array are loaded when first needed.
local set, array;

local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs;
local select, setmetatable, unpack = select, setmetatable, table.unpack or unpack;
local t_insert, t_remove = table.insert, table.remove;

local api = {};

local function events_for(host)
	if host == "*" then return prosody.events; end
	local h = hosts[host];
	return h and h.events or prosody.events;
end

function api:get_name() return self.name; end
function api:get_host() return self.host; end

function api:get_host_type()
	if self.host == "*" then return nil; end
	local h = hosts[self.host];
	return h and h.type or nil;
end

function api:set_global()
	self.host = "*";
	self.global = true;
	self._log = native.logger(self.name);
	self.log = function (_, ...) return self._log(...); end;
end

-- Disco features are a server-side concern; plugins that announce them still load.
function api:add_feature(xmlns) self:add_item("feature", xmlns); end
function api:add_identity(category, kind, name)
	self:add_item("identity", { category = category, type = kind, name = name });
end
function api:add_extension(data) self:add_item("extension", data); end

function api:fire_event(...)
	return events_for(self.host).fire_event(...);
end

-- Remember every handler so that unloading the module removes it again.
local function remember(self, object, event, handler)
	local by_object = self.event_handlers[object];
	if not by_object then
		by_object = {};
		self.event_handlers[object] = by_object;
	end
	local list = by_object[event];
	if not list then
		list = {};
		by_object[event] = list;
	end
	list[#list + 1] = handler;
end

local function forget(self, object, event, handler)
	local list = self.event_handlers[object] and self.event_handlers[object][event];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == handler then t_remove(list, i); end
	end
end

function api:hook_object_event(object, event, handler, priority)
	remember(self, object, event, handler);
	return object.add_handler(event, handler, priority);
end

function api:unhook_object_event(object, event, handler)
	forget(self, object, event, handler);
	return object.remove_handler(event, handler);
end

function api:hook(event, handler, priority)
	return self:hook_object_event(events_for(self.host), event, handler, priority);
end

function api:hook_global(event, handler, priority)
	return self:hook_object_event(prosody.events, event, handler, priority);
end

function api:hook_tag(xmlns, name, handler, priority)
	if not handler and type(name) == "function" then
		-- hook_tag(name, handler) without a namespace
		handler, name, xmlns = name, xmlns, nil;
	end
	return self:hook("stanza/" .. (xmlns and (xmlns .. ":") or "") .. name, function (data)
		return handler(data.origin, data.stanza, data);
	end, priority);
end
api.hook_stanza = api.hook_tag;

function api:unhook(event, handler)
	return self:unhook_object_event(events_for(self.host), event, handler);
end

function api:wrap_object_event(object, event, handler)
	return self:hook_object_event(assert(object.wrappers, "no wrappers"), event, handler);
end
function api:wrap_event(event, handler)
	return self:wrap_object_event(events_for(self.host), event, handler);
end
function api:wrap_global(event, handler)
	return self:wrap_object_event(prosody.events, event, handler);
end

-- module:require loads NAME.lib.lua (else NAME.lua), searched as Prosody's
-- pluginloader searches it: the module's own layouts in every plugin
-- folder, then those of a plugin named NAME; it runs in the module's
-- environment.
function api:require(lib)
	local source, where = native.find_lib(self.name, lib);
	if not source then
		error("Failed to load plugin library '" .. lib .. "', error: not found (searched " .. where .. ")", 2);
	end
	local f, err = native.load_chunk(source, where);
	if not f then
		error("Failed to load plugin library '" .. lib .. "', error: " .. tostring(err), 2);
	end
	setfenv(f, self.environment);
	return f();
end

function api:depends(name)
	local modulemanager = require "core.modulemanager";
	local disabled = self:get_option_inherited_set("modules_disabled", {});
	if disabled:contains(name) then
		error("Dependency on disabled module mod_" .. name, 2);
	end
	self.dependencies = self.dependencies or {};
	local mod = modulemanager.get_module(self.host, name) or modulemanager.get_module("*", name);
	if mod and mod.module.host == "*" and self.host ~= "*" and modulemanager.module_has_method(mod, "add_host") then
		mod = nil; -- a shared module still needs its per-host instance here
	end
	if not mod then
		local err;
		mod, err = modulemanager.load(self.host, name);
		if not mod then
			error(("Unable to load required module, mod_%s: %s"):format(name, tostring(err)), 2);
		end
	end
	self.dependencies[name] = true;
	return mod;
end

-- Shared tables live for the life of the process, keyed by path; a relative
-- path is taken below /HOST/MODULE/.
function api:shared(path)
	if path:sub(1, 1) ~= "/" then
		local parts = { self.host, self.name };
		local slashes = select(2, path:gsub("/", "/"));
		local take = #parts - slashes;
		if take > 0 then
			path = "/" .. table.concat(parts, "/", 1, take) .. "/" .. path;
		else
			path = "/" .. path;
		end
	end
	local tables = prosody._shared_tables;
	local shared = tables[path];
	if not shared then
		shared = {};
		if path:match("%-cache$") then
			setmetatable(shared, { __mode = "kv" });
		end
		tables[path] = shared;
	end
	self.shared_data = self.shared_data or {};
	self.shared_data[path] = shared;
	return shared;
end

function api:get_option(name, default)
	local value = config.get(self.host, name);
	if value == nil then value = default; end
	return value;
end

function api:get_option_scalar(name, default)
	local value = self:get_option(name, default);
	if type(value) == "table" then
		if #value > 1 then
			self:log("error", "Config option '%s' does not take a list, using just the first item", name);
		end
		value = value[1];
	end
	return value;
end

function api:get_option_string(name, default)
	local value = self:get_option_scalar(name, default);
	if value == nil then return nil; end
	return tostring(value);
end

function api:get_option_number(name, ...)
	local value = self:get_option_scalar(name, ...);
	local n = tonumber(value);
	if value ~= nil and n == nil then
		self:log("error", "Config option '%s' not understood, expecting a number", name);
	end
	return n;
end

local truthy = { [true] = true, ["true"] = true, [1] = true };
local falsy = { [false] = true, ["false"] = true, [0] = true };

function api:get_option_boolean(name, ...)
	local value = self:get_option_scalar(name, ...);
	if value == nil then return nil; end
	if truthy[value] then return true; end
	if falsy[value] then return false; end
	self:log("error", "Config option '%s' not understood, expecting true/false", name);
	return nil;
end

function api:get_option_array(name, ...)
	local value = self:get_option(name, ...);
	if value == nil then return nil; end
	array = array or require "util.array";
	if type(value) ~= "table" then
		return array { value };
	end
	return array():append(value);
end

function api:get_option_set(name, ...)
	local value = self:get_option_array(name, ...);
	if value == nil then return nil; end
	set = set or require "util.set";
	return set.new(value);
end

function api:get_option_inherited_set(name, ...)
	local own = self:get_option_set(name, ...);
	local global = self:context("*"):get_option_set(name, ...);
	if not own then return global; end
	if not global then return own; end
	own:include(global);
	return own;
end

local function resolve_path(parent, path)
	if path:sub(1, 1) == "/" or not parent then return path; end
	return parent .. "/" .. path;
end

function api:get_option_path(name, default, parent)
	if parent == nil then
		parent = self:get_directory();
	elseif prosody.paths[parent] then
		parent = prosody.paths[parent];
	end
	local value = self:get_option_string(name, default);
	if value == nil then return nil; end
	return resolve_path(parent, value);
end

function api:context(host)
	return setmetatable({ host = host or "*", global = (host or "*") == "*" }, { __index = self, __newindex = self });
end

function api:add_item(key, value)
	self.items = self.items or {};
	self.items[key] = self.items[key] or {};
	t_insert(self.items[key], value);
	require "core.modulemanager".items_changed();
	self:fire_event("item-added/" .. key, { source = self, item = value });
end

function api:remove_item(key, value)
	local list = self.items and self.items[key];
	if not list then return; end
	for i = #list, 1, -1 do
		if list[i] == value then
			t_remove(list, i);
			require "core.modulemanager".items_changed();
			self:fire_event("item-removed/" .. key, { source = self, item = value });
			return value;
		end
	end
end

function api:get_host_items(key)
	return require "core.modulemanager".get_items(key, self.host) or {};
end

function api:handle_items(kind, added, removed, existing)
	self:hook("item-added/" .. kind, added);
	self:hook("item-removed/" .. kind, removed);
	if existing ~= false then
		for _, item in ipairs(self:get_host_items(kind)) do
			added({ item = item });
		end
	end
end

function api:provides(name, item)
	if not item then
		item = {};
		for k, v in pairs(self.environment) do
			if k ~= "module" then item[k] = v; end
		end
	end
	if not item.name then
		local item_name = self.name;
		local prefix = name:gsub("%-", "_") .. "_";
		if item_name:sub(1, #prefix) == prefix then
			item_name = item_name:sub(#prefix + 1);
		end
		item.name = item_name;
	end
	item._provided_by = self.name;
	self:add_item(name .. "-provider", item);
end

function api:send(stanza, origin)
	return prosody.core_post_stanza(origin or hosts[self.host], stanza);
end

function api:send_iq(stanza, origin, timeout)
	return prosody.core_send_iq(self, stanza, origin, timeout);
end

function api:broadcast(jids, stanza, iter)
	for jid in (iter or pairs)(jids) do
		local copy = stanza.clone and stanza:clone() or stanza;
		copy.attr.to = jid;
		self:send(copy);
	end
end

-- A timer's callback returning a number runs again that many seconds later;
-- the returned object's stop() cancels it. Timers of an unloaded module stop.
local timer_mt = {};
timer_mt.__index = timer_mt;

function timer_mt:stop()
	self.stopped = true;
	if self.cancel then self.cancel(); end
end
timer_mt.disarm = timer_mt.stop;

function timer_mt:reschedule(delay)
	if self.cancel then self.cancel(); end
	self.stopped = false;
	self:arm(delay);
end

function timer_mt:arm(delay)
	local t = self;
	t.cancel = native.after(delay, function (now)
		if t.stopped or t.module.loaded == false then return; end
		local ok, again = native.call_logged("timer of mod_" .. t.module.name, t.callback, now, unpack(t.args, 1, t.args.n));
		if ok and type(again) == "number" and not t.stopped then
			t:arm(again);
		end
	end);
end

function api:add_timer(delay, callback, ...)
	local t = setmetatable({ module = self, callback = callback, args = { n = select("#", ...), ... } }, timer_mt);
	t:arm(delay);
	return t;
end

function api:get_directory()
	if self.resource_path then return self.resource_path; end
	if self.path then return (self.path:gsub("/[^/]*$", "")); end
	return nil;
end

-- The URL of this module's HTTP app (mod_http's module:http_url): the app
-- name defaults to the module's name without "http_".
function api:http_url(app_name, default_path)
	app_name = app_name or (self.name:gsub("^http_", ""));
	return native.http_url(self.host, self.name, app_name, default_path);
end

-- mode defaults to "r", as io.open's does.
function api:load_resource(path, mode)
	return io.open(resolve_path(self:get_directory(), path), mode or "r");
end

-- mod_cron's task API: a task is a "task" item ({ name, when, run }) that
-- mod_cron (loaded as a dependency) runs hourly, daily or weekly.
function api:cron(task_spec)
	self:depends("cron");
	self:add_item("task", task_spec);
end

local function periodic(when)
	return function (self, name, fun)
		if type(name) == "function" then name, fun = nil, name; end
		self:cron({ name = name; when = when; run = fun });
	end
end
api.hourly, api.daily, api.weekly = periodic("hourly"), periodic("daily"), periodic("weekly");

function api:open_store(name, kind)
	return require "core.storagemanager".open(self.host, name or self.name, kind);
end

-- Statistics, named as Prosody names them: a module's families are
-- prosody_mod_NAME/..., and on a host (not a global module) they carry a
-- "host" label already set to the module's host.
function api:measure(name, stat_type, conf)
	local statsmanager = require "core.statsmanager";
	self:add_item("measure", { name = name, type = stat_type, conf = conf });
	local full_name = "mod_" .. self.name .. "/" .. name;
	if self.host == "*" then
		return statsmanager.measure(stat_type, full_name, conf);
	end
	return statsmanager.measure(stat_type, full_name, conf, "host", self.host);
end

function api:metric(type_, name, unit, description, label_keys, conf)
	local statsmanager = require "core.statsmanager";
	local scoped = self.host ~= "*";
	local keys = label_keys;
	if scoped then
		keys = { "host" };
		for _, key in ipairs(label_keys or {}) do keys[#keys + 1] = key; end
	end
	local family = statsmanager.metric(type_, "prosody_mod_" .. self.name .. "/" .. name, unit, description, keys, conf);
	self:add_item("metric", { name = name, mf = family });
	if scoped then
		return family:with_partial_label(self.host);
	end
	return family;
end

function api:set_status(kind, message)
	self.status_type, self.status_message = kind, message;
end
function api:log_status(level, message, ...)
	self:set_status(level, message);
	return self:log(level, message, ...);
end
function api:get_status()
	return self.status_type or "core", self.status_message;
end

return api;
