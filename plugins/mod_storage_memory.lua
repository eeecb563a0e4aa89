-- mod_storage_memory: keeps stores in memory for the life of the process.
--
-- Provides the "memory" storage driver with keyval and map stores, per host
-- and per store. Data is copied on the way in and out so that a caller
-- changing a table it stored or fetched does not change what is stored.

local type, pairs, next, setmetatable = type, pairs, next, setmetatable;

-- LuaJIT's table.new where the runtime offers it (modhost does): copies are
-- made at their final size instead of with room for 32 keys each.
local new_table = (function ()
	local ok, new = pcall(require, "table.new");
	if ok and type(new) == "function" then return new; end
	return function () return {}; end;
end)();

-- memory[store][user] = data; one table per host, shared across reloads.
local memory = module:shared("data");

local function copy(value, seen)
	if type(value) ~= "table" then return value; end
	seen = seen or {};
	if seen[value] then return seen[value]; end
	local size = 0;
	for _ in next, value do size = size + 1; end
	local out = new_table(0, size);
	seen[value] = out;
	for k, v in pairs(value) do
		out[copy(k, seen)] = copy(v, seen);
	end
	return setmetatable(out, getmetatable(value));
end

local function store_data(name)
	local data = memory[name];
	if not data then
		data = {};
		memory[name] = data;
	end
	return data;
end

-- nil users (host-wide data) are kept under a key no username can be.
local HOST_KEY = {};
local function key_of(user) return user == nil and HOST_KEY or user; end

local keyval = {};
keyval.__index = keyval;

function keyval:get(user)
	return copy(self.data[key_of(user)]);
end

function keyval:set(user, value)
	self.data[key_of(user)] = copy(value);
	return true;
end

function keyval:purge(user)
	self.data[key_of(user)] = nil;
	return true;
end

function keyval:users()
	local user = nil;
	return function ()
		repeat
			user = next(self.data, user);
		until user ~= HOST_KEY;
		return user;
	end;
end

local map = {};
map.__index = map;

function map:get(user, key)
	local entries = self.data[key_of(user)];
	if entries == nil then return nil; end
	return copy(entries[key]);
end

function map:set(user, key, value)
	local k = key_of(user);
	local entries = self.data[k];
	if entries == nil then
		if value == nil then return true; end
		entries = {};
		self.data[k] = entries;
	end
	entries[key] = copy(value);
	if next(entries) == nil then self.data[k] = nil; end
	return true;
end

-- map.remove, given as a value to set_keys, removes that key.
map.remove = {};

function map:set_keys(user, keydatas)
	for key, value in pairs(keydatas) do
		if value == map.remove then value = nil; end
		self:set(user, key, value);
	end
	return true;
end

function map:get_all(key)
	local result = {};
	for user, entries in pairs(self.data) do
		if user ~= HOST_KEY and entries[key] ~= nil then
			result[user] = copy(entries[key]);
		end
	end
	return result;
end

function map:delete_all(key)
	for _, entries in pairs(self.data) do
		entries[key] = nil;
	end
	return true;
end

map.purge = keyval.purge;
map.users = keyval.users;

local driver = {};

-- A store's keyval and map views share its data, as in Prosody: a map
-- set_keys of one roster item is what the next keyval get returns
-- (rostermanager saves single items through the map view, loads through
-- the keyval one).
function driver:open(name, kind)
	kind = kind or "keyval";
	if kind == "keyval" then
		return setmetatable({ data = store_data(name) }, keyval);
	elseif kind == "map" then
		return setmetatable({ data = store_data(name) }, map);
	end
	return nil, "unsupported-store";
end

function driver:purge(user)
	for _, data in pairs(memory) do
		data[key_of(user)] = nil;
	end
	return true;
end

module:provides("storage", driver);
