-- Behaviour of util.throttle, on a clock the spec moves: util.time.now is
-- replaced before a fresh copy of util.throttle is loaded (it reads the
-- clock through the function it found at load time).

describe("util.throttle", function ()
	local throttle, clock;
	local time = require "util.time";
	local real_now = time.now;

	setup(function ()
		clock = 1000;
		time.now = function () return clock; end;
		package.loaded["util.throttle"] = nil;
		throttle = require "util.throttle";
	end);

	teardown(function ()
		time.now = real_now;
		package.loaded["util.throttle"] = nil;
	end);

	it("starts full", function ()
		local t = throttle.create(10, 5);
		assert.equal(10, t.balance);
		assert.equal(10, t.max);
		assert.equal(2, t.rate);
		assert.equal(clock, t.t);
		assert.is_true(t:peek(10));
		assert.is_false(t:peek(11));
	end);

	it("poll takes tokens while there are enough", function ()
		local t = throttle.create(3, 3);
		assert.is_true(t:poll(1));
		assert.is_true(t:poll(2));
		local ok, balance, missing = t:poll(1);
		assert.is_false(ok);
		assert.equal(0, balance);
		assert.equal(1, missing);
	end);

	it("refills with time, up to max", function ()
		local t = throttle.create(10, 10);
		assert.is_true(t:poll(10));
		assert.is_false(t:peek());
		clock = clock + 4;
		assert.is_true(t:peek(4));
		assert.is_false(t:peek(5));
		assert.equal(4, t.balance);
		clock = clock + 100;
		assert.equal(10, t:update());
	end);

	it("peek defaults to a cost of one", function ()
		local t = throttle.create(1, 1);
		assert.is_true(t:peek());
		assert.is_true(t:poll(1));
		assert.is_false(t:peek());
	end);

	it("split empties the bucket on failure", function ()
		local t = throttle.create(5, 5);
		local ok, balance, missing = t:poll(8, true);
		assert.is_false(ok);
		assert.equal(5, balance);
		assert.equal(3, missing);
		assert.equal(0, t.balance);
		ok, balance = t:poll(8);
		assert.is_false(ok);
		assert.equal(0, balance);
	end);

	it("without split a failed poll keeps the balance", function ()
		local t = throttle.create(5, 5);
		assert.is_false((t:poll(8)));
		assert.equal(5, t.balance);
	end);

	it("counts fractional refills", function ()
		local t = throttle.create(2, 4);
		assert.is_true(t:poll(2));
		clock = clock + 1;
		assert.equal(0.5, t:update());
	end);
end);
