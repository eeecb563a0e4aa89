-- util.iterators: functions that make or wrap generic-for iterators, as in
-- Prosody 0.12. Wrappers take an iterator triple (f, s, var), as returned by
-- pairs() or string.gmatch(), and return a new triple; helpers that consume
-- an iterator (count, to_array, to_table) run it to its end.
--
-- Prosody 0.12 has no it2array/it2table/zip: to_array and to_table are the
-- collecting helpers, join chains iterators.

local next, type, setmetatable = next, type, setmetatable;
local t_insert, t_sort = table.insert, table.sort;
local unpack = table.unpack or unpack;
local pack = table.pack or function (...)
	return { n = select("#", ...), ... };
end;

local it = {};

-- Collecting --

function it.count(f, s, var)
	local n = 0;
	while true do
		var = f(s, var);
		if var == nil then return n; end
		n = n + 1;
	end
end

-- to_array collects the first value of each step.
function it.to_array(f, s, var)
	local t = {};
	while true do
		var = f(s, var);
		if var == nil then return t; end
		t[#t + 1] = var;
	end
end

-- to_table collects (first → second) value pairs.
function it.to_table(f, s, var)
	local t = {};
	while true do
		local v2;
		var, v2 = f(s, var);
		if var == nil then return t; end
		t[var] = v2;
	end
end

-- Producing --

local function next_key(t, k)
	return (next(t, k));
end
function it.keys(t)
	return next_key, t;
end

function it.values(t)
	local k;
	return function (tbl)
		local v;
		k, v = next(tbl, k);
		return v;
	end, t;
end

function it.sorted_pairs(t, less)
	local keys = it.to_array(it.keys(t));
	if less then t_sort(keys, less); else t_sort(keys); end -- gopher-lua rejects a nil comparator
	local i = 0;
	return function ()
		i = i + 1;
		local k = keys[i];
		if k ~= nil then return k, t[k]; end
	end;
end

local function ripairs_step(t, i)
	if i > 1 then return i - 1, t[i - 1]; end
end
-- ripairs walks an array from its end: index, value.
function it.ripairs(t)
	return ripairs_step, t, #t + 1;
end

local function range_step(last, i)
	if i < last then return i + 1; end
end
-- range(n) counts 1..n, range(a, b) counts a..b.
function it.range(a, b)
	-- Not "a, b = 1, a": gopher-lua assigns locals left to right, so the
	-- right side would read the new a.
	if not b then
		b = a;
		a = 1;
	end
	return range_step, b, a - 1;
end

-- Wrapping --

-- reverse runs the iterator to its end, then replays its steps backwards.
function it.reverse(f, s, var)
	local steps = {};
	while true do
		local step = { f(s, var) };
		var = step[1];
		if var == nil then break; end
		t_insert(steps, 1, step);
	end
	local i = 0;
	return function (all)
		if i < #all then
			i = i + 1;
			return unpack(all[i]);
		end
	end, steps;
end

-- select(n, ...) yields only the n-th value of each step.
function it.select(n, f, s, var)
	return function (state)
		local step = pack(f(state, var));
		var = step[1];
		return step[n];
	end, s, var;
end

-- unique drops steps whose first value was seen before.
function it.unique(f, s, var)
	local seen = {};
	return function ()
		while true do
			local step = pack(f(s, var));
			var = step[1];
			if var == nil then return nil; end
			if not seen[var] then
				seen[var] = true;
				return unpack(step, 1, step.n);
			end
		end
	end;
end

function it.head(n, f, s, var)
	local taken = 0;
	return function (state, v)
		if taken >= n then return nil; end
		taken = taken + 1;
		return f(state, v);
	end, s, var;
end

function it.skip(n, f, s, var)
	for _ = 1, n do
		var = f(s, var);
	end
	return f, s, var;
end

-- tail keeps the last n steps in a ring, then yields them in order.
function it.tail(n, f, s, var)
	local ring, seen = {}, 0;
	while true do
		local step = pack(f(s, var));
		var = step[1];
		if var == nil then break; end
		ring[(seen % n) + 1] = step;
		seen = seen + 1;
	end
	if n > seen then n = seen; end
	local pos = 0;
	return function ()
		pos = pos + 1;
		if pos > n then return nil; end
		local step = ring[((seen - 1 + pos) % n) + 1];
		return unpack(step, 1, step.n);
	end;
end

-- filter keeps steps for which keep(...) is true; a non-function keep drops
-- steps whose first value equals it.
function it.filter(keep, f, s, var)
	if type(keep) ~= "function" then
		local unwanted = keep;
		keep = function (v) return v ~= unwanted; end;
	end
	return function (state, v)
		local step;
		repeat
			step = pack(f(state, v));
			v = step[1];
		until v == nil or keep(unpack(step, 1, step.n));
		return unpack(step, 1, step.n);
	end, s, var;
end

-- join chains iterators: for x in it.join(a()):append(b()) do ... end.
-- The chain is a callable table; append/prepend return it with the state
-- the loop needs, so they must come last in the for line.
local chain_methods = {};
local chain_mt = { __index = chain_methods };

local function chain_step(state, v)
	local chain, idx = state[1], state[2];
	local f, s, var = unpack(chain[idx], 1, 3);
	if v ~= nil then var = v; end
	local step = pack(f(s, var));
	if step[1] == nil then
		if idx == #chain then return nil; end
		state[2] = idx + 1;
		return chain_step(state);
	end
	return unpack(step, 1, step.n);
end

function chain_mt.__call(_, state, v)
	return chain_step(state, v);
end

function chain_methods:append(f, s, var)
	self[#self + 1] = { f, s, var };
	return self, { self, 1 };
end

function chain_methods:prepend(f, s, var)
	t_insert(self, 1, { f, s, var });
	return self, { self, 1 };
end

function it.join(f, s, var)
	return setmetatable({ { f, s, var } }, chain_mt);
end

return it;
