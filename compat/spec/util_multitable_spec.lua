-- Behaviour of util.multitable. Results that come from iterating a level
-- with more than one key are sorted before comparing.

local multitable = require "util.multitable";

local function sorted(list)
	local copy = {};
	for i, v in ipairs(list) do copy[i] = tostring(v); end
	table.sort(copy);
	return copy;
end

describe("util.multitable", function ()
	it("new() has empty data and the methods", function ()
		local mt = multitable.new();
		assert.same({}, mt.data);
		for _, m in ipairs({ "get", "add", "set", "remove", "search", "search_add", "iter" }) do
			assert.is_function(mt[m], m);
		end
	end);

	it("set and get along a path", function ()
		local mt = multitable.new();
		mt:set("a", "b", "c", 1);
		assert.same({ a = { b = { c = 1 } } }, mt.data);
		assert.equal(1, mt:get("a", "b", "c"));
		assert.same({ c = 1 }, mt:get("a", "b"));
		assert.is_nil(mt:get("a", "x", "c"));
		assert.equal(mt.data, mt:get());
		mt:set("a", "b", "c", 2);
		assert.equal(2, mt:get("a", "b", "c"));
		mt:set("k", "v");
		assert.equal("v", mt:get("k"));
	end);

	it("add appends to the list at a path", function ()
		local mt = multitable.new();
		mt:add("host", "event", "h1");
		mt:add("host", "event", "h2");
		assert.same({ "h1", "h2" }, mt:get("host", "event"));
		mt:add("top");
		assert.same({ "top" }, { mt.data[1] });
	end);

	it("remove takes out a path and the tables it empties", function ()
		local mt = multitable.new();
		mt:set("a", "b", "c", 1);
		mt:set("a", "x", "y", 2);
		mt:remove("a", "b", "c");
		assert.same({ a = { x = { y = 2 } } }, mt.data);
		mt:remove("a", "x", "y");
		assert.same({}, mt.data);
		mt:remove("not", "there");
		assert.same({}, mt.data);
	end);

	it("remove with a nil key matches every key at that level", function ()
		local mt = multitable.new();
		mt:set("u1", "res", "s", true);
		mt:set("u2", "res", "s", true);
		mt:set("u2", "other", "s", true);
		mt:remove(nil, "res", "s");
		assert.same({ u2 = { other = { s = true } } }, mt.data);
	end);

	it("remove of a shorter path takes the whole subtree", function ()
		local mt = multitable.new();
		mt:set("a", "b", "c", 1);
		mt:set("d", 2);
		mt:remove("a");
		assert.same({ d = 2 }, mt.data);
	end);

	it("search lists what is at matching paths", function ()
		local mt = multitable.new();
		mt:set("u1", "r1", "online");
		mt:set("u1", "r2", "away");
		mt:set("u2", "r1", "dnd");
		assert.same({ "online" }, mt:search("u1", "r1"));
		assert.same({ "away", "online" }, sorted(mt:search("u1", nil)));
		assert.same({ "dnd", "online" }, sorted(mt:search(nil, "r1")));
		assert.same({ "away", "dnd", "online" }, sorted(mt:search(nil, nil)));
		assert.same({}, mt:search("nobody", "r1"));
		assert.same({}, mt:search("u1", "r9"));
	end);

	it("search_add appends to a list", function ()
		local mt = multitable.new();
		mt:set("a", "b", 1);
		local list = { 0 };
		assert.equal(list, mt:search_add(list, "a", "b"));
		assert.same({ 0, 1 }, list);
		assert.same({ 1 }, mt:search_add(nil, "a", "b"));
	end);

	it("iter walks the paths of the asked depth", function ()
		local mt = multitable.new();
		mt:set("u1", "r1", "online");
		mt:set("u1", "r2", "away");
		mt:set("u2", "r1", "dnd");
		mt:set("u3", "leaf");
		local seen = {};
		for user, res, value in mt:iter(nil, nil) do
			seen[#seen + 1] = user .. "/" .. res .. "=" .. value;
		end
		assert.same({ "u1/r1=online", "u1/r2=away", "u2/r1=dnd" }, sorted(seen));

		seen = {};
		for user, res, value in mt:iter("u1", nil) do
			seen[#seen + 1] = user .. "/" .. res .. "=" .. value;
		end
		assert.same({ "u1/r1=online", "u1/r2=away" }, sorted(seen));

		seen = {};
		for user, res, value in multitable.iter(mt, nil, "r1") do
			seen[#seen + 1] = user .. "/" .. res .. "=" .. value;
		end
		assert.same({ "u1/r1=online", "u2/r1=dnd" }, sorted(seen));

		seen = {};
		for user, value in mt:iter(nil) do
			seen[#seen + 1] = user .. "=" .. type(value);
		end
		assert.same({ "u1=table", "u2=table", "u3=string" }, sorted(seen));
	end);

	it("iter over nothing ends at once", function ()
		local mt = multitable.new();
		local n = 0;
		for _ in mt:iter(nil, nil) do n = n + 1; end
		assert.equal(0, n);
	end);
end);
