-- Behaviour of util.strbitop: bytewise and/or/xor of strings.

local strbitop = require "util.strbitop";

describe("util.strbitop", function ()
	it("combines byte by byte", function ()
		assert.equal("\240\0", strbitop.sand("\255\15", "\240\240"));
		assert.equal("\255\255", strbitop.sor("\240\15", "\15\240"));
		assert.equal("\0\255", strbitop.sxor("\170\85", "\170\170"));
	end);

	it("repeats the second string and keeps the first one's length", function ()
		assert.equal("\240\0", strbitop.sand("\255\15", "\240"));
		assert.same({ 96, 99 }, { strbitop.sxor("ab", "\1"):byte(1, -1) });
		assert.equal("a", strbitop.sor("a", "  "));
		assert.equal("", strbitop.sor("", "abc"));
	end);

	it("leaves the first string as it is against an empty one", function ()
		assert.equal("abc", strbitop.sxor("abc", ""));
		assert.equal("abc", strbitop.sand("abc", ""));
	end);

	it("xor twice gives the input back", function ()
		local data, key = "some secret text", "k3y";
		assert.equal(data, strbitop.sxor(strbitop.sxor(data, key), key));
	end);

	it("takes numbers as strings", function ()
		assert.equal("10", strbitop.sand(12, 10));
	end);

	it("raises without two strings", function ()
		assert.has_error(function () strbitop.sand("a"); end);
		assert.has_error(function () strbitop.sor({}, "a"); end);
	end);
end);
