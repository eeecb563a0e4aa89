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

	it("takes more chain spellings", function ()
		assert.has.errors(function () error("e"); end);
		assert.errors(function () error("e"); end);
		assert.is_not_true(false);
		assert.are.equals(3, 3);
		assert.is_userdata(io.stdout);
		assert.is_not.matches("^x", "abc");
		assert.has_no.error(function () end);
		assert.error_match(function () error("abc"); end, "b");
		local obj = { f = function (t) return #t; end };
		local s = spy.on(obj, "f");
		obj.f({ 1, 2 });
		assert.spy(s).was_called_with(match.is_table());
		assert.spy(s).was.returned_with(2);
		assert.spy(s).was_not.returned_with(3);
		s:clear();
		assert.spy(s).was_not_called();
		local m = mock({ g = function () return 1; end });
		m.g();
		assert.spy(m.g).was.called(1);
	end);

	it("fails a negated assertion", function ()
		assert.is_not.equal(1, 1);
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
