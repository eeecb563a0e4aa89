-- util.promise: promises as Prosody 0.12 plugins use them.
--
-- Timing follows Prosody 0.12: an executor (and so the attaching of a :next
-- handler) runs through `next_tick`, which is a plain call until someone
-- installs a scheduler with set_nexttick (Prosody's startup, and modhost's
-- host, defer it to the event loop). When a pending promise settles, the
-- handlers already attached run at once, in the order they were attached.

local setmetatable, getmetatable = setmetatable, getmetatable;
local pairs, ipairs, select, type = pairs, ipairs, select, type;
local xpcall = xpcall;
local traceback = debug.traceback;
local unpack = table.unpack or unpack; -- luacheck: ignore 113

local methods = {};
local promise_mt = { __name = "promise", __index = methods };

function promise_mt:__tostring()
	return "promise (" .. (self._state or "invalid") .. ")";
end

local function is_promise(o)
	return getmetatable(o) == promise_mt;
end

local function run_now(f)
	f();
end
local next_tick = run_now;

-- with_traceback adds a traceback to string errors and keeps any other
-- error value (a util.error object, say) as it is, as Lua's own
-- debug.traceback does and gopher-lua's does not.
local function with_traceback(err)
	if type(err) ~= "string" then
		return err;
	end
	return traceback(err, 2);
end

-- protect calls fn(arg) and reports (true, result) or (false, error).
-- Lua 5.1's xpcall takes no arguments for fn, hence the closure.
local function protect(fn, arg)
	return xpcall(function () return fn(arg); end, with_traceback);
end

-- reaction returns the function to run when a promise settles: it feeds the
-- handler's outcome into the chained promise, or passes the value through
-- (`passthrough` is that promise's resolve or reject) when there is none.
-- Any value but nil and false is a handler and gets called, as in
-- Prosody: a callable table (a spy, say) is one too.
local function reaction(handler, passthrough, resolve, reject)
	if not handler then
		return passthrough;
	end
	return function (value)
		local ok, result = protect(handler, value);
		if ok then
			resolve(result);
		else
			reject(result);
		end
	end;
end

local function settle(p, state, value)
	if p._state ~= "pending" then
		return;
	end
	local waiting = p._waiting;
	p._waiting = nil;
	p._state = state;
	if state == "fulfilled" then
		p.value = value;
	else
		p.reason = value;
	end
	for _, w in ipairs(waiting) do
		w[state](value);
	end
end

-- attach runs on the chained promise's tick: handlers of an already settled
-- promise run there and then, others wait for the settlement.
local function attach(p, on_fulfilled, on_rejected, resolve, reject)
	local w = {
		fulfilled = reaction(on_fulfilled, resolve, resolve, reject);
		rejected = reaction(on_rejected, reject, resolve, reject);
	};
	if p._state == "pending" then
		p._waiting[#p._waiting + 1] = w;
	elseif p._state == "fulfilled" then
		w.fulfilled(p.value);
	else
		w.rejected(p.reason);
	end
end

-- resolvers returns the resolve and reject functions handed to an executor;
-- only the first call of either counts. Resolving with a promise adopts it.
local function resolvers(p)
	local done = false;
	local resolve, reject;
	function resolve(value)
		if done then return; end
		done = true;
		if is_promise(value) then
			local inner_resolve, inner_reject = resolvers(p);
			value:next(inner_resolve, inner_reject);
		else
			settle(p, "fulfilled", value);
		end
	end
	function reject(reason)
		if done then return; end
		done = true;
		settle(p, "rejected", reason);
	end
	return resolve, reject;
end

local function new(executor)
	local p = setmetatable({ _state = "pending", _waiting = {} }, promise_mt);
	if executor then
		next_tick(function ()
			local resolve, reject = resolvers(p);
			local ok, err = xpcall(function () executor(resolve, reject); end, with_traceback);
			if not ok and p._state == "pending" then
				reject(err);
			end
		end);
	end
	return p;
end

function methods:next(on_fulfilled, on_rejected)
	local parent = self;
	return new(function (resolve, reject)
		attach(parent, on_fulfilled, on_rejected, resolve, reject);
	end);
end

function methods:catch(on_rejected)
	return self:next(nil, on_rejected);
end

local function resolved(value)
	return new(function (resolve) resolve(value); end);
end

local function rejected(reason)
	return new(function (_, reject) reject(reason); end);
end

function methods:finally(on_finally)
	return self:next(function (value)
		on_finally();
		return value;
	end, function (reason)
		on_finally();
		return rejected(reason);
	end);
end

-- gather settles once every promise among the values of `promises` has;
-- other values are copied into the results as they are. record_value and
-- record_reason store one outcome; without record_reason the first
-- rejection rejects the lot.
local function gather(promises, record_value, record_reason)
	return new(function (resolve, reject)
		local results, total, count, counted_all = {}, 0, 0, false;
		local function one_done()
			count = count + 1;
			if counted_all and count == total then
				resolve(results);
			end
		end
		for key, v in pairs(promises) do
			if is_promise(v) then
				total = total + 1;
				v:next(function (value)
					record_value(results, key, value);
					one_done();
				end, function (reason)
					if record_reason then
						record_reason(results, key, reason);
						one_done();
					else
						reject(reason);
					end
				end);
			else
				results[key] = v;
			end
		end
		counted_all = true;
		if count == total then
			resolve(results);
		end
	end);
end

local function all(promises)
	return gather(promises, function (results, key, value)
		results[key] = value;
	end);
end

local function all_settled(promises)
	return gather(promises, function (results, key, value)
		results[key] = { status = "fulfilled", value = value };
	end, function (results, key, reason)
		results[key] = { status = "rejected", reason = reason };
	end);
end

local function join(handler, ...)
	local n = select("#", ...);
	return all({ ... }):next(function (results)
		return handler(unpack(results, 1, n));
	end);
end

local function race(promises)
	return new(function (resolve, reject)
		for i = 1, #promises do
			promises[i]:next(resolve, reject);
		end
	end);
end

local function try(f)
	return resolved():next(function () return f(); end);
end

return {
	new = new;
	resolve = resolved;
	reject = rejected;
	all = all;
	all_settled = all_settled;
	join = join;
	race = race;
	try = try;
	is_promise = is_promise;
	set_nexttick = function (f) next_tick = f or run_now; end;
};
