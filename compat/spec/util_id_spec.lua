local id = require "util.id";

describe("util.id", function ()
	local sizes = { tiny = 4, short = 12, medium = 24, long = 36 };

	for name, length in pairs(sizes) do
		describe(name, function ()
			it("gives " .. length .. " base64url characters", function ()
				local v = id[name]();
				assert.is_string(v);
				assert.equal(length, #v);
				assert.matches("^[%w%-_]+$", v);
			end);

			it("gives a different id each time", function ()
				local seen = {};
				for _ = 1, 50 do
					local v = id[name]();
					assert.is_nil(seen[v]);
					seen[v] = true;
				end
			end);
		end);
	end

	describe("custom", function ()
		it("returns a generator of ids from that many random bytes", function ()
			local gen = id.custom(6);
			assert.is_function(gen);
			assert.equal(8, #gen());
			assert.not_equal(gen(), gen());
		end);

		it("leaves out base64 padding for sizes not divisible by 3", function ()
			assert.equal(2, #id.custom(1)());
			assert.equal(3, #id.custom(2)());
			assert.matches("^[%w%-_]+$", id.custom(5)());
		end);

		it("gives an empty id for size 0", function ()
			assert.equal("", id.custom(0)());
		end);
	end);
end);
