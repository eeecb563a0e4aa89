-- util.hashring: consistent hashing of keys onto a set of nodes, as
-- Prosody 0.12's util.hashring.
--
-- new(replicas, hash) with hash(string) → comparable value (e.g.
-- util.hashes.sha256 with hex output). Each node is placed on the ring at
-- hash(name .. ":" .. i) for i = 1..replicas; get_node(key) is the node at
-- the first point above hash(key), wrapping round to the lowest.
-- add_node(name) (no check for duplicates), add_nodes(list) (skipping ones
-- present), remove_node(name) → true/false, remove_nodes(list), clone().
-- ring (the sorted points, and point → node) is rebuilt lazily on use.

local ipairs, rawget, rawset, setmetatable = ipairs, rawget, rawset, setmetatable;
local t_insert, t_remove, t_sort = table.insert, table.remove, table.sort;

local methods = {};

local function build_ring(self)
	local ring = {};
	for _, name in ipairs(self.nodes) do
		for i = 1, self.num_replicas do
			local point = self.hash(name .. ":" .. i);
			ring[point] = name;
			ring[#ring + 1] = point;
		end
	end
	t_sort(ring);
	return ring;
end

local hashring_mt = {
	__index = function (self, key)
		if key == "ring" then
			local ring = build_ring(self);
			rawset(self, "ring", ring);
			return ring;
		end
		return rawget(methods, key);
	end;
};

local function new(num_replicas, hash)
	return setmetatable({ nodes = {}, num_replicas = num_replicas, hash = hash }, hashring_mt);
end

function methods:add_node(name)
	self.ring = nil;
	self.nodes[name] = true;
	t_insert(self.nodes, name);
	return true;
end

function methods:add_nodes(names)
	self.ring = nil;
	for _, name in ipairs(names) do
		if not self.nodes[name] then
			self.nodes[name] = true;
			t_insert(self.nodes, name);
		end
	end
	return true;
end

function methods:remove_node(name)
	self.ring = nil;
	if not self.nodes[name] then
		return false;
	end
	for i, present in ipairs(self.nodes) do
		if present == name then
			self.nodes[name] = nil;
			t_remove(self.nodes, i);
			return true;
		end
	end
	return false;
end

function methods:remove_nodes(names)
	self.ring = nil;
	for _, name in ipairs(names) do
		self:remove_node(name);
	end
end

function methods:clone()
	local copy = new(self.num_replicas, self.hash);
	copy:add_nodes(self.nodes);
	return copy;
end

function methods:get_node(key)
	local ring = self.ring;
	local h = self.hash(key);
	for _, point in ipairs(ring) do
		if h < point then
			return ring[point];
		end
	end
	return ring[ring[1]];
end

return {
	new = new;
};
