-- util.indexedbheap: a binary min-heap of items by priority, where each
-- entry has an id it can be found, re-prioritised or removed by, as Prosody
-- 0.12's util.indexedbheap (timers are kept in one).
--
-- create() → heap. heap:insert(item, priority[, id]) → id (made up when not
-- given: 1.5, 2.5, …, so as not to clash with integer ids); heap:pop() →
-- priority, item, id of the lowest priority (nothing when empty);
-- heap:peek() → the lowest priority; heap:reprioritize(id, priority);
-- heap:remove(id) / heap:remove_index(position) → priority, item, id.
-- The heap's tables are fields as in Prosody: priorities and ids (the heap,
-- position by position), items (id → item), index (id → position).

local setmetatable, floor = setmetatable, math.floor;

local heap = {};
local heap_mt = { __index = heap };

-- Puts the entry at position k (priority p, id) in place, recording it.
local function place(self, k, p, id)
	self.priorities[k] = p;
	self.ids[k] = id;
	self.index[id] = k;
end

local function sift_up(self, k)
	local priorities, ids = self.priorities, self.ids;
	local p, id = priorities[k], ids[k];
	while k > 1 do
		local parent = floor(k / 2);
		if p >= priorities[parent] then break; end
		place(self, k, priorities[parent], ids[parent]);
		k = parent;
	end
	place(self, k, p, id);
	return k;
end

local function sift_down(self, k)
	local priorities, ids = self.priorities, self.ids;
	local n = #priorities;
	local p, id = priorities[k], ids[k];
	while true do
		local child = 2 * k;
		if child > n then break; end
		if child < n and priorities[child + 1] < priorities[child] then
			child = child + 1;
		end
		if priorities[child] >= p then break; end
		place(self, k, priorities[child], ids[child]);
		k = child;
	end
	place(self, k, p, id);
	return k;
end

function heap:insert(item, priority, id)
	if id == nil then
		id = self.current_id;
		self.current_id = id + 1;
	end
	self.items[id] = item;
	local k = #self.priorities + 1;
	place(self, k, priority, id);
	sift_up(self, k);
	return id;
end

function heap:peek()
	return self.priorities[1];
end

function heap:remove_index(k)
	local priorities, ids = self.priorities, self.ids;
	local priority = priorities[k];
	if priority == nil then return; end
	local id = ids[k];
	local item = self.items[id];
	local n = #priorities;
	-- the last entry fills the hole, then finds its place
	local last_p, last_id = priorities[n], ids[n];
	priorities[n], ids[n] = nil, nil;
	self.index[id], self.items[id] = nil, nil;
	if k < n then
		place(self, k, last_p, last_id);
		sift_down(self, sift_up(self, k));
	end
	return priority, item, id;
end

function heap:pop()
	if self.priorities[1] == nil then return; end
	return self:remove_index(1);
end

function heap:remove(id)
	local k = self.index[id];
	if k == nil then return; end
	return self:remove_index(k);
end

function heap:reprioritize(id, priority)
	local k = self.index[id];
	if k == nil then return; end
	self.priorities[k] = priority;
	sift_down(self, sift_up(self, k));
end

local function create()
	return setmetatable({
		ids = {};
		items = {};
		priorities = {};
		index = {};
		current_id = 1.5;
	}, heap_mt);
end

return {
	create = create;
};
