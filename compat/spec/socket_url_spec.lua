-- Behaviour of LuaSocket's socket.url, which plugins require for parsing
-- and building URLs. Under scripts/spec-prosody this is LuaSocket's own.

local url = require "socket.url";

describe("socket.url", function ()
	describe("escape and unescape", function ()
		it("escapes all but letters, digits and underscore, in lower-case hex", function ()
			assert.equal("a_Z9%20%2f%3f%c3%a9", url.escape("a_Z9 /?\195\169"));
			assert.equal("", url.escape(""));
		end);

		it("unescapes %XX in either case and leaves stray % alone", function ()
			assert.equal("a b/\195\169", url.unescape("a%20b%2F%c3%A9"));
			assert.equal("100%", url.unescape("100%"));
			assert.equal("%zz", url.unescape("%zz"));
			assert.equal("a+b", url.unescape("a+b"));
		end);
	end);

	describe("parse", function ()
		it("splits every part of a full URL", function ()
			local p = url.parse("https://user:secret@example.com:8443/a/b;type=x?q=1&r=2#frag");
			assert.same({
				scheme = "https", authority = "user:secret@example.com:8443",
				userinfo = "user:secret", user = "user", password = "secret",
				host = "example.com", port = "8443",
				path = "/a/b", params = "type=x", query = "q=1&r=2", fragment = "frag",
			}, p);
		end);

		it("leaves out what is not there", function ()
			assert.same({ scheme = "http", authority = "example.com", host = "example.com" },
				url.parse("http://example.com"));
			assert.same({ scheme = "http", authority = "example.com", host = "example.com", path = "/" },
				url.parse("http://example.com/"));
			assert.same({ path = "/just/a/path", query = "x" }, url.parse("/just/a/path?x"));
			assert.same({ scheme = "mailto", path = "someone@example.com" },
				url.parse("mailto:someone@example.com"));
			assert.same({ scheme = "xmpp", path = "user@example.com", query = "message" },
				url.parse("xmpp:user@example.com?message"));
		end);

		it("unbrackets an IPv6 host", function ()
			local p = url.parse("http://[2001:db8::1]:5280/x");
			assert.equal("2001:db8::1", p.host);
			assert.equal("5280", p.port);
			assert.equal("[2001:db8::1]:5280", p.authority);
			assert.equal("::1", url.parse("http://[::1]/").host);
			assert.is_nil(url.parse("http://[::1]/").port);
		end);

		it("takes a user without a password", function ()
			local p = url.parse("ftp://anonymous@example.com/");
			assert.equal("anonymous", p.user);
			assert.equal("anonymous", p.userinfo);
			assert.is_nil(p.password);
		end);

		it("does not decode escapes", function ()
			assert.equal("/a%20b", url.parse("http://h/a%20b").path);
		end);

		it("fills in defaults, which the URL overrides", function ()
			local p = url.parse("http://example.com/x", { port = "80", path = "/", scheme = "https" });
			assert.equal("80", p.port);
			assert.equal("/x", p.path);
			assert.equal("http", p.scheme);
		end);

		it("gives nil and an error for an empty URL", function ()
			local p, err = url.parse("");
			assert.is_nil(p);
			assert.equal("invalid url", err);
			assert.is_nil((url.parse(nil)));
		end);
	end);

	describe("build", function ()
		it("reverses parse", function ()
			for _, s in ipairs({
				"https://user:secret@example.com:8443/a/b;type=x?q=1&r=2#frag",
				"http://example.com",
				"/path?query",
				"mailto:someone@example.com",
				"http://[::1]:5280/",
			}) do
				assert.equal(s, url.build(url.parse(s)));
			end
		end);

		it("prefers host, port, user and password over authority", function ()
			assert.equal("http://u:p@h:81/x", url.build({
				scheme = "http", authority = "ignored", host = "h", port = 81,
				user = "u", password = "p", path = "/x",
			}));
			assert.equal("http://old/x", url.build({ scheme = "http", authority = "old", path = "/x" }));
			assert.equal("//[fe80::1]", url.build({ host = "fe80::1" }));
			assert.equal("", url.build({}));
		end);
	end);

	describe("absolute", function ()
		local base = "http://a/b/c/d;p?q";
		-- RFC 2396's examples of resolving against base
		local cases = {
			g = "http://a/b/c/g", ["./g"] = "http://a/b/c/g", ["g/"] = "http://a/b/c/g/",
			["/g"] = "http://a/g", ["//g"] = "http://g", ["?y"] = "http://a/b/c/d;p?y",
			["g?y"] = "http://a/b/c/g?y", ["#s"] = "http://a/b/c/d;p?q#s",
			["g#s"] = "http://a/b/c/g#s", [";x"] = "http://a/b/c/d;x", ["g;x"] = "http://a/b/c/g;x",
			["."] = "http://a/b/c/", ["./"] = "http://a/b/c/", [".."] = "http://a/b/",
			["../"] = "http://a/b/", ["../g"] = "http://a/b/g", ["../.."] = "http://a/",
			["../../"] = "http://a/", ["../../g"] = "http://a/g",
			["g."] = "http://a/b/c/g.", [".g"] = "http://a/b/c/.g", ["g.."] = "http://a/b/c/g..",
			["./g/."] = "http://a/b/c/g/", ["g/./h"] = "http://a/b/c/g/h", ["g/../h"] = "http://a/b/c/h",
			["https://other/x"] = "https://other/x",
		};
		for relative, expected in pairs(cases) do
			it("resolves " .. relative, function ()
				assert.equal(expected, url.absolute(base, relative));
			end);
		end

		it("takes a parsed base", function ()
			assert.equal("http://a/b/c/g", url.absolute(url.parse(base), "g"));
		end);

		it("uses / when the base has no path", function ()
			assert.equal("http://example.com/x", url.absolute("http://example.com", "x"));
		end);
	end);

	describe("parse_path and build_path", function ()
		it("splits and unescapes segments", function ()
			local p = url.parse_path("/a%20b/c/");
			assert.same({ "a b", "c", is_absolute = 1, is_directory = 1 }, p);
			assert.same({ "x", "y" }, url.parse_path("x//y"));
			assert.same({}, url.parse_path(""));
		end);

		it("joins and protects segments", function ()
			assert.equal("/a%20b/c/", url.build_path({ "a b", "c", is_absolute = 1, is_directory = 1 }));
			assert.equal("a%2Fb/x:y@z", url.build_path({ "a/b", "x:y@z" }));
			assert.equal("a/b/c", url.build_path({ "a/b", "c" }, true));
			assert.equal("", url.build_path({}));
			assert.equal("/", url.build_path({ is_absolute = 1, is_directory = 1 }));
		end);
	end);
end);
