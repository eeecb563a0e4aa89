-- Passes under modhost's runner and (without the async part) under busted.
local order = {};

describe("hooks", function ()
	setup(function () table.insert(order, "setup"); end);
	lazy_setup(function () table.insert(order, "lazy_setup"); end);
	before_each(function () table.insert(order, "before_each"); end);
	after_each(function () table.insert(order, "after_each"); end);
	teardown(function () table.insert(order, "teardown"); end);

	it("run in busted's order", function ()
		finally(function () table.insert(order, "finally"); end);
		assert.same({ "setup", "lazy_setup", "before_each" }, order);
	end);

	describe("nested", function ()
		before_each(function () table.insert(order, "inner before_each"); end);
		it("runs outer before_each first", function ()
			assert.same({ "setup", "lazy_setup", "before_each", "finally", "after_each",
				"before_each", "inner before_each" }, order);
		end);
	end);
end);

describe("after the hooks block", function ()
	it("saw teardown run", function ()
		assert.equal("teardown", order[#order]);
	end);
end);

context("assertions", function ()
	it("chains", function ()
		assert.are.equal(1, 1);
		assert.is.equal("a", "a");
		assert.are_not.equal(1, 2);
		assert.is_not.same({ 1 }, { 2 });
		assert.are.same({ a = { 1, 2 } }, { a = { 1, 2 } });
		assert.is_true(true);
		assert.is_false(false);
		assert.is_nil(nil);
		assert.is_not_nil(0);
		assert.truthy(0);
		assert.falsy(nil);
		assert.is_string("s");
		assert.is_number(1);
		assert.is_table({});
		assert.is_function(print);
		assert.is_boolean(false);
		assert.is_thread(coroutine.create(print));
		assert.near(1, 1.05, 0.1);
		assert.matches("^a%d", "a1");
		assert.match("b", "abc");
		assert.has_error(function () error("boom"); end, "boom");
		assert.has_no.errors(function () end);
		assert.error_matches(function () error("a long message"); end, "long");
		assert.unique({ 1, 2, 3 });
		assert.equals(2, 2, "with a message");
		assert.returned_arguments(2, (function () return 1, 2; end)());
		assert(true, "plain assert still works");
		local a, b = assert(1, 2);
		assert.equal(1, a);
		assert.equal(2, b);
	end);

	it("spies and stubs", function ()
		local s = spy.new(function (x) return x * 2; end);
		assert.equal(4, s(2));
		assert.spy(s).was.called(1);
		assert.spy(s).was.called_with(2);
		assert.spy(s).was_not.called_with(3);
		assert.spy(s).returned_with(4);
		local obj = { greet = function (name) return "hello " .. name; end };
		local greet = spy.on(obj, "greet");
		assert.equal("hello you", obj.greet("you"));
		assert.spy(greet).was.called_with(match.is_string());
		assert.spy(greet).was.called_with(match._);
		greet:revert();
		assert.is_function(obj.greet);
		local st = stub(obj, "greet");
		st.returns("stubbed");
		assert.equal("stubbed", obj.greet("x"));
		assert.stub(st).was.called(1);
		st:revert();
		assert.equal("hello x", obj.greet("x"));
		local anon = stub.new();
		assert.spy(anon).was.not_called();
		anon(1, nil);
		assert.spy(anon).was.called_with(match.is_number(), match.is_nil());
		assert.spy(anon).was.called_with(match.is_not_nil(), match._);
	end);
end);

it("works outside any describe", function ()
	assert.is_true(true);
end);
