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

-- freeze turns a value into what is stored, thaw back into fresh tables;
-- both keep nil as nil.
local freeze, thaw = copy, copy;
local packed_size; -- keys of a packed table, where values are packed
do
	local ok, pack = pcall(require, "modhost.pack");
	if ok and type(pack) == "table" then
		freeze, thaw, packed_size = pack.pack, pack.unpack, pack.size;
	end
end

-- A store keeps, per user, a whole value (what keyval:set stored) and the
-- items set through the map view since (key → frozen value, or REMOVED).
-- Both views read both, so they are one store, as in Prosody (whose
-- storagemanager gives a driver without map stores one over its keyval
-- store): core.rostermanager saves single items through the map view and
-- loads the roster through the keyval one. Keeping items apart saves
-- thawing and refreezing a whole roster for every item saved. They are
-- folded into the whole value once they outnumber its keys (and FOLD_AFTER):
-- a fold costs the size of the whole, so it must wait for as many saves as
-- that, or saving each of n contacts of an n-contact roster (a refresh
-- replacing it) costs n²/FOLD_AFTER.
--
-- REMOVED is false, not a table of this instance's: the data is shared
-- across reloads of this module (module:shared), and a sentinel a reload
-- replaced would read as a stored value.
local REMOVED = false;
local FOLD_AFTER = 32;

local function store_data(name)
	local data = memory[name];
	if not data then
		data = { whole = {}, items = {}, counts = {}, sizes = {} };
		memory[name] = data;
	end
	data.sizes = data.sizes or {}; -- data kept from a version without them
	return data;
end

-- nil users (host-wide data) are kept under a key no username can be.
local HOST_KEY = {};
local function key_of(user) return user == nil and HOST_KEY or user; end

-- The user's value with the item saves laid over it, in fresh tables.
local function current(data, k)
	local value = thaw(data.whole[k]);
	local items = data.items[k];
	if not items then return value; end
	if type(value) ~= "table" then value = {}; end
	for key, item in pairs(items) do
		if item == REMOVED then
			value[key] = nil;
		else
			value[key] = thaw(item);
		end
	end
	if next(value) == nil then return nil; end
	return value;
end

local function set_whole(data, k, value)
	data.whole[k] = freeze(value);
	data.items[k], data.counts[k] = nil, nil;
	local size = 0;
	if type(value) == "table" then
		for _ in next, value do size = size + 1; end
	end
	data.sizes[k] = size;
end

-- Users with data, each once.
local function users_of(data)
	local seen, list = {}, {};
	for _, t in ipairs({ data.whole, data.items }) do
		for k in pairs(t) do
			if k ~= HOST_KEY and not seen[k] then
				seen[k] = true;
				list[#list + 1] = k;
			end
		end
	end
	local i = 0;
	return function ()
		i = i + 1;
		return list[i];
	end;
end

local keyval = {};
keyval.__index = keyval;

function keyval:get(user)
	return current(self.data, key_of(user));
end

function keyval:set(user, value)
	set_whole(self.data, key_of(user), value);
	return true;
end

function keyval:purge(user)
	set_whole(self.data, key_of(user), nil);
	return true;
end

function keyval:users()
	return users_of(self.data);
end

-- With modhost.pack, the packed form itself goes in and out: core.rostermanager
-- keeps online users' rosters packed in Go (host/rosters.go), and this
-- spares a thaw and a freeze of the whole roster at each login and refresh.
-- Not part of Prosody's storage API: callers check for them.
if packed_size then
	function keyval:get_packed(user)
		local data, k = self.data, key_of(user);
		if data.items[k] then
			set_whole(data, k, current(data, k)); -- item saves folded in
		end
		return data.whole[k];
	end

	function keyval:set_packed(user, packed)
		local data, k = self.data, key_of(user);
		data.whole[k] = packed;
		data.items[k], data.counts[k] = nil, nil;
		data.sizes[k] = packed and packed_size(packed) or 0;
		return true;
	end
end

local map = {};
map.__index = map;

function map:get(user, key)
	local k = key_of(user);
	local items = self.data.items[k];
	local item = items and items[key];
	if item == REMOVED then return nil; end
	if item ~= nil then return thaw(item); end
	local value = thaw(self.data.whole[k]);
	if type(value) ~= "table" then return nil; end
	return value[key];
end

function map:set(user, key, value)
	local data, k = self.data, key_of(user);
	local items = data.items[k];
	if not items then
		if value == nil and data.whole[k] == nil then return true; end
		items = {};
		data.items[k], data.counts[k] = items, 0;
	end
	if items[key] == nil then data.counts[k] = data.counts[k] + 1; end
	if value == nil then
		items[key] = REMOVED;
	else
		items[key] = freeze(value);
	end
	local count = data.counts[k];
	if count > FOLD_AFTER and count > (data.sizes[k] or 0) then
		set_whole(data, k, current(data, k));
	elseif value == nil and data.whole[k] == nil then
		for _, item in pairs(items) do
			if item ~= REMOVED then return true; end
		end
		set_whole(data, k, nil); -- nothing left
	end
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
	for user in users_of(self.data) do
		result[user] = self:get(user, key);
	end
	return result;
end

function map:delete_all(key)
	for user in users_of(self.data) do
		self:set(user, key, nil);
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
		set_whole(data, key_of(user), nil);
	end
	return true;
end

module:provides("storage", driver);
