-- core.storagemanager: opens a host's stores through the configured driver.
--
-- The driver for a store comes from the `storage` option (a driver name for
-- every store, or a table of store → driver), else `default_storage`, else
-- "internal". Drivers are the "storage" items modules provide
-- (mod_storage_memory provides "memory"); "internal" falls back to modhost's
-- built-in file driver (Prosody's datamanager layout). A driver modhost cannot offer (sql, …) is an
-- error, never a silent fallback that would lose data.

local native = require "modhost.native";
local modulemanager = require "core.modulemanager";
local config = require "core.configmanager";

local type, pairs, next, setmetatable, tostring = type, pairs, next, setmetatable, tostring;

local log = native.logger("storagemanager");

-- Drivers found are kept until modules' items next change, as Prosody keeps
-- them from its item-added and item-removed events: collecting every
-- module's items made each store open cost ~10 µs, and a roster is opened
-- at every save.
local found_providers, found_generation = {}, -1;

local function find_provider(host, driver_name)
	local generation = modulemanager.items_generation();
	if generation ~= found_generation then
		found_providers, found_generation = {}, generation;
	end
	local by_host = found_providers[host];
	local found = by_host and by_host[driver_name];
	if found then return found; end
	for _, item in ipairs(modulemanager.get_items("storage-provider", host)) do
		if item.name == driver_name then
			if not by_host then by_host = {}; found_providers[host] = by_host; end
			by_host[driver_name] = item;
			return item;
		end
	end
end

-- The built-in "internal" driver keeps each (store, user) as Prosody's
-- mod_storage_internal does (DATA/HOST/STORE/USER.dat), written atomically
-- by Go (host/store_files.go).
local internal = { name = "internal" };

-- Writes through the map view are coalesced: from the first set_keys of a
-- (store, user) the whole value is kept here, each further item is laid
-- over it, and it is written once, in a loop job queued at that first set
-- (native.post; queued jobs run even when the runtime stops, so none is
-- lost). core.rostermanager saves every changed contact through the map
-- view; a write each would serialise and fsync the whole roster per
-- contact: a refresh replacing n contacts cost n² and n fsyncs. Every
-- other access to a (store, user) with a write pending writes it first, so
-- what it reads is what a write-through driver would give. A failed
-- coalesced write is logged (set_keys has already returned true).
local pending = {}; -- host \0 store \0 user → { host, store, user, data }
local flush_queued = false;

local function pending_key(host, store, user)
	return host .. "\0" .. store .. "\0" .. user;
end

local function write_pending(key)
	local p = pending[key];
	if not p then return true; end
	pending[key] = nil;
	local data = p.data;
	if next(data) == nil then data = nil; end
	local ok, err = native.store_save(p.host, p.store, p.user, data);
	if not ok then
		log("error", "could not write store %s of %s on %s: %s", p.store, p.user, p.host, tostring(err));
	end
	return ok, err;
end

local function flush_pending()
	flush_queued = false;
	for key in pairs(pending) do
		write_pending(key);
	end
end

-- The data of (store, user) to lay map items over: the pending value, or
-- the stored one, which becomes pending (written by the next flush).
local function pending_data(self, user)
	local key = pending_key(self.host, self.store, user);
	local p = pending[key];
	if p then return p.data; end
	local data, err = native.store_load(self.host, self.store, user);
	if data == nil and err then return nil, err; end
	p = { host = self.host, store = self.store, user = user, data = data or {} };
	pending[key] = p;
	if not flush_queued then
		flush_queued = true;
		if not native.post(flush_pending) then -- the loop is closing: write now
			flush_pending();
		end
	end
	return p.data;
end

local keyval_mt = {};
keyval_mt.__index = keyval_mt;
function keyval_mt:get(user)
	user = user or "";
	write_pending(pending_key(self.host, self.store, user));
	return native.store_load(self.host, self.store, user);
end
function keyval_mt:set(user, data)
	user = user or "";
	pending[pending_key(self.host, self.store, user)] = nil; -- replaced whole
	return native.store_save(self.host, self.store, user, data);
end
function keyval_mt:users()
	flush_pending();
	local list = native.store_users(self.host, self.store);
	local i = 0;
	return function ()
		i = i + 1;
		return list[i];
	end;
end
function keyval_mt:purge(user)
	return keyval_mt.set(self, user, nil);
end

local map_mt = {};
map_mt.__index = map_mt;
function map_mt:get(user, key)
	local data, err = keyval_mt.get(self, user);
	if data == nil then return nil, err; end
	return data[key];
end
function map_mt:set(user, key, value)
	local data, err = pending_data(self, user or "");
	if not data then return nil, err; end
	data[key] = value;
	return true;
end
function map_mt:set_keys(user, keydatas)
	local data, err = pending_data(self, user or "");
	if not data then return nil, err; end
	for k, v in pairs(keydatas) do
		if v == map_mt.remove then v = nil; end
		data[k] = v;
	end
	return true;
end
map_mt.users = keyval_mt.users;
-- map_mt.remove, given as a value to set_keys, removes that key.
map_mt.remove = {};

function internal:open(store, kind)
	kind = kind or "keyval";
	if kind == "keyval" then
		return setmetatable({ host = self.host, store = store }, keyval_mt);
	elseif kind == "map" then
		return setmetatable({ host = self.host, store = store }, map_mt);
	end
	return nil, "unsupported-store";
end

local function internal_for(host)
	return setmetatable({ host = host }, { __index = internal });
end

local function driver_name_for(host, store)
	local storage = config.get(host, "storage");
	local name;
	if type(storage) == "string" then
		name = storage;
	elseif type(storage) == "table" then
		name = storage[store];
	end
	return name or config.get(host, "default_storage") or "internal";
end

-- load_driver finds or loads driver name on host: the driver, or nil, the
-- error loading mod_storage_NAME gave and its kind ("missing", "broken",
-- "server-side").
local function load_driver(host, name)
	local driver = find_provider(host, name);
	if driver then return driver; end
	local _, err, kind = modulemanager.load(host, "storage_" .. name);
	driver = find_provider(host, name);
	if driver then return driver; end
	if name == "internal" then return internal_for(host); end
	return nil, err, kind;
end

local function get_driver(host, store)
	local name = driver_name_for(host, store);
	local driver, err = load_driver(host, name);
	if driver then return driver, name; end
	return nil, ("storage driver '%s' (for store '%s' on %s) is not available in modhost: use \"memory\" or \"internal\" (%s)")
		:format(name, store, host, tostring(err));
end

-- A map store over a keyval driver, for drivers that only offer keyval.
local function map_shim(keyval)
	return setmetatable({}, { __index = {
		get = function (_, user, key)
			local data = keyval:get(user);
			return data and data[key];
		end;
		set = function (_, user, key, value)
			local data = keyval:get(user) or {};
			data[key] = value;
			if next(data) == nil then data = nil; end
			return keyval:set(user, data);
		end;
	} });
end

local function open(host, store, kind)
	kind = kind or "keyval";
	local driver, name = get_driver(host, store);
	if not driver then
		log("error", "%s", name);
		error(name, 2);
	end
	local opened, err = driver:open(store, kind);
	if not opened and kind == "map" and err == "unsupported-store" then
		local keyval = driver:open(store, "keyval");
		if keyval then return map_shim(keyval); end
	end
	if not opened then
		error(("opening %s store '%s' on %s with driver %s: %s"):format(kind, store, host, name, tostring(err)), 2);
	end
	return opened;
end

-- olddm is, in Prosody, util.datamanager's functions as they were before
-- storagemanager routed datamanager through the storage drivers; modules
-- that want the plain flat files (mod_muc_log, mod_http_file_share) read
-- it. modhost never reroutes util.datamanager, so it is a copy of that
-- library's functions, required on first use (requiring it sooner would
-- make it before the runtime has set its data path).
local olddm = setmetatable({}, { __index = function (_, k)
	return require "util.datamanager"[k];
end });

return {
	olddm = olddm;
	open = open;
	get_driver = get_driver;
	load_driver = load_driver;
	driver_name = driver_name_for;
};
