describe("pending", function ()
	pending("declared pending");
	it("without a body");
	it("marked pending inside", function ()
		pending("not yet");
		error("not reached");
	end);
	it("runs", function () end);
end);
