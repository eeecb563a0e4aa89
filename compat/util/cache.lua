-- util.cache: a bounded key/value store that forgets the least recently set
-- entry when full, as Prosody 0.12's does. Only set() counts as use; get()
-- leaves the order alone.
--
-- Entries form a doubly linked list from newest (head) to oldest (tail).
-- on_evict(key, value) is called before the oldest entry is dropped; returning
-- false from it (or passing on_evict = false) refuses the drop, and the set()
-- or resize() that needed room reports false.

local assert, tonumber, setmetatable, error = assert, tonumber, setmetatable, error;
local math_floor = math.floor;

local cache = {};
local cache_mt = { __name = "cache", __index = cache };

local function unlink(self, node)
	local newer, older = node.newer, node.older;
	if newer then newer.older = older; else self._head = older; end
	if older then older.newer = newer; else self._tail = newer; end
	node.newer, node.older = nil, nil;
	self._count = self._count - 1;
end

local function push_front(self, node)
	local head = self._head;
	node.newer, node.older = nil, head;
	if head then head.newer = node; else self._tail = node; end
	self._head = node;
	self._count = self._count + 1;
end

local function may_evict(self, key, value)
	local on_evict = self._on_evict;
	if on_evict == nil then return true; end
	if on_evict == false then return false; end
	return on_evict(key, value) ~= false;
end

-- Drops the oldest entry unless on_evict refuses; reports whether it did.
local function evict_oldest(self)
	local oldest = self._tail;
	if not may_evict(self, oldest.key, oldest.value) then
		return false;
	end
	unlink(self, oldest);
	self._nodes[oldest.key] = nil;
	return true;
end

local function checked_size(size)
	size = assert(tonumber(size), "cache size must be a number");
	size = math_floor(size);
	assert(size > 0, "cache size must be greater than zero");
	return size;
end

function cache:set(key, value)
	local node = self._nodes[key];
	if node then
		unlink(self, node);
		if value == nil then
			self._nodes[key] = nil;
		else
			node.value = value;
			push_front(self, node);
		end
		return true;
	end
	if value == nil then
		return true;
	end
	if self._count >= self.size and not evict_oldest(self) then
		return false;
	end
	node = { key = key, value = value };
	self._nodes[key] = node;
	push_front(self, node);
	return true;
end

function cache:get(key)
	local node = self._nodes[key];
	if node then return node.value; end
	return nil;
end

function cache:count()
	return self._count;
end

function cache:head()
	local node = self._head;
	if node then return node.key, node.value; end
	return nil, nil;
end

function cache:tail()
	local node = self._tail;
	if node then return node.key, node.value; end
	return nil, nil;
end

-- Iterates newest to oldest, yielding key, value.
function cache:items()
	local node = self._head;
	return function ()
		if node == nil then return nil; end
		local key, value = node.key, node.value;
		node = node.older;
		return key, value;
	end
end

-- Iterates newest to oldest, yielding values only.
function cache:values()
	local node = self._head;
	return function ()
		if node == nil then return nil; end
		local value = node.value;
		node = node.older;
		return value;
	end
end

-- Shrinks (evicting oldest first) or grows the cache. If on_evict refuses an
-- eviction the size is left unchanged and false is returned; entries evicted
-- before the refusal stay evicted.
function cache:resize(new_size)
	new_size = checked_size(new_size);
	while self._count > new_size do
		if not evict_oldest(self) then
			return false;
		end
	end
	self.size = new_size;
	return true;
end

function cache:clear()
	self._nodes = {};
	self._count = 0;
	self._head, self._tail = nil, nil;
end

-- A plain-table view: reads and writes go through get and set; writing to a
-- full cache whose on_evict refuses raises an error.
function cache:table()
	local view = self._view;
	if view then return view; end
	local owner = self;
	view = setmetatable({}, {
		__index = function (_, key)
			return owner:get(key);
		end;
		__newindex = function (_, key, value)
			if not owner:set(key, value) then
				error("failed to insert key into cache - full");
			end
		end;
		__pairs = function ()
			return owner:items();
		end;
		__len = function ()
			return owner:count();
		end;
	});
	self._view = view;
	return view;
end

local function new(size, on_evict)
	return setmetatable({
		size = checked_size(size);
		_on_evict = on_evict;
		_nodes = {};
		_count = 0;
	}, cache_mt);
end

return {
	new = new;
}
