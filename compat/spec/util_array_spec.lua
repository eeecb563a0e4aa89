-- Behaviour of util.array. Runs under busted against Prosody's library and
-- modhost's. Arrays with holes are only tested where Lua 5.1 and 5.4 agree
-- on the length.

local array = require "util.array";

-- plain copies an array's elements into a table without the metatable, so
-- are.same compares contents only.
local function plain(a)
	local t = {};
	for i = 1, #a do t[i] = a[i]; end
	return t;
end

describe("util.array", function ()
	describe("construction", function ()
		it("array(t) turns t itself into an array", function ()
			local t = { 1, 2, 3 };
			local a = array(t);
			assert.are.equal(t, a);
			assert.are.equal(3, a:length());
		end);

		it("array() is empty", function ()
			local a = array();
			assert.are.equal(0, #a);
			assert.are.equal("{}", tostring(a));
		end);

		it("array(iterator) collects the first value of each step", function ()
			local a = array(("a,b,c"):gmatch("[^,]+"));
			assert.are.same({ "a", "b", "c" }, plain(a));
			assert.are.same({ "x" }, plain(array.collect(("x"):gmatch("x"))));
		end);

		it("prints as {a, b}", function ()
			assert.are.equal("{1, two, true}", tostring(array({ 1, "two", true })));
		end);
	end);

	describe("two forms of each transformation", function ()
		it("array.map returns a new array, a:map changes a", function ()
			local a = array({ 1, 2, 3 });
			local b = array.map(a, function (x) return x * 2; end);
			assert.are.same({ 2, 4, 6 }, plain(b));
			assert.are.same({ 1, 2, 3 }, plain(a));
			assert.are.equal(a, a:map(function (x) return x + 1; end));
			assert.are.same({ 2, 3, 4 }, plain(a));
			assert.are.equal("{4, 6, 8}", tostring(array.map(a, function (x) return x * 2; end)));
		end);

		it("filter keeps what the predicate accepts, in order", function ()
			local a = array({ 1, 2, 3, 4, 5 });
			local odd = function (x) return x % 2 == 1; end;
			assert.are.same({ 1, 3, 5 }, plain(array.filter(a, odd)));
			a:filter(odd);
			assert.are.same({ 1, 3, 5 }, plain(a));
			assert.are.equal(3, #a);
			assert.is_nil(a[4]);
		end);

		it("filter can empty an array", function ()
			local a = array({ 1, 2 }):filter(function () return false; end);
			assert.are.equal(0, #a);
		end);

		it("sort sorts, with an optional comparison", function ()
			local a = array({ 3, 1, 2 });
			assert.are.same({ 1, 2, 3 }, plain(array.sort(a)));
			assert.are.same({ 3, 1, 2 }, plain(a));
			a:sort(function (x, y) return x > y; end);
			assert.are.same({ 3, 2, 1 }, plain(a));
		end);

		it("unique keeps the first of each value", function ()
			local a = array({ "b", "a", "b", "c", "a" });
			assert.are.same({ "b", "a", "c" }, plain(array.unique(a)));
			a:unique();
			assert.are.same({ "b", "a", "c" }, plain(a));
		end);

		it("pluck takes one field of each element, with a default", function ()
			local a = array({ { n = 1 }, { n = 2 }, {} });
			assert.are.same({ 1, 2, "none" }, plain(array.pluck(a, "n", "none")));
			a:pluck("n");
			assert.are.same({ 1, 2 }, plain(a));
		end);

		it("reverse reverses odd and even lengths", function ()
			assert.are.same({ 3, 2, 1 }, plain(array.reverse(array({ 1, 2, 3 }))));
			local a = array({ 1, 2, 3, 4 });
			a:reverse();
			assert.are.same({ 4, 3, 2, 1 }, plain(a));
			assert.are.same({}, plain(array():reverse()));
		end);

		it("slice takes ranges, counting negative positions from the end", function ()
			local a = array({ "a", "b", "c", "d", "e" });
			assert.are.same({ "b", "c" }, plain(array.slice(a, 2, 3)));
			assert.are.same({ "d", "e" }, plain(array.slice(a, -2)));
			assert.are.same({ "a", "b", "c", "d" }, plain(array.slice(a, 1, -2)));
			assert.are.same({ "a", "b", "c", "d", "e" }, plain(array.slice(a, 0, 99)));
			assert.are.same({}, plain(array.slice(a, 4, 2)));
			a:slice(2, 4);
			assert.are.same({ "b", "c", "d" }, plain(a));
			a:slice(3, 1);
			assert.are.equal(0, #a);
		end);
	end);

	describe("in-place methods", function ()
		it("push appends and returns the array; pop removes the last", function ()
			local a = array();
			assert.are.equal(a, a:push("x"):push("y"));
			assert.are.same({ "x", "y" }, plain(a));
			assert.are.equal("y", a:pop());
			assert.are.same({ "x" }, plain(a));
		end);

		it("pop takes a position like table.remove", function ()
			local a = array({ "a", "b", "c" });
			assert.are.equal("a", a:pop(1));
			assert.are.same({ "b", "c" }, plain(a));
		end);

		it("append adds another array's elements", function ()
			local a = array({ 1 });
			assert.are.equal(a, a:append({ 2, 3 }));
			assert.are.same({ 1, 2, 3 }, plain(a));
			a:append({});
			assert.are.equal(3, a:length());
		end);

		it("shuffle keeps the same elements", function ()
			local a = array({ 1, 2, 3, 4, 5, 6 });
			assert.are.equal(a, a:shuffle());
			assert.are.same({ 1, 2, 3, 4, 5, 6 }, plain(array.sort(a)));
		end);
	end);

	describe("reading", function ()
		it("concat converts elements with tostring", function ()
			assert.are.equal("1-a-false", array({ 1, "a", false }):concat("-"));
			assert.are.equal("", array():concat(","));
		end);

		it("random returns an element", function ()
			local a = array({ "x", "y", "z" });
			for _ = 1, 20 do
				local r = a:random();
				assert.truthy(r == "x" or r == "y" or r == "z");
			end
			assert.are.equal("only", array({ "only" }):random());
		end);

		it("random_other never returns the excluded element", function ()
			local a = array({ "x", "y", "z" });
			for _ = 1, 30 do
				assert.are_not.equal("y", a:random_other(2));
			end
		end);

		it("length is #", function ()
			assert.are.equal(0, array():length());
			assert.are.equal(2, array({ "a", "b" }):length());
		end);
	end);

	describe("operators", function ()
		it("+ concatenates into a new array", function ()
			local a, b = array({ 1, 2 }), array({ 3 });
			local c = a + b;
			assert.are.same({ 1, 2, 3 }, plain(c));
			assert.are.same({ 1, 2 }, plain(a));
			assert.are.equal("{1, 2, 3}", tostring(c));
		end);

		it("/ maps, dropping nil results", function ()
			local a = array({ 1, 2, 3, 4 }) / function (x) if x % 2 == 0 then return x; end end;
			assert.are.same({ 2, 4 }, plain(a));
			assert.are.equal("{2, 4}", tostring(a));
		end);

		it("== compares elements", function ()
			assert.truthy(array({ 1, 2 }) == array({ 1, 2 }));
			assert.falsy(array({ 1, 2 }) == array({ 2, 1 }));
			assert.falsy(array({ 1 }) == array({ 1, 1 }));
			assert.truthy(array() == array());
		end);
	end);
end);
