-- Written for busted, using only what modhost's runner offers: the Go test
-- runs it under both and compares the counts (passed, failed, errors, pending).
local calls = 0;

describe("portable", function ()
	before_each(function () calls = calls + 1; end);

	it("counts before_each", function ()
		assert.are.equal(1, calls);
	end);

	it("compares tables", function ()
		assert.are.same({ 1, { 2 } }, { 1, { 2 } });
		assert.is_not.same({ 1 }, { 1, 2 });
	end);

	it("fails an equality", function ()
		assert.are.equal("a", "b");
	end);

	it("fails a spy assertion", function ()
		local s = spy.new(function () end);
		s("x");
		assert.spy(s).was.called_with("y");
	end);

	it("errors", function ()
		error("plain error");
	end);

	pending("is pending");

	it("is pending inside", function ()
		pending("later");
	end);

	context("with stubs and matchers", function ()
		local t;
		setup(function () t = { f = function () return "real"; end }; end);
		teardown(function () t = nil; end);

		it("stubs", function ()
			local s = stub(t, "f");
			t.f(1);
			assert.stub(s).was.called_with(match.is_number());
			s:revert();
			assert.equal("real", t.f());
		end);

		it("has errors", function ()
			assert.has_error(function () error("x"); end);
			assert.error_matches(function () error("some text"); end, "text");
			assert.has_no.error(function () end);
		end);
	end);

	insulate("insulated", function ()
		it("sets a global", function () portable_global = true; end);
	end);

	it("does not see the insulated global", function ()
		assert.is_nil(portable_global);
	end);

	it("skips a filtered-out test #skipme", function ()
		error("should not run");
	end);
end);
