describe("never loads", function ()
	it("x", function ()
		local = 1
	end);
end);
