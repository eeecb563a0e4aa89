describe("stub", function ()
	it("returns what it is told", function ()
		local t = {};
		local s = stub(t, "f", 1, 2);
		local a, b = t.f();
		assert.equal(1, a);
		assert.equal(2, b);
		s:revert();
		assert.is_nil(t.f);
	end);
end);
