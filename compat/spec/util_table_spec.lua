-- Behaviour of util.table: preallocated tables and pack.

local utable = require "util.table";

describe("util.table", function ()
	it("create gives an empty table", function ()
		local t = utable.create(16, 4);
		assert.same({}, t);
		assert.equal(0, #t);
		assert.is_nil(next(t));
		t[1], t.x = "a", "b";
		assert.same({ "a", x = "b" }, t);
		assert.same({}, utable.create(0, 0));
	end);

	it("pack counts every argument, nils included", function ()
		assert.same({ n = 0 }, utable.pack());
		assert.same({ 1, 2, 3, n = 3 }, utable.pack(1, 2, 3));
		local p = utable.pack(nil, "b", nil);
		assert.equal(3, p.n);
		assert.is_nil(p[1]);
		assert.equal("b", p[2]);
		assert.is_nil(p[3]);
	end);

	it("pack keeps values as they are", function ()
		local t = {};
		local p = utable.pack(t, false, "x");
		assert.equal(t, p[1]);
		assert.is_false(p[2]);
		assert.equal("x", p[3]);
	end);
end);
