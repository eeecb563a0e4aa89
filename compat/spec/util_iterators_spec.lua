-- Behaviour of util.iterators. Runs under busted against Prosody's library
-- and modhost's; iteration over hash tables is sorted before comparing.

local iter = require "util.iterators";

local function collect(f, s, var)
	local out = {};
	for a, b in f, s, var do
		out[#out + 1] = b == nil and a or { a, b };
	end
	return out;
end

local function sorted(t)
	table.sort(t);
	return t;
end

describe("util.iterators", function ()
	it("keys and values", function ()
		local t = { a = 1, b = 2 };
		assert.are.same({ "a", "b" }, sorted(collect(iter.keys(t))));
		assert.are.same({ 1, 2 }, sorted(collect(iter.values(t))));
		assert.are.same({}, collect(iter.keys({})));
		assert.are.same({}, collect(iter.values({})));
	end);

	it("sorted_pairs goes through keys in order", function ()
		local t = { c = 3, a = 1, b = 2 };
		assert.are.same({ { "a", 1 }, { "b", 2 }, { "c", 3 } }, collect(iter.sorted_pairs(t)));
		assert.are.same({ { "c", 3 }, { "b", 2 }, { "a", 1 } },
			collect(iter.sorted_pairs(t, function (x, y) return x > y; end)));
	end);

	it("count counts steps", function ()
		assert.are.equal(3, iter.count(ipairs({ "a", "b", "c" })));
		assert.are.equal(0, iter.count(pairs({})));
		assert.are.equal(2, iter.count(pairs({ x = 1, y = 2 })));
	end);

	it("range counts up to n, or from a to b", function ()
		assert.are.same({ 1, 2, 3 }, collect(iter.range(3)));
		assert.are.same({ 4, 5, 6 }, collect(iter.range(4, 6)));
		assert.are.same({}, collect(iter.range(0)));
	end);

	it("ripairs walks an array backwards", function ()
		assert.are.same({ { 3, "c" }, { 2, "b" }, { 1, "a" } }, collect(iter.ripairs({ "a", "b", "c" })));
		assert.are.same({}, collect(iter.ripairs({})));
	end);

	it("reverse replays an iterator backwards with all its values", function ()
		assert.are.same({ { 3, "c" }, { 2, "b" }, { 1, "a" } }, collect(iter.reverse(ipairs({ "a", "b", "c" }))));
	end);

	it("unique drops repeated first values", function ()
		assert.are.same({ "a", "b", "c" }, collect(iter.unique(("a b a c b"):gmatch("%S+"))));
	end);

	it("head stops after n steps", function ()
		assert.are.same({ { 1, "a" }, { 2, "b" } }, collect(iter.head(2, ipairs({ "a", "b", "c" }))));
		assert.are.same({}, collect(iter.head(0, ipairs({ "a" }))));
		assert.are.same({ { 1, "a" } }, collect(iter.head(5, ipairs({ "a" }))));
	end);

	it("skip drops the first n steps", function ()
		assert.are.same({ { 3, "c" } }, collect(iter.skip(2, ipairs({ "a", "b", "c" }))));
		assert.are.same({ 3, 4 }, collect(iter.skip(2, iter.range(4))));
	end);

	it("tail keeps the last n steps, in order", function ()
		assert.are.same({ { 2, "b" }, { 3, "c" } }, collect(iter.tail(2, ipairs({ "a", "b", "c" }))));
		assert.are.same({ { 1, "a" } }, collect(iter.tail(5, ipairs({ "a" }))));
		assert.are.same({ 3, 4, 5 }, collect(iter.tail(3, iter.range(5))));
	end);

	it("filter keeps steps a function accepts, or drops a given value", function ()
		local even = function (_, v) return v % 2 == 0; end;
		assert.are.same({ { 2, 2 }, { 4, 4 } }, collect(iter.filter(even, ipairs({ 1, 2, 3, 4 }))));
		assert.are.same({ "a", "c" }, collect(iter.filter("b", ("a b c"):gmatch("%S+"))));
	end);

	it("select picks the n-th value of each step", function ()
		assert.are.same({ "a", "b" }, collect(iter.select(2, ipairs({ "a", "b" }))));
	end);

	it("to_array and to_table collect", function ()
		assert.are.same({ "x", "y" }, iter.to_array(("x y"):gmatch("%S+")));
		assert.are.same({ a = 1, b = 2 }, iter.to_table(pairs({ a = 1, b = 2 })));
		assert.are.same({ "p", "q" }, iter.to_table(ipairs({ "p", "q" })));
		assert.are.same({}, iter.to_array(pairs({})));
	end);

	it("join chains iterators with append", function ()
		local out = {};
		for _, v in iter.join(ipairs({ "a", "b" })):append(ipairs({ "c" })) do out[#out + 1] = v; end
		assert.are.same({ "a", "b", "c" }, out);
	end);

	it("join skips empty iterators in the chain", function ()
		local out = {};
		for v in iter.join(iter.range(0)):append(iter.range(2)) do out[#out + 1] = v; end
		assert.are.same({ 1, 2 }, out);
	end);
end);
