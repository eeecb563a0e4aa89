-- util.set: unordered sets of values, as Prosody 0.12's util.set.
--
-- A set is called like an iterator (`for item in set do`), works with the
-- operators + (union), - (difference), / (map through a function, dropping
-- nils) and == (same members), and prints as its members joined by ", ".
-- Its members live in set._items (member → true), which some plugins read.

local pairs, ipairs, next, tostring = pairs, ipairs, next, tostring;
local setmetatable, getmetatable = setmetatable, getmetatable;
local t_concat = table.concat;

local set_mt = { __name = "set" };
local items_mt = {};

-- Both a set and its _items table iterate when called: for x in set do.
function set_mt.__call(set, _, previous)
	return next(set._items, previous);
end
function items_mt.__call(items, _, previous)
	return next(items, previous);
end

local function new(list)
	local items = setmetatable({}, items_mt);
	local set = { _items = items };

	-- The methods close over items, so they work whatever self is.
	function set:add(item) items[item] = true; end
	function set:remove(item) items[item] = nil; end
	function set:contains(item) return items[item]; end
	function set:items() return next, items; end
	function set:empty() return next(items) == nil; end

	function set:contains_set(other)
		for item in other do
			if not items[item] then return false; end
		end
		return true;
	end

	function set:add_list(more)
		if not more then return; end
		for _, item in ipairs(more) do items[item] = true; end
	end

	function set:include(other)
		for item in other do items[item] = true; end
	end

	function set:exclude(other)
		for item in other do items[item] = nil; end
	end

	set:add_list(list);
	return setmetatable(set, set_mt);
end

local function is_set(o)
	return getmetatable(o) == set_mt;
end

local function union(a, b)
	local result = new();
	local items = result._items;
	for item in pairs(a._items) do items[item] = true; end
	for item in pairs(b._items) do items[item] = true; end
	return result;
end

local function difference(a, b)
	local result = new();
	local items, exclude = result._items, b._items;
	for item in pairs(a._items) do
		if not exclude[item] then items[item] = true; end
	end
	return result;
end

local function intersection(a, b)
	local result = new();
	local items, other = result._items, b._items;
	for item in pairs(a._items) do
		if other[item] then items[item] = true; end
	end
	return result;
end

local function xor(a, b)
	return difference(union(a, b), intersection(a, b));
end

set_mt.__add = union;
set_mt.__sub = difference;

function set_mt.__div(set, fn)
	local result = new();
	local items = result._items;
	for item in pairs(set._items) do
		local mapped = fn(item);
		if mapped ~= nil then items[mapped] = true; end
	end
	return result;
end

function set_mt.__eq(a, b)
	if getmetatable(a) ~= set_mt or getmetatable(b) ~= set_mt then
		return false;
	end
	local ia, ib = a._items, b._items;
	for item in pairs(ia) do
		if not ib[item] then return false; end
	end
	for item in pairs(ib) do
		if not ia[item] then return false; end
	end
	return true;
end

function set_mt.__tostring(set)
	local parts = {};
	for item in pairs(set._items) do parts[#parts + 1] = tostring(item); end
	return t_concat(parts, ", ");
end

-- For util.serialization: a set is stored as the array of its members.
function set_mt.__freeze(set)
	local list = {};
	for item in pairs(set._items) do list[#list + 1] = item; end
	return list;
end

return {
	new = new;
	is_set = is_set;
	union = union;
	difference = difference;
	intersection = intersection;
	xor = xor;
};
