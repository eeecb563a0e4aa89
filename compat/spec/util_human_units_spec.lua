-- Behaviour of util.human.units: SI and binary prefixes for display.

local units = require "util.human.units";

describe("util.human.units", function ()
	describe("format", function ()
		it("uses SI prefixes from 1000 up", function ()
			assert.equal("0 B", units.format(0, "B"));
			assert.equal("1 B", units.format(1, "B"));
			assert.equal("999 B", units.format(999, "B"));
			assert.equal("1 kB", units.format(1000, "B"));
			assert.equal("1 MB", units.format(1e6, "B"));
			assert.equal("123 MB", units.format(123456789, "B"));
			assert.equal("1 GB", units.format(1e9, "B"));
			assert.equal("1e+06 Yx", units.format(1e30, "x"));
		end);

		it("keeps three significant digits", function ()
			assert.equal("1e+03 B", units.format(999.9, "B"));
			assert.equal("1.23 kB", units.format(1234, "B"));
			assert.equal("12.3 kB", units.format(12345, "B"));
		end);

		it("uses fractional prefixes below 1", function ()
			assert.equal("500 ms", units.format(0.5, "s"));
			assert.equal("1 ms", units.format(0.001, "s"));
			assert.equal("1.5 μs", units.format(0.0000015, "s"));
			assert.equal("1e+03 ms", units.format(0.9999, "s"));
			assert.equal("1e-06 ys", units.format(1e-30, "s"));
		end);

		it("treats negative numbers as below 1", function ()
			assert.equal("-1.5e+09 μW", units.format(-1500, "W"));
		end);

		it("uses binary prefixes with b", function ()
			assert.equal("1 KiB", units.format(1024, "B", "b"));
			assert.equal("1.5 KiB", units.format(1536, "B", "b"));
			assert.equal("1.02e+03 B", units.format(1023, "B", "b"));
			assert.equal("1 MiB", units.format(2^20, "B", "b"));
			assert.equal("3 YiB", units.format(2^80 * 3, "B", "b"));
			assert.equal("0.25 s", units.format(0.25, "s", "b"));
		end);

		it("works without a unit", function ()
			assert.equal("5 ", units.format(5, ""));
			assert.equal("2 k", units.format(2000, ""));
		end);
	end);

	describe("adjust", function ()
		it("gives multiplier and prefix", function ()
			assert.same({ 1000, "k" }, { units.adjust(1000) });
			assert.same({ 1e6, "M" }, { units.adjust(5e6) });
			assert.same({ 0.001, "m" }, { units.adjust(0.5) });
			assert.same({ 1024, "Ki" }, { units.adjust(2000, "b") });
			assert.same({ 2^30, "Gi" }, { units.adjust(2^30, "b") });
		end);

		it("gives 1 and no prefix when none is needed", function ()
			local m, p = units.adjust(1);
			assert.equal(1, m);
			assert.is_nil(p);
			m, p = units.adjust(999);
			assert.equal(1, m);
			assert.is_nil(p);
		end);
	end);
end);
