-- util.multitable: nested tables addressed by a path of keys, as Prosody
-- 0.12's util.multitable (mod_pubsub, the s2s and component code keep
-- indexes in them).
--
-- new() gives an object whose .data is the tree, with the methods:
--   get(k1, …, kn)            the node or value at that path (nil/false stops)
--   set(k1, …, kn, value)     stores value at the path, making the tables on
--                             the way
--   add(k1, …, kn, value)     appends value to the list at the path
--   remove(k1, …, kn)         removes what is at the path; a nil key matches
--                             every key at its level; tables left empty on
--                             the way are removed too
--   search(k1, …, kn)         a list of what is at the matching paths (nil =
--                             any key; a nil last key lists all the values)
--   search_add(list, k1, …)   the same, appended to list (or a new one)
--   iter(k1, …, kn)           an iterator over the matching paths of depth
--                             n, giving k1, …, kn, value each time
-- The module's iter(mt, …) is the same as mt:iter(…).

local select, next, pairs, type = select, next, pairs, type;
local t_insert = table.insert;
local unpack = table.unpack or unpack; -- luacheck: ignore 113/unpack

local function get(self, ...)
	local node = self.data;
	for i = 1, select("#", ...) do
		node = node[(select(i, ...))];
		if not node then return node; end
	end
	return node;
end

-- The table at keys 1..upto of the path, made where missing.
local function make_path(root, upto, ...)
	local node = root;
	for i = 1, upto do
		local key = select(i, ...);
		local child = node[key];
		if not child then
			child = {};
			node[key] = child;
		end
		node = child;
	end
	return node;
end

local function add(self, ...)
	local n = select("#", ...);
	t_insert(make_path(self.data, n - 1, ...), (select(n, ...)));
end

local function set(self, ...)
	local n = select("#", ...);
	make_path(self.data, n - 2, ...)[(select(n - 1, ...))] = (select(n, ...));
end

local function remove_at(node, level, last, ...)
	if node == nil then return; end
	local key = select(level, ...);
	if level == last then
		node[key] = nil;
		return;
	end
	if key then
		local child = node[key];
		if child then
			remove_at(child, level + 1, last, ...);
			if next(child) == nil then node[key] = nil; end
		end
	else
		for k, child in pairs(node) do
			remove_at(child, level + 1, last, ...);
			if next(child) == nil then node[k] = nil; end
		end
	end
end

local function remove(self, ...)
	remove_at(self.data, 1, select("#", ...), ...);
end

local function collect(node, level, last, results, ...)
	if node == nil then return; end
	local key = select(level, ...);
	if level == last then
		if key == nil then
			for _, v in pairs(node) do t_insert(results, v); end
		else
			t_insert(results, node[key]);
		end
	elseif key then
		collect(node[key], level + 1, last, results, ...);
	else
		for _, child in pairs(node) do
			collect(child, level + 1, last, results, ...);
		end
	end
end

local function search_add(self, results, ...)
	results = results or {};
	collect(self.data, 1, select("#", ...), results, ...);
	return results;
end

local function search(self, ...)
	return search_add(self, {}, ...);
end

-- Depth-first over the tree with an explicit stack of (node, last key).
local function iter(self, ...)
	local query = { ... };
	local depth_wanted = select("#", ...);
	local nodes, keys = { self.data }, {};
	local function step()
		while true do
			local depth = #nodes;
			if depth == 0 then return; end
			local key = next(nodes[depth], keys[depth]);
			if key == nil then
				nodes[depth], keys[depth] = nil, nil;
			else
				keys[depth] = key;
				local value = nodes[depth][key];
				local wanted = query[depth];
				if wanted == nil or wanted == key then
					if depth == depth_wanted then
						local path = {};
						for i = 1, depth do path[i] = keys[i]; end
						path[depth + 1] = value;
						return unpack(path, 1, depth + 1);
					elseif type(value) == "table" then
						nodes[depth + 1] = value;
					end
				end
			end
		end
	end
	return step, self;
end

local function new()
	return {
		data = {},
		get = get,
		add = add,
		set = set,
		remove = remove,
		search = search,
		search_add = search_add,
		iter = iter,
	};
end

return { new = new, iter = iter };
