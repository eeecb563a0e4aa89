local time = require "util.time";

describe("util.time", function ()
	describe("now", function ()
		it("is the wall clock in seconds, with a fraction", function ()
			local before = os.time();
			local now = time.now();
			assert.is_number(now);
			assert.is_true(now >= before - 1 and now <= os.time() + 1);
			local distinct = false;
			for _ = 1, 1000 do
				if time.now() % 1 ~= 0 then distinct = true; break; end
			end
			assert.is_true(distinct);
		end);
	end);

	describe("monotonic", function ()
		it("never goes back", function ()
			local last = time.monotonic();
			assert.is_number(last);
			for _ = 1, 1000 do
				local t = time.monotonic();
				assert.is_true(t >= last);
				last = t;
			end
		end);
	end);
end);
