-- Behaviour of util.set. Runs under busted against Prosody's library and
-- modhost's; nothing depends on the order members come out in.

local set = require "util.set";

local function members(s)
	local list = {};
	for item in s do list[#list + 1] = tostring(item); end
	table.sort(list);
	return list;
end

describe("util.set", function ()
	it("new() makes an empty set", function ()
		local s = set.new();
		assert.truthy(s:empty());
		assert.are.same({}, members(s));
		assert.are.equal("", tostring(s));
		assert.truthy(set.is_set(s));
		assert.falsy(set.is_set({}));
	end);

	it("new(list) holds each listed item once", function ()
		local s = set.new({ "a", "b", "a" });
		assert.are.same({ "a", "b" }, members(s));
		assert.falsy(s:empty());
	end);

	it("add, remove and contains", function ()
		local s = set.new();
		s:add("x");
		s:add(1);
		assert.truthy(s:contains("x"));
		assert.truthy(s:contains(1));
		assert.falsy(s:contains("1"));
		s:remove("x");
		assert.falsy(s:contains("x"));
		s:remove("never there");
		assert.are.same({ "1" }, members(s));
	end);

	it("holds tables by identity", function ()
		local t = {};
		local s = set.new({ t });
		assert.truthy(s:contains(t));
		assert.falsy(s:contains({}));
	end);

	it("add_list adds items and ignores nil", function ()
		local s = set.new();
		s:add_list({ "a", "b" });
		s:add_list(nil);
		assert.are.same({ "a", "b" }, members(s));
	end);

	it("items() iterates the members", function ()
		local s = set.new({ "a", "b" });
		local seen = {};
		for item, v in s:items() do seen[#seen + 1] = item; assert.are.equal(true, v); end
		table.sort(seen);
		assert.are.same({ "a", "b" }, seen);
	end);

	it("_items can be called as an iterator too", function ()
		local seen = {};
		local items = set.new({ "q" })._items;
		for item in items do seen[#seen + 1] = item; end
		assert.are.same({ "q" }, seen);
	end);

	it("include and exclude change the set in place", function ()
		local s = set.new({ "a", "b" });
		s:include(set.new({ "c" }));
		assert.are.same({ "a", "b", "c" }, members(s));
		s:exclude(set.new({ "a", "z" }));
		assert.are.same({ "b", "c" }, members(s));
	end);

	it("contains_set tells whether another set is a subset", function ()
		local s = set.new({ "a", "b" });
		assert.truthy(s:contains_set(set.new({ "a" })));
		assert.truthy(s:contains_set(set.new()));
		assert.falsy(s:contains_set(set.new({ "a", "c" })));
	end);

	it("union, difference, intersection and xor make new sets", function ()
		local a, b = set.new({ 1, 2, 3 }), set.new({ 3, 4 });
		assert.are.same({ "1", "2", "3", "4" }, members(set.union(a, b)));
		assert.are.same({ "1", "2" }, members(set.difference(a, b)));
		assert.are.same({ "3" }, members(set.intersection(a, b)));
		assert.are.same({ "1", "2", "4" }, members(set.xor(a, b)));
		assert.are.same({ "1", "2", "3" }, members(a));
	end);

	it("operators + and - are union and difference", function ()
		local a, b = set.new({ "a", "b" }), set.new({ "b", "c" });
		assert.are.same({ "a", "b", "c" }, members(a + b));
		assert.are.same({ "a" }, members(a - b));
		assert.are.same({}, members(set.new() - a));
	end);

	it("operator / maps members through a function, dropping nil", function ()
		local s = set.new({ 1, 2, 3 }) / function (n) if n ~= 2 then return n * 10; end end;
		assert.truthy(set.is_set(s));
		assert.are.same({ "10", "30" }, members(s));
	end);

	it("== compares members", function ()
		assert.truthy(set.new({ "a", "b" }) == set.new({ "b", "a" }));
		assert.falsy(set.new({ "a" }) == set.new({ "a", "b" }));
		assert.falsy(set.new({ "a", "b" }) == set.new({ "a" }));
		assert.truthy(set.new() == set.new());
	end);

	it("tostring joins members with commas", function ()
		assert.are.equal("x", tostring(set.new({ "x" })));
		local s = tostring(set.new({ "x", "y" }));
		assert.truthy(s == "x, y" or s == "y, x");
	end);

	it("empty sets combine to empty sets", function ()
		local e = set.new();
		assert.truthy((e + e):empty());
		assert.truthy(set.intersection(e, set.new({ 1 })):empty());
		assert.truthy(set.xor(e, e):empty());
	end);
end);
