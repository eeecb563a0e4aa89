describe("errors", function ()
	it("raises", function ()
		local t = nil;
		return t.field;
	end);

	describe("with a broken before_each", function ()
		before_each(function () error("before_each broke"); end);
		it("is an error, not run", function () end);
	end);

	describe("with a broken body", function ()
		error("describe body broke");
	end);

	it("still runs after them", function () end);
end);
