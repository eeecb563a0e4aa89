local hex = require "util.hex";

describe("util.hex", function ()
	describe("encode", function ()
		it("gives two lower-case digits per byte", function ()
			assert.equal("", hex.encode(""));
			assert.equal("00ff10", hex.encode("\0\255\16"));
			assert.equal("68656c6c6f", hex.encode("hello"));
		end);

		it("has the pre-0.12 alias to", function ()
			assert.equal(hex.encode, hex.to);
		end);
	end);

	describe("decode", function ()
		it("reverses encode", function ()
			local all = {};
			for i = 0, 255 do all[#all + 1] = string.char(i); end
			all = table.concat(all);
			assert.equal(all, hex.decode(hex.encode(all)));
		end);

		it("accepts upper case", function ()
			assert.equal("\222\173\190\239", hex.decode("DEADbeef"));
		end);

		it("skips separators around digit pairs", function ()
			assert.equal("\222\173\190\239", hex.decode("de:ad be-ef"));
			-- a "0x" prefix is not a pair: its 0 stays as text
			assert.equal("0\1" .. "0\2", hex.decode("0x01,0x02"));
		end);

		it("keeps, lower-cased, what is not part of a pair", function ()
			assert.equal("\171c", hex.decode("abc"));
			assert.equal("zz", hex.decode("ZZ"));
			assert.equal("a b", hex.decode("a b"));
			assert.equal("", hex.decode(""));
		end);

		it("has the pre-0.12 alias from", function ()
			assert.equal(hex.decode, hex.from);
		end);
	end);
end);
