-- core.modulemanager: finds, loads and unloads plugins per host.
--
-- Each loaded module runs in its own environment (globals it sets stay there;
-- reads fall through to _G) with `module` bound to its API object. A module
-- that calls module:set_global() lives on "*", and, if it has add_host, gets a
-- per-host instance on each host that loads it, as in Prosody 0.12.

local native = require "modhost.native";
local api = require "core.moduleapi";

local pairs, ipairs, type, tostring, setmetatable, rawget = pairs, ipairs, type, tostring, setmetatable, rawget;

local modulemap = { ["*"] = {} };
local log = native.logger("modulemanager");

local function new_api(host, name)
	local instance = setmetatable({ name = name, host = host, event_handlers = {}, items = {} }, { __index = api });
	instance._log = native.logger(host .. ":" .. name);
	instance.log = function (_, ...) return instance._log(...); end;
	return instance;
end

local function has_method(env, method)
	return type(rawget(env.module, method)) == "function";
end

local function call_method(env, method, ...)
	local f = rawget(env.module, method);
	if type(f) ~= "function" then return true; end
	return native.call_traced(f, ...);
end

local function map_for(host)
	local m = modulemap[host];
	if not m then
		m = {};
		modulemap[host] = m;
		if hosts[host] then hosts[host].modules = m; end
	end
	return m;
end

local load;

local function load_on(host, name)
	if host ~= "*" and not hosts[host] then
		return nil, "unknown-host";
	end
	local map = map_for(host);
	if map[name] then
		return nil, "module-already-loaded";
	end
	local global_env = modulemap["*"][name];
	if global_env then
		if not has_method(global_env, "add_host") then
			return nil, "global-module-already-loaded";
		end
		local host_api = setmetatable({ global = false, host = host, event_handlers = {}, items = {} }, { __index = global_env.module });
		host_api._log = native.logger(host .. ":" .. name);
		host_api.log = function (_, ...) return host_api._log(...); end;
		local host_env = setmetatable({ module = host_api }, { __index = global_env });
		host_api.environment = host_env;
		map[name] = host_env;
		local ok, result, err = call_method(global_env, "add_host", host_api);
		if not ok or result == false then
			map[name] = nil;
			return nil, ok and err or result;
		end
		return host_env;
	end

	local instance = new_api(host, name);
	local env = setmetatable({ module = instance }, { __index = _G });
	instance.environment = env;

	local source, path_or_err, kind = native.find_module(name);
	if kind == "builtin" then
		-- modhost does this module's work itself (mod_http: its HTTP server);
		-- an empty module stands in for it, so that depends() works.
		map[name] = env;
		return env;
	elseif not source then
		if kind == "missing" then
			return nil, "module not found; " .. path_or_err, "missing";
		end
		return nil, path_or_err, kind;
	end
	instance.path = path_or_err;
	local chunk, err = native.load_chunk(source, path_or_err);
	if not chunk then
		log("error", "Unable to load module '%s': %s", name, err);
		return nil, err, "broken";
	end
	setfenv(chunk, env);

	map[name] = env;
	local ok, run_err = native.call_traced(chunk);
	if ok and has_method(env, "load") then
		local lok, lerr = call_method(env, "load");
		if not lok then
			log("warn", "Error loading module '%s' on '%s': %s", name, host, tostring(lerr));
		end
	end
	if ok and instance.host == "*" then
		if not instance.global then instance:set_global(); end
		map[name] = nil;
		map_for("*")[name] = env;
		if host ~= "*" and has_method(env, "add_host") then
			local host_env, herr = load_on(host, name);
			if not host_env then ok, run_err = false, herr; end
		end
	end
	if not ok then
		modulemap[instance.host][name] = nil;
		if host ~= instance.host then map[name] = nil; end
		log("error", "Error initializing module '%s' on '%s': %s", name, host, tostring(run_err));
		return nil, run_err, "broken";
	end
	return env;
end

function load(host, name)
	local env, err, kind = load_on(host, name);
	if env then
		local event_host = env.module.host;
		local target = hosts[event_host] and hosts[event_host].events or prosody.events;
		target.fire_event("module-loaded", { module = name, host = event_host });
	end
	return env, err, kind;
end

-- items_generation counts the changes to modules' items (added, removed,
-- or gone with an unloaded module), so that a lookup of them can be kept
-- until the next one (core.storagemanager's drivers).
local items_generation = 0;
local function items_changed() items_generation = items_generation + 1; end

-- do_unload is unload, plus the error of the module's own unload method if
-- it raised one (the module is unloaded anyway, as in Prosody).
local function do_unload(host, name)
	local map = modulemap[host];
	local env = map and map[name];
	if not env then return nil, "module-not-loaded"; end
	local instance = env.module;
	local unload_err;
	if has_method(env, "unload") then
		local ok, err = call_method(env, "unload");
		if not ok then
			unload_err = tostring(err);
			log("error", "Error unloading module '%s' on '%s': %s", name, host, unload_err);
		end
	end
	for object, by_event in pairs(instance.event_handlers) do
		for event, handlers in pairs(by_event) do
			for _, handler in ipairs(handlers) do
				object.remove_handler(event, handler);
			end
		end
	end
	if instance.items then
		for key, items in pairs(instance.items) do
			for i = #items, 1, -1 do
				local item = items[i];
				items[i] = nil;
				local target = hosts[host] and hosts[host].events or prosody.events;
				target.fire_event("item-removed/" .. key, { source = instance, item = item });
			end
		end
	end
	instance.loaded = false;
	map[name] = nil;
	items_changed();
	local target = hosts[host] and hosts[host].events or prosody.events;
	target.fire_event("module-unloaded", { module = name, host = host });
	return true, nil, unload_err;
end

local function unload(host, name)
	local ok, err = do_unload(host, name);
	return ok, err;
end

local function get_module(host, name)
	return modulemap[host] and modulemap[host][name];
end

local function get_modules(host)
	return modulemap[host] or {};
end

local function is_loaded(host, name)
	return get_module(host, name) ~= nil;
end

-- module_use(host, name): the events a loaded module hooks and the keys
-- of the items it provides, each sorted, for modhost's judgement of a
-- module whose name looks server-side (host/config/serverside.go).
local function module_use(host, name)
	local env = get_module(host, name) or get_module("*", name);
	if not env then return nil; end
	local instance = env.module;
	local hooks, items, seen = {}, {}, {};
	for _, by_event in pairs(rawget(instance, "event_handlers") or {}) do
		for event, handlers in pairs(by_event) do
			if handlers[1] ~= nil and not seen[event] then
				seen[event] = true;
				hooks[#hooks + 1] = tostring(event);
			end
		end
	end
	for key, list in pairs(rawget(instance, "items") or {}) do
		if list[1] ~= nil then items[#items + 1] = key; end
	end
	table.sort(hooks);
	table.sort(items);
	return hooks, items;
end

-- Items provided by modules on this host and by global modules.
local function get_items(key, host)
	local result = {};
	local seen = {};
	local function collect(map)
		if not map then return; end
		local names = {};
		for name in pairs(map) do names[#names + 1] = name; end
		table.sort(names);
		for _, name in ipairs(names) do
			local items = rawget(map[name].module, "items");
			items = items and items[key];
			if items then
				for _, item in ipairs(items) do
					if not seen[item] then
						seen[item] = true;
						result[#result + 1] = item;
					end
				end
			end
		end
	end
	collect(modulemap[host]);
	if host ~= "*" then collect(modulemap["*"]); end
	return result;
end

-- Unload everything, hosts first, in reverse order of loading as far as
-- known, then the global modules. Returns "host:module: error" for each
-- module whose unload method failed (modhost exits non-zero for them).
local function unload_all()
	local failed = {};
	local hostnames = {};
	for host in pairs(modulemap) do
		if host ~= "*" then hostnames[#hostnames + 1] = host; end
	end
	table.sort(hostnames);
	hostnames[#hostnames + 1] = "*";
	for _, host in ipairs(hostnames) do
		local names = {};
		for name in pairs(modulemap[host]) do names[#names + 1] = name; end
		table.sort(names);
		for _, name in ipairs(names) do
			local _, _, unload_err = do_unload(host, name);
			if unload_err then
				failed[#failed + 1] = host .. ":" .. name .. ": " .. (unload_err:match("^[^\n]*") or unload_err);
			end
		end
	end
	return failed;
end

return {
	load = load;
	unload = unload;
	unload_all = unload_all;
	get_module = get_module;
	get_modules = get_modules;
	is_loaded = is_loaded;
	get_items = get_items;
	items_changed = items_changed;
	items_generation = function () return items_generation; end;
	module_use = module_use;
	module_has_method = has_method;
	call_module_method = call_method;
};
