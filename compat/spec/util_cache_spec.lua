local cache = require "util.cache";

local function keys(c)
	local out = {};
	for k in c:items() do out[#out + 1] = k; end
	return table.concat(out, ",");
end

describe("util.cache", function ()
	describe("new", function ()
		it("rejects sizes that are not positive numbers", function ()
			assert.has_error(function () cache.new(); end);
			assert.has_error(function () cache.new("many"); end);
			assert.has_error(function () cache.new(0); end);
			assert.has_error(function () cache.new(-3); end);
		end);

		it("accepts numeric strings and floors fractional sizes", function ()
			assert.equal(2, cache.new("2").size);
			assert.equal(3, cache.new(3.9).size);
		end);

		it("starts empty", function ()
			local c = cache.new(3);
			assert.equal(0, c:count());
			assert.is_nil(c:get("a"));
			assert.is_nil((c:head()));
			assert.is_nil((c:tail()));
			assert.equal("", keys(c));
		end);
	end);

	describe("set and get", function ()
		it("stores and returns values", function ()
			local c = cache.new(3);
			assert.is_true(c:set("a", 1));
			assert.is_true(c:set("b", false));
			assert.equal(1, c:get("a"));
			assert.is_false(c:get("b"));
			assert.equal(2, c:count());
		end);

		it("keeps newest first, and only set counts as use", function ()
			local c = cache.new(3);
			c:set("a", 1); c:set("b", 2); c:set("c", 3);
			assert.equal("c,b,a", keys(c));
			c:get("a");
			assert.equal("c,b,a", keys(c));
			c:set("a", 10);
			assert.equal("a,c,b", keys(c));
			assert.equal(10, c:get("a"));
			assert.equal(3, c:count());
		end);

		it("removes a key set to nil, and ignores nil for an absent key", function ()
			local c = cache.new(3);
			c:set("a", 1); c:set("b", 2);
			assert.is_true(c:set("a", nil));
			assert.is_nil(c:get("a"));
			assert.equal(1, c:count());
			assert.is_true(c:set("zzz", nil));
			assert.equal(1, c:count());
			assert.equal("b", keys(c));
		end);

		it("evicts the least recently set entry when full", function ()
			local c = cache.new(2);
			c:set("a", 1); c:set("b", 2); c:set("a", 1); c:set("c", 3);
			assert.is_nil(c:get("b"));
			assert.equal("c,a", keys(c));
			assert.equal(2, c:count());
		end);

		it("accepts any value as a key", function ()
			local c = cache.new(3);
			local t = {};
			c:set(t, "table"); c:set(1, "one"); c:set(true, "yes");
			assert.equal("table", c:get(t));
			assert.equal("one", c:get(1));
			assert.equal("yes", c:get(true));
		end);
	end);

	describe("on_evict", function ()
		it("is called with the evicted key and value", function ()
			local seen = {};
			local c = cache.new(1, function (k, v) seen[#seen + 1] = k .. "=" .. v; end);
			c:set("a", "1"); c:set("b", "2"); c:set("c", "3");
			assert.same({ "a=1", "b=2" }, seen);
		end);

		it("is not called when a key is removed or replaced", function ()
			local called = false;
			local c = cache.new(2, function () called = true; end);
			c:set("a", 1); c:set("a", 2); c:set("a", nil);
			assert.is_false(called);
		end);

		it("refuses the eviction by returning false, and set reports false", function ()
			local c = cache.new(2, function (k) return k ~= "keep"; end);
			c:set("keep", 1); c:set("b", 2);
			assert.is_false(c:set("c", 3));
			assert.is_nil(c:get("c"));
			assert.equal(1, c:get("keep"));
			assert.equal(2, c:count());
			-- replacing an existing key needs no room
			assert.is_true(c:set("b", 20));
		end);

		it("allows eviction when it returns nil or true", function ()
			local c = cache.new(1, function () return nil; end);
			c:set("a", 1);
			assert.is_true(c:set("b", 2));
			c = cache.new(1, function () return true; end);
			c:set("a", 1);
			assert.is_true(c:set("b", 2));
		end);

		it("given as false, refuses every eviction", function ()
			local c = cache.new(1, false);
			assert.is_true(c:set("a", 1));
			assert.is_false(c:set("b", 2));
			assert.equal("a", keys(c));
		end);
	end);

	describe("head and tail", function ()
		it("return the newest and oldest pairs", function ()
			local c = cache.new(3);
			c:set("a", 1); c:set("b", 2); c:set("c", 3);
			local k, v = c:head();
			assert.equal("c", k); assert.equal(3, v);
			k, v = c:tail();
			assert.equal("a", k); assert.equal(1, v);
		end);
	end);

	describe("items and values", function ()
		it("iterate newest to oldest", function ()
			local c = cache.new(3);
			c:set("a", 1); c:set("b", 2); c:set("c", 3);
			local ks, vs = {}, {};
			for k, v in c:items() do ks[#ks + 1] = k; vs[#vs + 1] = v; end
			assert.same({ "c", "b", "a" }, ks);
			assert.same({ 3, 2, 1 }, vs);
			local only = {};
			for v in c:values() do only[#only + 1] = v; end
			assert.same({ 3, 2, 1 }, only);
		end);
	end);

	describe("resize", function ()
		it("shrinks by evicting the oldest entries", function ()
			local evicted = {};
			local c = cache.new(4, function (k) evicted[#evicted + 1] = k; end);
			c:set("a", 1); c:set("b", 2); c:set("c", 3); c:set("d", 4);
			assert.is_true(c:resize(2));
			assert.equal(2, c.size);
			assert.equal("d,c", keys(c));
			assert.same({ "a", "b" }, evicted);
		end);

		it("grows without evicting", function ()
			local c = cache.new(1);
			c:set("a", 1);
			assert.is_true(c:resize(3));
			c:set("b", 2); c:set("c", 3);
			assert.equal("c,b,a", keys(c));
		end);

		it("stops and keeps the old size when on_evict refuses", function ()
			local c = cache.new(3, function (k) return k ~= "b"; end);
			c:set("a", 1); c:set("b", 2); c:set("c", 3);
			assert.is_false(c:resize(1));
			assert.equal(3, c.size);
			assert.equal("c,b", keys(c));
		end);

		it("rejects bad sizes", function ()
			local c = cache.new(2);
			assert.has_error(function () c:resize(0); end);
			assert.has_error(function () c:resize("x"); end);
		end);
	end);

	describe("clear", function ()
		it("empties the cache without calling on_evict", function ()
			local called = false;
			local c = cache.new(2, function () called = true; end);
			c:set("a", 1); c:set("b", 2);
			c:clear();
			assert.equal(0, c:count());
			assert.is_nil(c:get("a"));
			assert.is_nil((c:head()));
			assert.is_false(called);
			c:set("c", 3);
			assert.equal("c", keys(c));
		end);
	end);

	describe("table", function ()
		it("reads and writes through the cache", function ()
			local c = cache.new(2);
			local t = c:table();
			assert.equal(t, c:table());
			t.a = 1;
			assert.equal(1, c:get("a"));
			c:set("b", 2);
			assert.equal(2, t.b);
			t.a = nil;
			assert.is_nil(c:get("a"));
			assert.equal(1, c:count());
		end);

		it("raises an error when a write is refused", function ()
			local c = cache.new(1, false);
			local t = c:table();
			t.a = 1;
			assert.has_error(function () t.b = 2; end);
		end);
	end);
end);
