-- A minimal stand-in for busted, enough to run compat/spec files inside the
-- Go tests until modhost's own runner exists: describe/it/before_each/
-- after_each/pending and the luassert forms the specs use. Returns run(fn),
-- which runs a spec chunk and returns the list of { name, err } results
-- (err nil when the test passed).

local type, pairs, ipairs, tostring, select = type, pairs, ipairs, tostring, select;
local pcall, error, setmetatable, getmetatable = pcall, error, setmetatable, getmetatable;

-- same compares tables deeply, by raw contents (like luassert's same).
local function same(a, b, seen)
	if a == b then return true; end
	if type(a) ~= "table" or type(b) ~= "table" then return false; end
	seen = seen or {};
	if seen[a] == b then return true; end
	seen[a] = b;
	for k, v in pairs(a) do
		if not same(v, rawget(b, k), seen) then return false; end
	end
	for k in pairs(b) do
		if rawget(a, k) == nil then return false; end
	end
	return true;
end

local function show(v)
	if type(v) == "string" then return string.format("%q", v); end
	return tostring(v);
end

-- strip_position drops the "chunk:line: " prefix Lua adds to errors.
local function strip_position(msg)
	if type(msg) ~= "string" then return msg; end
	return (msg:gsub("^.-:%d+: ", "", 1));
end

local checks = {};
function checks.equal(expected, actual) return expected == actual, "expected "..show(expected)..", got "..show(actual); end
checks.equals = checks.equal;
function checks.same(expected, actual) return same(expected, actual), "expected the same as "..show(expected)..", got "..show(actual); end
function checks.truthy(v) return not not v, "expected truthy, got "..show(v); end
function checks.falsy(v) return not v, "expected falsy, got "..show(v); end
checks["nil"] = function (v) return v == nil, "expected nil, got "..show(v); end
checks["true"] = function (v) return v == true, "expected true, got "..show(v); end
checks["false"] = function (v) return v == false, "expected false, got "..show(v); end
for _, t in ipairs({ "table", "string", "number", "function", "boolean" }) do
	checks[t] = function (v) return type(v) == t, "expected a "..t..", got "..show(v); end
end
function checks.error(fn, expected)
	local ok, err = pcall(fn);
	if ok then return false, "expected an error"; end
	if expected ~= nil and strip_position(err) ~= expected then
		return false, "expected error "..show(expected)..", got "..show(err);
	end
	return true, "expected no error, got "..show(err);
end
checks.errors = checks.error;
function checks.error_matches(fn, pattern, init, plain)
	local ok, err = pcall(fn);
	if ok then return false, "expected an error matching "..show(pattern); end
	if type(err) ~= "string" or not err:find(pattern, init, plain) then
		return false, "expected an error matching "..show(pattern)..", got "..show(err);
	end
	return true, "expected no error matching "..show(pattern)..", got "..show(err);
end
function checks.matches(pattern, s, init, plain)
	return type(s) == "string" and s:find(pattern, init, plain) ~= nil,
		"expected "..show(s).." to match "..show(pattern);
end
checks.match = checks.matches;

local modifiers = { is = true, are = true, has = true, was = true, does = true };
local negations = { ["not"] = true, no = true };

-- An assertion chain collects words (assert.are_not.equal → are, not,
-- equal) until it is called.
local chain_mt = {};
local function chain(words)
	return setmetatable({ words = words }, chain_mt);
end
chain_mt.__index = function (c, key)
	local words = {};
	for i, w in ipairs(rawget(c, "words")) do words[i] = w; end
	for w in key:gmatch("[^_]+") do words[#words + 1] = w; end
	return chain(words);
end
chain_mt.__call = function (c, ...)
	local negate, name = false, {};
	for _, w in ipairs(rawget(c, "words")) do
		if negations[w] then
			negate = not negate;
		elseif not modifiers[w] then
			name[#name + 1] = w;
		end
	end
	local key = table.concat(name, "_");
	local check = checks[key];
	if not check then error("minibusted: unknown assertion "..key, 2); end
	local ok, msg = check(...);
	if negate then ok = not ok; if ok == false then msg = "negated: "..msg; end end
	if not ok then error("assertion "..key.." failed: "..msg, 2); end
	return ...;
end

local assert_obj = setmetatable({ words = {} }, {
	__index = chain_mt.__index,
	__call = function (_, v, msg, ...)
		if not v then error(msg or "assertion failed!", 2); end
		return v, msg, ...;
	end,
});

local function run(spec)
	local results = {};
	local stack = { { name = nil, before = {}, after = {} } };
	local function full_name(name)
		local parts = {};
		for _, block in ipairs(stack) do
			if block.name then parts[#parts + 1] = block.name; end
		end
		parts[#parts + 1] = name;
		return table.concat(parts, " ");
	end
	local env = setmetatable({}, { __index = _G });
	env.assert = assert_obj;
	function env.describe(name, fn)
		stack[#stack + 1] = { name = name, before = {}, after = {} };
		local ok, err = pcall(fn);
		stack[#stack] = nil;
		if not ok then results[#results + 1] = { name = full_name(name), err = "in describe: "..tostring(err) }; end
	end
	env.context = env.describe;
	function env.before_each(fn) local b = stack[#stack].before; b[#b + 1] = fn; end
	function env.after_each(fn) local a = stack[#stack].after; a[#a + 1] = fn; end
	function env.pending() end
	function env.it(name, fn)
		local ok, err = true, nil;
		for _, block in ipairs(stack) do
			for _, b in ipairs(block.before) do
				if ok then ok, err = pcall(b); end
			end
		end
		if ok then ok, err = pcall(fn); end
		for i = #stack, 1, -1 do
			for _, a in ipairs(stack[i].after) do pcall(a); end
		end
		results[#results + 1] = { name = full_name(name), err = (not ok) and tostring(err) or nil };
	end
	env.spec = env.it;
	env.test = env.it;
	setfenv(spec, env);
	local ok, err = pcall(spec);
	if not ok then results[#results + 1] = { name = "(loading spec)", err = tostring(err) }; end
	return results;
end

return run;
