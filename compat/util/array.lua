-- util.array: sequences with methods, as Prosody 0.12's util.array.
--
-- array(t) gives t the array metatable (array(f, s, v) collects an iterator
-- first). The transforming functions come in two forms:
--   array.map(a, fn)  returns a new array and leaves a alone;
--   a:map(fn)         rewrites a in place and returns it.
-- Operators: a + b (concatenation into a new array), a / fn (map, dropping
-- nils), a == b (same length, same elements). tostring gives "{x, y}".
--
-- Lengths are Lua's # operator; on gopher-lua (Lua 5.1) a table with holes
-- counts up to its last non-nil array slot, where Lua 5.4 may stop at an
-- earlier border. Arrays with holes are undefined in Prosody too.

local type, ipairs, pairs, tostring = type, ipairs, pairs, tostring;
local setmetatable, getmetatable = setmetatable, getmetatable;
local t_insert, t_remove, t_sort, t_concat = table.insert, table.remove, table.sort, table.concat;
local random, floor = math.random, math.floor;

local array = {};
local methods = {};
local array_mt = {
	__name = "array";
	__index = methods;
}

local function collect(f, s, var)
	local t = {};
	while true do
		var = f(s, var);
		if var == nil then break; end
		t[#t + 1] = var;
	end
	return setmetatable(t, array_mt);
end
array.collect = collect;

local function new(_, t, s, var)
	if type(t) == "function" then
		return collect(t, s, var);
	end
	return setmetatable(t or {}, array_mt);
end
setmetatable(array, { __call = new });

function array_mt.__tostring(a)
	return "{"..a:concat(", ").."}";
end

function array_mt.__freeze(a)
	return a;
end

function array_mt.__add(a, b)
	return new():append(a):append(b);
end

function array_mt.__eq(a, b)
	if getmetatable(a) ~= array_mt or getmetatable(b) ~= array_mt then
		return false;
	end
	local n = #a;
	if n ~= #b then return false; end
	for i = 1, n do
		if a[i] ~= b[i] then return false; end
	end
	return true;
end

function array_mt.__div(a, fn)
	local out, n = new(), 0;
	for i = 1, #a do
		local v = fn(a[i]);
		if v ~= nil then
			n = n + 1;
			out[n] = v;
		end
	end
	return out;
end

-- Transformations: each takes (dst, src, ...) and writes the result into dst,
-- which is src itself for the in-place method form.
local transforms = {};

function transforms.map(dst, src, fn)
	for i, v in ipairs(src) do
		dst[i] = fn(v);
	end
	return dst;
end

function transforms.filter(dst, src, keep)
	local n, w = #src, 0;
	for r = 1, n do
		local v = src[r];
		if keep(v) then
			w = w + 1;
			dst[w] = v;
		end
	end
	if dst == src then
		for i = w + 1, n do dst[i] = nil; end
	end
	return dst;
end

-- slice(i, j) keeps elements i..j; negative positions count from the end
-- (-1 is the last), j defaults to the end.
function transforms.slice(dst, src, i, j)
	local n = #src;
	j = j or -1;
	if j < 0 then j = n + j + 1; end
	if i < 0 then i = n + i + 1; end
	if i < 1 then i = 1; end
	if j > n then j = n; end
	if i > j then
		for k = #dst, 1, -1 do dst[k] = nil; end
		return dst;
	end
	for k = 1, j - i + 1 do
		dst[k] = src[i + k - 1];
	end
	if dst == src then
		for k = #dst, j - i + 2, -1 do dst[k] = nil; end
	end
	return dst;
end

function transforms.sort(dst, src, less)
	if dst ~= src then dst:append(src); end
	if less then t_sort(dst, less); else t_sort(dst); end -- gopher-lua rejects a nil comparator
	return dst;
end

function transforms.unique(dst, src)
	local seen = {};
	return transforms.filter(dst, src, function (v)
		if seen[v] then return false; end
		seen[v] = true;
		return true;
	end);
end

function transforms.pluck(dst, src, key, default)
	for i = 1, #src do
		local v = src[i][key];
		if v == nil then v = default; end
		dst[i] = v;
	end
	return dst;
end

function transforms.reverse(dst, src)
	local n = #src;
	if dst == src then
		for i = 1, floor(n / 2) do
			local o = n + 1 - i;
			dst[i], dst[o] = dst[o], dst[i];
		end
	else
		for i = 1, n do dst[i] = src[n + 1 - i]; end
	end
	return dst;
end

for name, transform in pairs(transforms) do
	array[name] = function (src, ...)
		return transform(new(), src, ...);
	end
	methods[name] = function (self, ...)
		return transform(self, self, ...);
	end
end

-- Methods that only read.

function methods:random()
	return self[random(1, #self)];
end

-- random_other returns a random element other than the one at idx.
function methods:random_other(idx)
	local n = #self;
	return self[((random(1, n - 1) + idx - 1) % n) + 1];
end

function methods:length()
	return #self;
end

function methods:concat(sep)
	return t_concat(array.map(self, tostring), sep);
end

-- Methods that change the array in place.

function methods:shuffle()
	local n = #self;
	for i = 1, n do
		local r = random(i, n);
		self[i], self[r] = self[r], self[i];
	end
	return self;
end

function methods:append(other)
	local n = #self;
	for i = 1, #other do
		self[n + i] = other[i];
	end
	return self;
end

function methods:push(v)
	t_insert(self, v);
	return self;
end

methods.pop = t_remove;

return array;
