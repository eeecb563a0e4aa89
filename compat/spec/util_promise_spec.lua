-- Behaviour of util.promise as Prosody 0.12 ships it, with the library's
-- default (synchronous) next_tick, as under plain busted.
local promise = require "util.promise";

-- settled_value returns what p settled with, as state and value.
local function outcome(p)
	local state, value = "pending", nil;
	p:next(function (v) state, value = "fulfilled", v; end,
		function (e) state, value = "rejected", e; end);
	return state, value;
end

describe("util.promise", function ()
	describe("new", function ()
		it("fulfils with what the executor resolves", function ()
			local p = promise.new(function (resolve) resolve("yes"); end);
			assert.same({ "fulfilled", "yes" }, { outcome(p) });
		end);

		it("rejects with what the executor rejects", function ()
			local p = promise.new(function (_, reject) reject("no"); end);
			assert.same({ "rejected", "no" }, { outcome(p) });
		end);

		it("rejects with the error, traceback attached, when the executor throws", function ()
			local p = promise.new(function () error("boom"); end);
			local state, err = outcome(p);
			assert.equal("rejected", state);
			assert.truthy(tostring(err):find("boom", 1, true));
			assert.truthy(tostring(err):find("traceback", 1, true));
		end);

		it("counts only the first of resolve and reject", function ()
			local p = promise.new(function (resolve, reject)
				resolve(1); resolve(2); reject(3);
			end);
			assert.same({ "fulfilled", 1 }, { outcome(p) });
		end);

		it("ignores an error thrown after resolving", function ()
			local p = promise.new(function (resolve) resolve("kept"); error("late"); end);
			assert.same({ "fulfilled", "kept" }, { outcome(p) });
		end);

		it("runs the executor at once by default", function ()
			local ran = false;
			promise.new(function () ran = true; end);
			assert.is_true(ran);
		end);

		it("adopts the state of a promise it is resolved with", function ()
			local inner_resolve;
			local inner = promise.new(function (resolve) inner_resolve = resolve; end);
			local p = promise.new(function (resolve) resolve(inner); end);
			assert.equal("pending", (outcome(p)));
			inner_resolve("late");
			assert.same({ "fulfilled", "late" }, { outcome(p) });
		end);

		it("stays pending without an executor", function ()
			assert.equal("pending", (outcome(promise.new())));
		end);
	end);

	describe(":next", function ()
		it("runs waiting handlers in the order they were attached, when it settles", function ()
			local resolve;
			local p = promise.new(function (r) resolve = r; end);
			local seen = {};
			p:next(function (v) seen[#seen + 1] = "a" .. v; end);
			p:next(function (v) seen[#seen + 1] = "b" .. v; end);
			assert.same({}, seen);
			resolve(1);
			assert.same({ "a1", "b1" }, seen);
		end);

		it("chains the handler's return value", function ()
			local p = promise.resolve(2):next(function (v) return v * 10; end);
			assert.same({ "fulfilled", 20 }, { outcome(p) });
		end);

		it("rejects with a non-string error exactly as thrown", function ()
			local thrown = { condition = "item-not-found" };
			local state, err = outcome(promise.resolve(1):next(function () error(thrown); end));
			assert.equal("rejected", state);
			assert.equal(thrown, err);
			state, err = outcome(promise.new(function () error(thrown); end));
			assert.equal("rejected", state);
			assert.equal(thrown, err);
		end);

		it("turns an error in a handler into a rejection", function ()
			local p = promise.resolve(1):next(function () error("bad handler"); end);
			local state, err = outcome(p);
			assert.equal("rejected", state);
			assert.truthy(tostring(err):find("bad handler", 1, true));
		end);

		it("passes values and reasons through when a handler is missing", function ()
			assert.same({ "fulfilled", "v" }, { outcome(promise.resolve("v"):next()) });
			assert.same({ "rejected", "e" }, { outcome(promise.reject("e"):next(function () end)) });
		end);

		it("recovers from a rejection with the rejection handler's value", function ()
			local p = promise.reject("e"):next(nil, function (e) return "fixed " .. e; end);
			assert.same({ "fulfilled", "fixed e" }, { outcome(p) });
		end);

		it("follows a promise returned by a handler", function ()
			local p = promise.resolve(1):next(function () return promise.reject("inner"); end);
			assert.same({ "rejected", "inner" }, { outcome(p) });
		end);
	end);

	describe(":catch and :finally", function ()
		it("catch handles rejections only", function ()
			assert.same({ "fulfilled", "e!" }, { outcome(promise.reject("e"):catch(function (e) return e .. "!"; end)) });
			assert.same({ "fulfilled", "v" }, { outcome(promise.resolve("v"):catch(function () return "no"; end)) });
		end);

		it("finally runs either way and keeps the outcome", function ()
			local runs = 0;
			local function count() runs = runs + 1; return "ignored"; end
			assert.same({ "fulfilled", "v" }, { outcome(promise.resolve("v"):finally(count)) });
			assert.same({ "rejected", "e" }, { outcome(promise.reject("e"):finally(count)) });
			assert.equal(2, runs);
		end);
	end);

	describe("all", function ()
		it("fulfils with every value by key, copying non-promises", function ()
			-- (a keyed call last in a constructor hits a gopher-lua bug that
			-- also stores it at the next array index, hence this order)
			local p = promise.all({ x = promise.resolve("b"), promise.resolve("a"), "plain" });
			assert.same({ "fulfilled", { "a", "plain", x = "b" } }, { outcome(p) });
		end);

		it("fulfils with an empty table for no promises", function ()
			assert.same({ "fulfilled", {} }, { outcome(promise.all({})) });
		end);

		it("rejects with the first rejection", function ()
			local p = promise.all({ promise.resolve(1), promise.reject("first"), promise.reject("second") });
			assert.same({ "rejected", "first" }, { outcome(p) });
		end);

		it("waits for pending promises", function ()
			local resolve;
			local p = promise.all({ promise.new(function (r) resolve = r; end), promise.resolve(2) });
			assert.equal("pending", (outcome(p)));
			resolve(1);
			assert.same({ "fulfilled", { 1, 2 } }, { outcome(p) });
		end);
	end);

	describe("all_settled", function ()
		it("reports each outcome and never rejects", function ()
			local p = promise.all_settled({ promise.resolve(1), promise.reject("e"), "plain" });
			assert.same({ "fulfilled", {
				{ status = "fulfilled", value = 1 },
				{ status = "rejected", reason = "e" },
				"plain",
			} }, { outcome(p) });
		end);
	end);

	describe("race", function ()
		it("settles like the first promise to settle", function ()
			local resolve_slow;
			local slow = promise.new(function (r) resolve_slow = r; end);
			local p = promise.race({ slow, promise.reject("fast") });
			resolve_slow("slow");
			assert.same({ "rejected", "fast" }, { outcome(p) });
		end);
	end);

	describe("resolve, reject, try, join", function ()
		it("resolve and reject make settled promises", function ()
			assert.same({ "fulfilled", 1 }, { outcome(promise.resolve(1)) });
			assert.same({ "rejected", 2 }, { outcome(promise.reject(2)) });
		end);

		it("try fulfils with the function's result", function ()
			assert.same({ "fulfilled", 42 }, { outcome(promise.try(function () return 42; end)) });
		end);

		it("try rejects when the function throws", function ()
			local state, err = outcome(promise.try(function () error("tried"); end));
			assert.equal("rejected", state);
			assert.truthy(tostring(err):find("tried", 1, true));
		end);

		it("join calls the handler with every value in order", function ()
			local p = promise.join(function (a, b, c) return a .. b .. c; end,
				promise.resolve("x"), promise.resolve("y"), promise.resolve("z"));
			assert.same({ "fulfilled", "xyz" }, { outcome(p) });
		end);
	end);

	describe("is_promise and tostring", function ()
		it("recognises promises only", function ()
			assert.is_true(promise.is_promise(promise.new()));
			assert.is_false(promise.is_promise({}));
			assert.is_false(promise.is_promise(nil));
		end);

		it("names the state", function ()
			assert.equal("promise (pending)", tostring(promise.new()));
			assert.equal("promise (fulfilled)", tostring(promise.resolve(1)));
			assert.equal("promise (rejected)", tostring(promise.reject(1)));
		end);
	end);

	describe("handlers", function ()
		it("may be callable tables, spies among them", function ()
			local seen = {};
			local handler = setmetatable({}, { __call = function (_, v) seen[#seen + 1] = v; return v .. "!"; end });
			local result;
			promise.resolve("a"):next(handler):next(function (v) result = v; end);
			promise.reject("b"):next(nil, handler);
			local cb = spy.new(function () end);
			promise.resolve("c"):next(cb);
			assert.same({ "a", "b" }, seen);
			assert.equal("a!", result);
			assert.spy(cb).was_called(1);
		end);

		it("false means none, as nil does", function ()
			local result;
			promise.resolve("through"):next(false):next(function (v) result = v; end);
			assert.equal("through", result);
		end);
	end);

	describe("set_nexttick", function ()
		after_each(function ()
			promise.set_nexttick(function (f) f(); end);
		end);

		it("defers executors and so the handlers of settled promises", function ()
			local queue = {};
			promise.set_nexttick(function (f) queue[#queue + 1] = f; end);
			local seen;
			promise.resolve("later"):next(function (v) seen = v; end);
			assert.is_nil(seen);
			local i = 1;
			while queue[i] do queue[i](); i = i + 1; end
			assert.equal("later", seen);
		end);

		it("runs waiting handlers at once when a deferred promise settles", function ()
			local queue = {};
			promise.set_nexttick(function (f) queue[#queue + 1] = f; end);
			local resolve, seen;
			promise.new(function (r) resolve = r; end):next(function (v) seen = v; end);
			local i = 1;
			while queue[i] do queue[i](); i = i + 1; end
			assert.is_nil(seen);
			resolve("now");
			assert.equal("now", seen);
		end);
	end);
end);
