describe("failing", function ()
	it("equal", function ()
		local x = 1 + 1;
		assert.are.equal(1, x);
	end);

	it("same with a message", function ()
		assert.same({ a = 1 }, { a = 2 }, "tables differ");
	end);

	it("assert called plainly", function ()
		assert(false, "plain message");
	end);

	it("spy count", function ()
		local s = spy.new(function () end);
		assert.spy(s).was.called(1);
	end);

	it("passes", function () end);
end);
