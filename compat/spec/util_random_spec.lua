local random = require "util.random";

describe("util.random", function ()
	describe("bytes", function ()
		it("gives that many bytes", function ()
			for _, n in ipairs({ 0, 1, 16, 1000 }) do
				assert.equal(n, #random.bytes(n));
			end
		end);

		it("gives different bytes each time", function ()
			assert.not_equal(random.bytes(16), random.bytes(16));
		end);

		it("uses every byte value", function ()
			local seen, distinct = {}, 0;
			for c in random.bytes(8192):gmatch(".") do
				if not seen[c] then seen[c] = true; distinct = distinct + 1; end
			end
			assert.equal(256, distinct);
		end);
	end);
end);
