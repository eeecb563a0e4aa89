local dt = require "util.datetime";

describe("util.datetime", function ()
	local t = 1234567890; -- 2009-02-13 23:31:30 UTC

	describe("formatting", function ()
		it("gives XEP-0082 profiles in UTC", function ()
			assert.equal("2009-02-13", dt.date(t));
			assert.equal("2009-02-13T23:31:30Z", dt.datetime(t));
			assert.equal("23:31:30", dt.time(t));
			assert.equal("20090213T23:31:30", dt.legacy(t));
		end);

		it("pads every field", function ()
			assert.equal("1970-01-01T00:00:00Z", dt.datetime(0));
			assert.equal("2000-02-29T01:02:03Z", dt.datetime(951786123));
			assert.equal("20000229T01:02:03", dt.legacy(951786123));
		end);

		it("uses the current time when none is given", function ()
			local before = os.time();
			local now = dt.parse(dt.datetime());
			assert.is_true(now >= before and now <= os.time());
			assert.matches("^%d%d%d%d%-%d%d%-%d%d$", dt.date());
			assert.matches("^%d%d:%d%d:%d%d$", dt.time());
			assert.matches("^%d%d%d%d%d%d%d%dT%d%d:%d%d:%d%d$", dt.legacy());
		end);
	end);

	describe("parse", function ()
		it("reads a UTC DateTime", function ()
			assert.equal(t, dt.parse("2009-02-13T23:31:30Z"));
			assert.equal(0, dt.parse("1970-01-01T00:00:00Z"));
			assert.equal(951786123, dt.parse("2000-02-29T01:02:03Z"));
		end);

		it("treats a missing zone as UTC", function ()
			assert.equal(t, dt.parse("2009-02-13T23:31:30"));
		end);

		it("reads the legacy form", function ()
			assert.equal(t, dt.parse("20090213T23:31:30"));
		end);

		it("ignores fractions of a second", function ()
			assert.equal(t, dt.parse("2009-02-13T23:31:30.123Z"));
			assert.equal(t, dt.parse("2009-02-13T23:31:30.999999+00:00"));
		end);

		it("applies zone offsets", function ()
			assert.equal(t, dt.parse("2009-02-14T01:31:30+02:00"));
			assert.equal(t, dt.parse("2009-02-13T18:01:30-05:30"));
			assert.equal(t, dt.parse("2009-02-13T18:01:30-0530"));
			assert.equal(t, dt.parse("2009-02-14T00:31:30+01"));
		end);

		it("counts on past the end of a month or year", function ()
			assert.equal(dt.parse("2009-03-01T00:00:00Z"), dt.parse("2009-02-29T00:00:00Z"));
			assert.equal(dt.parse("2010-01-01T00:00:00Z"), dt.parse("2009-13-01T00:00:00Z"));
			assert.equal(dt.parse("2009-02-14T00:00:00Z"), dt.parse("2009-02-13T24:00:00Z"));
		end);

		it("round-trips datetime", function ()
			for _, v in ipairs({ 0, 1, 86399, 951782400, t, 4102444800 }) do
				assert.equal(v, dt.parse(dt.datetime(v)));
			end
		end);

		it("returns nothing for what is not a DateTime", function ()
			assert.is_nil(dt.parse(nil));
			assert.is_nil(dt.parse(""));
			assert.is_nil(dt.parse("yesterday"));
			assert.is_nil(dt.parse("2009-02-13"));
			assert.is_nil(dt.parse("2009-02-13 23:31:30Z"));
			assert.is_nil(dt.parse("2009-02-13T23:31Z"));
			assert.is_nil(dt.parse("2009-02-13T23:31:30 garbage"));
			assert.is_nil(dt.parse(" 2009-02-13T23:31:30Z"));
		end);
	end);
end);
