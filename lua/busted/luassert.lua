-- luassert-compatible assertions, spies, stubs and matchers for modhost's
-- spec runner. Specs written for busted use them unchanged: assert.are.equal,
-- assert.is_not_nil, assert.has_error, assert.spy(s).was.called_with(...).
--
-- A failed assertion raises a failure object (see failure_mt) that carries the
-- message and the spec's file:line, so the runner can tell failures from
-- errors and point at the spec line rather than at this file.

local type, tostring, pairs, ipairs, select = type, tostring, pairs, ipairs, select;
local setmetatable, getmetatable, rawget, rawequal, tonumber = setmetatable, getmetatable, rawget, rawequal, tonumber;
local error, pcall, unpack = error, pcall, table.unpack or unpack;
local string, table, math, debug = string, table, math, debug;

local M = {};

local this_source = debug.getinfo(1, "S").source;

-- where finds the first stack frame outside this file: the spec line that
-- made the assertion.
local function where()
	for level = 3, 40 do
		local info = debug.getinfo(level, "Sl");
		if not info then break; end
		if info.source ~= this_source and info.currentline and info.currentline > 0 then
			return (info.short_src or (info.source:gsub("^@", ""))) .. ":" .. info.currentline;
		end
	end
	return nil;
end

local failure_mt = {};
failure_mt.__tostring = function (f)
	if rawget(f, "where") then return rawget(f, "where") .. ": " .. rawget(f, "message"); end
	return rawget(f, "message");
end
-- Code that catches a failure with pcall (a library that captured the global
-- assert, say) may treat it as the string luassert raises: err:match(),
-- "..." .. err work on it.
failure_mt.__index = function (f, key)
	local method = string[key];
	if method == nil then return nil; end
	return function (self, ...) return method(tostring(self), ...); end;
end
failure_mt.__concat = function (a, b)
	return tostring(a) .. tostring(b);
end
M.failure_mt = failure_mt;

local function fail(message)
	error(setmetatable({ message = message, where = where() }, failure_mt), 0);
end

---------------------------------------------------------------------------
-- Formatting values the way luassert prints them.

local matcher_mt = {};

-- How deep tables are written, as luassert's TableFormatLevel (default 3,
-- -1 for no limit; assert:set_parameter changes it). The path to a
-- difference is written whatever its depth.
local parameters = { TableFormatLevel = 3 };

local function sorted_keys(t)
	local keys = {};
	for k in pairs(t) do keys[#keys + 1] = k; end
	table.sort(keys, function (a, b)
		local ta, tb = type(a), type(b);
		if ta ~= tb then
			if ta == "number" then return true; end
			if tb == "number" then return false; end
			return ta < tb;
		end
		if ta == "number" or ta == "string" then return a < b; end
		return tostring(a) < tostring(b);
	end);
	return keys;
end

local function format_scalar(v)
	local tv = type(v);
	if tv == "string" then return "'" .. v .. "'"; end
	return tostring(v);
end

-- format_table writes t; crumbs (a list of keys, innermost last) marks the
-- path to the first difference with '*'.
local function format_table(t, crumbs, depth, seen)
	local mark_key = crumbs and crumbs[#crumbs - depth + 1];
	local indent = string.rep(" ", depth * 2);
	local lines = {};
	for _, k in ipairs(sorted_keys(t)) do
		local v = t[k];
		local marked = crumbs and mark_key ~= nil and k == mark_key;
		local prefix = marked and (string.sub(indent, 2) .. "*") or indent;
		local key = "[" .. tostring(k) .. "]";
		local text;
		local max_depth = tonumber(parameters.TableFormatLevel) or 3;
		if type(v) == "table" and getmetatable(v) ~= matcher_mt then
			if seen[v] then
				text = "{ ... recursive }";
			elseif not marked and max_depth >= 0 and depth >= max_depth then
				text = "{ ... more }";
			else
				seen[v] = true;
				text = format_table(v, marked and crumbs or nil, depth + 1, seen);
				seen[v] = nil;
			end
		elseif getmetatable(v) == matcher_mt then
			text = v.description;
		else
			text = format_scalar(v);
		end
		lines[#lines + 1] = prefix .. key .. " = " .. text;
	end
	if #lines == 0 then return "{ }"; end
	return "{\n" .. table.concat(lines, "\n") .. " }";
end

local function format(v, crumbs)
	if v == nil then return "(nil)"; end
	if getmetatable(v) == matcher_mt then return v.description; end
	local tv = type(v);
	if tv == "table" then
		return "(" .. tostring(v) .. ") " .. format_table(v, crumbs, 1, { [v] = true });
	elseif tv == "string" then
		return "(string) '" .. v .. "'";
	elseif tv == "number" or tv == "boolean" then
		return "(" .. tv .. ") " .. tostring(v);
	end
	return tostring(v);
end
M.format = format;

local function format_list(list, n)
	local parts = {};
	for i = 1, n or #list do parts[i] = format(list[i]); end
	return "(values list) (" .. table.concat(parts, ", ") .. ")";
end

---------------------------------------------------------------------------
-- Comparison.

local function is_matcher(v) return getmetatable(v) == matcher_mt; end

-- deep_same compares expected and actual; on a difference it returns false
-- and the key path to it (innermost key first is pushed last).
local function deep_same(expected, actual, crumbs, seen)
	if is_matcher(expected) then return expected.test(actual); end
	if expected == actual then return true; end
	if type(expected) ~= "table" or type(actual) ~= "table" then return false; end
	seen = seen or {};
	if seen[expected] == actual then return true; end
	seen[expected] = actual;
	for k, ev in pairs(expected) do
		if not deep_same(ev, actual[k], crumbs, seen) then
			if crumbs then table.insert(crumbs, 1, k); end
			return false;
		end
	end
	for k in pairs(actual) do
		if expected[k] == nil then
			if crumbs then table.insert(crumbs, 1, k); end
			return false;
		end
	end
	return true;
end
M.deep_same = deep_same;

-- Reverse crumbs for printing: format_table wants the outermost key last.
local function printable(crumbs)
	local out = {};
	for i = #crumbs, 1, -1 do out[#out + 1] = crumbs[i]; end
	return out;
end

local function args_match(expected, n_expected, actual, n_actual)
	if n_expected ~= n_actual then return false; end
	for i = 1, n_expected do
		if not deep_same(expected[i], actual[i]) then return false; end
	end
	return true;
end

local function strip_position(err)
	if type(err) == "string" then
		return (err:gsub("^.-:%d+: ", "", 1));
	end
	if getmetatable(err) == failure_mt then return err.message; end
	return err;
end

---------------------------------------------------------------------------
-- Assertions. Each takes (negated, ...) and returns ok, message; message is
-- what a failure says (the positive or negative wording already chosen).

local assertions = {};
local message_position = {}; -- which argument is the optional message

local function define(names, msg_pos, fn)
	for _, name in ipairs(names) do
		assertions[name] = fn;
		message_position[name] = msg_pos;
	end
end

local function same_message(negated, actual, expected, crumbs, what)
	if negated then
		return "Expected objects to not be " .. what .. ".\nPassed in:\n" .. format(actual) .. "\nDid not expect:\n" .. format(expected);
	end
	return "Expected objects to be " .. what .. ".\nPassed in:\n" .. format(actual, crumbs) .. "\nExpected:\n" .. format(expected, crumbs);
end

define({ "equal", "equals" }, 3, function (negated, expected, actual)
	local ok = expected == actual or (is_matcher(expected) and expected.test(actual));
	return ok, same_message(negated, actual, expected, nil, "equal");
end);

define({ "same" }, 3, function (negated, expected, actual)
	local crumbs = {};
	local ok = deep_same(expected, actual, crumbs);
	crumbs = printable(crumbs);
	return ok, same_message(negated, actual, expected, crumbs, "the same");
end);

define({ "near" }, 4, function (negated, expected, actual, tolerance)
	local ok = type(expected) == "number" and type(actual) == "number"
		and math.abs(actual - expected) <= (tolerance or 0);
	if negated then
		return ok, "Expected values to not be near.\nPassed in:\n" .. format(actual) .. "\nDid not expect:\n" .. format(expected) .. " +/- " .. tostring(tolerance);
	end
	return ok, "Expected values to be near.\nPassed in:\n" .. format(actual) .. "\nExpected:\n" .. format(expected) .. " +/- " .. tostring(tolerance);
end);

define({ "matches", "match" }, 5, function (negated, pattern, actual, init, plain)
	local s = actual;
	if type(s) == "number" then s = tostring(s); end
	local ok = type(s) == "string" and string.find(s, pattern, init, plain) ~= nil;
	if negated then
		return ok, "Expected strings not to match.\nPassed in:\n" .. format(actual) .. "\nDid not expect:\n" .. format(pattern);
	end
	return ok, "Expected strings to match.\nPassed in:\n" .. format(actual) .. "\nExpected:\n" .. format(pattern);
end);

define({ "unique" }, 3, function (negated, list, deep)
	local ok = true;
	for i = 1, #list do
		for j = i + 1, #list do
			if list[i] == list[j] or (deep and deep_same(list[i], list[j])) then ok = false; end
		end
	end
	if negated then return ok, "Expected object to not be unique:\n" .. format(list); end
	return ok, "Expected object to be unique:\n" .. format(list);
end);

-- holes: assert.array(t).has.holes([length]) / .has.no.holes(): a nil
-- among t[1..length] (length: the largest integer key when not given).
define({ "holes" }, 3, function (negated, list, length)
	if length == nil then
		length = 0;
		for k in pairs(list) do
			if type(k) == "number" and k == math.floor(k) and k > length then length = k; end
		end
	end
	local hole;
	for i = 1, length do
		if list[i] == nil then hole = i; break; end
	end
	if negated then return hole ~= nil, "Expected array to not have holes, hole found at position: " .. tostring(hole); end
	return hole ~= nil, "Expected array to have holes, but none was found.";
end);

define({ "truthy" }, 2, function (negated, v)
	if negated then return not not v, "Expected to not be truthy, but value was:\n" .. format(v); end
	return not not v, "Expected to be truthy, but value was:\n" .. format(v);
end);

define({ "falsy" }, 2, function (negated, v)
	if negated then return not v, "Expected to not be falsy, but value was:\n" .. format(v); end
	return not v, "Expected to be falsy, but value was:\n" .. format(v);
end);

for _, literal in ipairs({ { "true", true }, { "false", false } }) do
	define({ literal[1] }, 2, function (negated, v)
		return v == literal[2], same_message(negated, v, literal[2], nil, "the same");
	end);
end

-- The type checks print like luassert's: "Expected: type string".
local type_names = { "nil", "string", "number", "table", "function", "boolean", "userdata", "thread" };
for _, tname in ipairs(type_names) do
	local expected = setmetatable({ description = "type " .. tname, test = function () end }, matcher_mt);
	define({ tname }, 2, function (negated, v)
		return type(v) == tname, same_message(negated, v, expected, nil, "the same");
	end);
end

define({ "error", "errors" }, 3, function (negated, fn, expected)
	if type(fn) ~= "function" and not (getmetatable(fn) and getmetatable(fn).__call) then
		return false, "bad argument #1 to 'error' (function expected, got " .. type(fn) .. ")";
	end
	local ok, err = pcall(fn);
	if negated then
		if ok then return false, ""; end
		return true, "Expected no error, but caught:\n" .. format(strip_position(err));
	end
	if ok then
		return false, "Expected a different error.\nCaught:\n(nil)\nExpected:\n" .. format(expected);
	end
	if expected == nil then return true, ""; end
	local caught = strip_position(err);
	return deep_same(expected, caught), "Expected a different error.\nCaught:\n" .. format(caught) .. "\nExpected:\n" .. format(expected);
end);

define({ "error_matches", "error_match" }, 6, function (negated, fn, pattern, init, plain)
	local ok, err = pcall(fn);
	local caught = strip_position(err);
	if ok then
		return false, "Expected a different error.\nCaught:\n(nil)\nExpected:\n" .. format(pattern);
	end
	local matched = type(caught) == "string" and string.find(caught, pattern, init, plain) ~= nil;
	return matched, "Expected a different error.\nCaught:\n" .. format(caught) .. "\nExpected:\n" .. format(pattern);
end);

define({ "returned_arguments" }, nil, function (negated, n, ...)
	local got = select("#", ...);
	if negated then
		return got == n, "Expected not to be called with " .. tostring(n) .. " argument(s), but was called with " .. got;
	end
	return got == n, "Expected to be called with " .. tostring(n) .. " argument(s), but was called with " .. got;
end);

-- Spy assertions: the spy is the first argument (assert.spy(s) puts it there).
local spy_mt;
local function check_spy(s)
	if getmetatable(s) ~= spy_mt then
		error("assertion needs a spy or stub as its first argument, got " .. type(s), 0);
	end
end

define({ "called" }, nil, function (negated, s, times)
	check_spy(s);
	local n = #s.calls;
	if times == nil then
		if negated then return n > 0, "Expected not to be called, but it was called " .. n .. " time(s)"; end
		return n > 0, "Expected to be called at least once, but was called 0 time(s)";
	end
	if negated then return n == times, "Expected not to be called exactly " .. times .. " time(s), but it was."; end
	return n == times, "Expected to be called " .. times .. " time(s), but was called " .. n .. " time(s)";
end);

local function count_check(name, cmp, wording)
	define({ name }, nil, function (negated, s, times)
		check_spy(s);
		local n = #s.calls;
		return cmp(n, times), "Expected to be called " .. wording .. " " .. times .. " time(s), but was called " .. n .. " time(s)";
	end);
end
count_check("called_at_least", function (n, t) return n >= t; end, "at least");
count_check("called_at_most", function (n, t) return n <= t; end, "at most");
count_check("called_more_than", function (n, t) return n > t; end, "more than");
count_check("called_less_than", function (n, t) return n < t; end, "less than");

local function with_check(name, list_field, positive, negative)
	define({ name }, nil, function (negated, s, ...)
		check_spy(s);
		local expected, n = { ... }, select("#", ...);
		local found;
		for _, entry in ipairs(s[list_field]) do
			if args_match(expected, n, entry.vals, entry.n) then found = entry; end
		end
		local shown = found or s[list_field][#s[list_field]] or { vals = {}, n = 0 };
		local got = format_list(shown.vals, shown.n);
		if negated then
			return found ~= nil, negative .. got .. "\nDid not expect:\n" .. format_list(expected, n);
		end
		return found ~= nil, positive .. got .. "\nExpected:\n" .. format_list(expected, n);
	end);
end
with_check("called_with", "calls",
	"Function was never called with matching arguments.\nCalled with (last call if any):\n",
	"Function was called with matching arguments at least once.\nCalled with (last matching call):\n");
with_check("returned_with", "returnvals",
	"Function never returned matching arguments.\nReturned (last call if any):\n",
	"Function returned matching arguments at least once.\nReturned (last matching call):\n");

---------------------------------------------------------------------------
-- The assert chain: assert.are.same, assert.is_not.equal, assert.has_no.errors,
-- assert.is_not_nil, assert.spy(s).was.called(1) …

local modifiers = {
	is = false, are = false, was = false, has = false, does = false, be = false, been = false, at = false,
	["not"] = true, no = true,
};

local chain_mt = {};

local function new_chain(negated, subject, has_subject)
	return setmetatable({ negated = negated, subject = subject, has_subject = has_subject }, chain_mt);
end

local function assertion_function(chain, name)
	local check = assertions[name];
	local msg_pos = message_position[name];
	return function (...)
		local n = select("#", ...);
		local args = { ... };
		if rawget(chain, "has_subject") then
			table.insert(args, 1, rawget(chain, "subject"));
			n = n + 1;
		end
		local negated = rawget(chain, "negated");
		local ok, message = check(negated, unpack(args, 1, n));
		if negated then ok = not ok; end
		if not ok then
			local custom = msg_pos and args[msg_pos];
			if custom ~= nil then
				message = tostring(custom) .. "\n" .. message;
			end
			fail(message);
		end
		return ...;
	end;
end

-- resolve turns one key (maybe "is_not_nil") into a chain or an assertion.
-- Keys are read in lower case, as luassert does (assert.Function, …).
local function resolve(chain, key)
	key = string.lower(key);
	if key == "" then return chain; end
	if assertions[key] then
		return assertion_function(chain, key);
	end
	local negated, subject, has_subject = rawget(chain, "negated"), rawget(chain, "subject"), rawget(chain, "has_subject");
	local flip = modifiers[key];
	if flip ~= nil then
		return new_chain(negated ~= flip, subject, has_subject);
	end
	local head, rest = string.match(key, "^([%a]+)_(.*)$");
	if head and modifiers[head] ~= nil then
		local next_chain = new_chain(negated ~= modifiers[head], subject, has_subject);
		return resolve(next_chain, rest);
	end
	return nil;
end

-- A chain of modifiers only, called (assert.is_(v), assert.is(v)), checks
-- nothing and passes, as in luassert.
chain_mt.__call = function (chain) return chain; end;

chain_mt.__index = function (chain, key)
	local found = resolve(chain, key);
	if found == nil then
		error("luassert: unknown modifier/assertion: '" .. tostring(key) .. "'", 2);
	end
	return found;
end

local assert_table = {};
local root_chain = new_chain(false);

setmetatable(assert_table, {
	__index = function (_, key)
		return root_chain[key];
	end;
	-- assert(v, msg, ...) still works as Lua's assert does.
	__call = function (_, v, message, ...)
		if not v then
			if message ~= nil and type(message) ~= "string" then
				error(message, 2);
			end
			fail(message or "assertion failed!");
		end
		return v, message, ...;
	end;
});

function assert_table.spy(s) return new_chain(false, s, true); end
function assert_table.array(t) return new_chain(false, t, true); end
assert_table.stub = assert_table.spy;

-- assert:set_parameter("TableFormatLevel", n) as in luassert; other
-- parameters are accepted and remembered only.
function assert_table:set_parameter(name, value) parameters[name] = value; end
function assert_table:get_parameter(name) return parameters[name]; end

M.assert = assert_table;

---------------------------------------------------------------------------
-- Spies and stubs.

spy_mt = {};
local spy_methods = {};
-- Methods work called either way, s:returns(1) or s.returns(1), as luassert's do.
spy_mt.__index = function (s, key)
	local method = spy_methods[key];
	if not method then return nil; end
	return function (first, ...)
		if rawequal(first, s) then return method(s, ...); end
		return method(s, first, ...);
	end;
end;

local function record(list, ...)
	list[#list + 1] = { vals = { ... }, n = select("#", ...) };
end

spy_mt.__call = function (s, ...)
	record(s.calls, ...);
	local function returning(...)
		record(s.returnvals, ...);
		return ...;
	end
	if s.callback then
		return returning(s.callback(...));
	end
	return returning();
end


function spy_methods:clear()
	self.calls, self.returnvals = {}, {};
	return self;
end

function spy_methods:revert()
	if self.target then
		self.target[self.method] = self.original;
		self.target = nil;
	end
	return self;
end

function spy_methods:called(times)
	if times == nil then return #self.calls > 0; end
	return #self.calls == times;
end

-- called_with and returned_with take the arguments as a list, as luassert's.
function spy_methods:called_with(expected)
	local n = expected.n or #expected;
	for _, entry in ipairs(self.calls) do
		if args_match(expected, n, entry.vals, entry.n) then return true; end
	end
	return false;
end

function spy_methods:returned_with(expected)
	local n = expected.n or #expected;
	for _, entry in ipairs(self.returnvals) do
		if args_match(expected, n, entry.vals, entry.n) then return true; end
	end
	return false;
end

-- Stub behaviour: what the stand-in does when called.
function spy_methods:returns(...)
	local values, n = { ... }, select("#", ...);
	self.callback = function () return unpack(values, 1, n); end;
	return self;
end

function spy_methods:invokes(fn)
	self.callback = fn;
	return self;
end

local function new_spy(callback)
	return setmetatable({ callback = callback, calls = {}, returnvals = {} }, spy_mt);
end

local spy = {};
function spy.new(callback) return new_spy(callback); end
function spy.on(target, method)
	local s = new_spy(target[method]);
	s.target, s.method, s.original = target, method, target[method];
	target[method] = s;
	return s;
end
function spy.is_spy(v) return getmetatable(v) == spy_mt; end
setmetatable(spy, { __call = function (_, callback) return new_spy(callback); end });
M.spy = spy;

local stub = {};
-- stub.new(target, method, ...) replaces target[method] with a function that
-- returns ...; stub.new() alone is an anonymous stub.
function stub.new(target, method, ...)
	local s = new_spy(nil);
	if select("#", ...) > 0 then s:returns(...); end
	if target ~= nil and method ~= nil then
		s.target, s.method, s.original = target, method, target[method];
		target[method] = s;
	end
	return s;
end
setmetatable(stub, { __call = function (_, ...) return stub.new(...); end });
M.stub = stub;

---------------------------------------------------------------------------
-- Matchers, for called_with and same: match._, match.is_string(), …

local function matcher(description, test)
	return setmetatable({ description = description, test = test }, matcher_mt);
end

local match = {};
match._ = matcher("match._", function () return true; end);

local simple = {
	_ = function () return true; end,
	["nil"] = function (v) return v == nil; end,
	truthy = function (v) return not not v; end,
	falsy = function (v) return not v; end,
	["true"] = function (v) return v == true; end,
	["false"] = function (v) return v == false; end,
};
for _, tname in ipairs(type_names) do
	simple[tname] = function (v) return type(v) == tname; end;
end

local valued = {
	equal = function (want) return function (v) return v == want; end; end,
	same = function (want) return function (v) return deep_same(want, v); end; end,
	ref = function (want) return function (v) return rawequal(v, want); end; end,
	matches = function (pattern, init, plain)
		return function (v) return type(v) == "string" and string.find(v, pattern, init, plain) ~= nil; end;
	end,
};
valued.equals, valued.match, valued.is_ref = valued.equal, valued.matches, valued.ref;

local function match_lookup(negated, key)
	local head, rest = string.match(key, "^([%a]+)_(.+)$");
	if head and modifiers[head] ~= nil and not simple[key] and not valued[key] then
		return match_lookup(negated ~= modifiers[head], rest);
	end
	local predicate = simple[key];
	local make = valued[key];
	if not predicate and not make then return nil; end
	return function (...)
		local test = predicate or make(...);
		local description = "match." .. (negated and "is_not_" or "is_") .. key .. "()";
		return matcher(description, function (v)
			local ok = test(v) and true or false;
			if negated then return not ok; end
			return ok;
		end);
	end;
end

setmetatable(match, { __index = function (_, key)
	local found = match_lookup(false, key);
	if not found then error("luassert: unknown matcher '" .. tostring(key) .. "'", 2); end
	return found;
end });
M.match = match;
M.is_matcher = is_matcher;

-- mock(t) spies on every function in t (deeply); mock(t, true) stubs them.
function M.mock(t, use_stubs, seen)
	seen = seen or {};
	if seen[t] then return t; end
	seen[t] = true;
	for k, v in pairs(t) do
		if type(v) == "function" then
			if use_stubs then stub.new(t, k); else spy.on(t, k); end
		elseif type(v) == "table" and not spy.is_spy(v) then
			M.mock(v, use_stubs, seen);
		end
	end
	return t;
end

return M;
