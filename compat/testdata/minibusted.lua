-- A minimal stand-in for busted, enough to run compat/spec files inside a
-- modhost loop from Go tests until modhost's own spec runner exists. It
-- returns a function that runs one spec chunk and returns a list of
-- { name = "describe ... it", err = message or nil }.

local function fail(message, level)
	error(message, (level or 1) + 2);
end

local function show(v)
	if type(v) == "string" then return string.format("%q", v); end
	return tostring(v);
end

local function deep_equal(a, b)
	if a == b then return true; end
	if type(a) ~= "table" or type(b) ~= "table" then return false; end
	for k, v in pairs(a) do
		if not deep_equal(v, b[k]) then return false; end
	end
	for k in pairs(b) do
		if a[k] == nil then return false; end
	end
	return true;
end

local assert = {};
function assert.equal(expected, actual)
	if expected ~= actual then fail("expected " .. show(expected) .. ", got " .. show(actual)); end
end
function assert.not_equal(a, b)
	if a == b then fail("expected different values, both " .. show(a)); end
end
function assert.same(expected, actual)
	if not deep_equal(expected, actual) then fail("tables differ"); end
end
function assert.is_true(v) if v ~= true then fail("expected true, got " .. show(v)); end end
function assert.is_false(v) if v ~= false then fail("expected false, got " .. show(v)); end end
function assert.is_nil(v) if v ~= nil then fail("expected nil, got " .. show(v)); end end
function assert.is_not_nil(v) if v == nil then fail("expected a value, got nil"); end end
for _, t in ipairs({ "string", "number", "table", "function" }) do
	assert["is_" .. t] = function (v)
		if type(v) ~= t then fail("expected a " .. t .. ", got " .. show(v)); end
	end
end
function assert.matches(pattern, s)
	if type(s) ~= "string" or not s:match(pattern) then fail(show(s) .. " does not match " .. pattern); end
end
function assert.has_error(fn)
	if pcall(fn) then fail("expected an error"); end
end
function assert.has_no_error(fn)
	local ok, err = pcall(fn);
	if not ok then fail("unexpected error: " .. tostring(err)); end
end
setmetatable(assert, { __call = function (_, v, message, ...)
	if not v then fail(message or "assertion failed"); end
	return v, message, ...;
end });

return function (spec_chunk)
	local results, path = {}, {};
	local env = setmetatable({ assert = assert }, { __index = _G });
	function env.describe(name, body)
		path[#path + 1] = name;
		body();
		path[#path] = nil;
	end
	function env.it(name, body)
		local ok, err = pcall(body);
		results[#results + 1] = { name = table.concat(path, " ") .. " " .. name; err = (not ok) and tostring(err) or nil };
	end
	setfenv(spec_chunk, env);
	local ok, err = pcall(spec_chunk);
	if not ok then
		results[#results + 1] = { name = "(loading the spec)"; err = tostring(err) };
	end
	return results;
end
