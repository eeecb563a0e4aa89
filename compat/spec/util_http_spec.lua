-- Behaviour of util.http as Prosody 0.12 ships it.
local http = require "util.http";

describe("util.http", function ()
	describe("urlencode", function ()
		it("keeps unreserved characters and escapes the rest in lower-case hex", function ()
			local cases = {
				{ "abcXYZ019.~_-", "abcXYZ019.~_-" },
				{ "a b", "a%20b" },
				{ "user@example.com/res", "user%40example.com%2fres" },
				{ "%?#&=+", "%25%3f%23%26%3d%2b" },
				{ "é", "%c3%a9" },
				{ "", "" },
			};
			for _, c in ipairs(cases) do
				assert.equal(c[2], http.urlencode(c[1]), c[1]);
			end
		end);

		it("returns nil for nil and exactly one value", function ()
			assert.is_nil(http.urlencode(nil));
			assert.equal(1, select("#", http.urlencode("a b")));
		end);
	end);

	describe("urldecode", function ()
		it("decodes escapes in either case and leaves the rest", function ()
			local cases = {
				{ "a%20b", "a b" },
				{ "%C3%A9%c3%a9", "éé" },
				{ "a+b", "a+b" },
				{ "100%", "100%" },
				{ "%zz%4", "%zz%4" },
			};
			for _, c in ipairs(cases) do
				assert.equal(c[2], http.urldecode(c[1]), c[1]);
			end
			assert.is_nil(http.urldecode(nil));
		end);
	end);

	describe("formencode", function ()
		it("encodes a list of fields in order, spaces as +", function ()
			assert.equal("a=1&b+c=x+y&d=%26", http.formencode({
				{ name = "a", value = "1" },
				{ name = "b c", value = "x y" },
				{ name = "d", value = "&" },
			}));
		end);

		it("encodes a map of fields", function ()
			assert.equal("k=v+w", http.formencode({ k = "v w" }));
			local s = http.formencode({ a = "1", b = "2" });
			assert.truthy(s == "a=1&b=2" or s == "b=2&a=1", s);
		end);
	end);

	describe("formdecode", function ()
		it("returns the fields both as a list and by name", function ()
			local form = http.formdecode("a=1&b+c=x+y&a=2&e=%26");
			assert.same({ name = "a", value = "1" }, form[1]);
			assert.same({ name = "b c", value = "x y" }, form[2]);
			assert.same({ name = "a", value = "2" }, form[3]);
			assert.equal("2", form.a);
			assert.equal("x y", form["b c"]);
			assert.equal("&", form.e);
			assert.equal(4, #form);
		end);

		it("just decodes a string without =", function ()
			assert.equal("a b+c", http.formdecode("a%20b+c"));
		end);
	end);

	describe("contains_token", function ()
		it("finds a token in a comma list, ignoring case and blanks", function ()
			local cases = {
				{ "keep-alive, Upgrade", "upgrade", true },
				{ "close", "CLOSE", true },
				{ "keep-alive,\tclose ", "close", true },
				{ "closed", "close", false },
				{ "", "close", false },
			};
			for _, c in ipairs(cases) do
				assert.equal(c[3], http.contains_token(c[1], c[2]), c[1] .. " / " .. c[2]);
			end
		end);
	end);

	describe("normalize_path", function ()
		it("adds a leading slash and sets the trailing one by is_dir", function ()
			local cases = {
				{ "foo", false, "/foo" },
				{ "foo/", false, "/foo" },
				{ "/foo", true, "/foo/" },
				{ "foo/", true, "/foo/" },
				{ "/", false, "/" },
				{ "/", true, "/" },
				{ "", false, "/" },
				{ "", true, "/" },
			};
			for _, c in ipairs(cases) do
				assert.equal(c[3], http.normalize_path(c[1], c[2]), ("%q %s"):format(c[1], tostring(c[2])));
			end
		end);
	end);
end);
