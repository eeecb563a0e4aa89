-- Behaviour of util.jsonpointer (RFC 6901).

local jp = require "util.jsonpointer";
local json = require "util.json";

describe("util.jsonpointer", function ()
	-- RFC 6901's example document
	local doc = json.decode([[{
		"foo": ["bar", "baz"],
		"": 0,
		"a/b": 1,
		"c%d": 2,
		"e^f": 3,
		"g|h": 4,
		"i\\j": 5,
		"k\"l": 6,
		" ": 7,
		"m~n": 8
	}]]);

	it("resolves RFC 6901's examples", function ()
		assert.equal(doc, jp.resolve(doc, ""));
		assert.same({ "bar", "baz" }, jp.resolve(doc, "/foo"));
		assert.equal("bar", jp.resolve(doc, "/foo/0"));
		assert.equal("baz", jp.resolve(doc, "/foo/1"));
		assert.equal(0, jp.resolve(doc, "/"));
		assert.equal(1, jp.resolve(doc, "/a~1b"));
		assert.equal(2, jp.resolve(doc, "/c%d"));
		assert.equal(3, jp.resolve(doc, "/e^f"));
		assert.equal(4, jp.resolve(doc, "/g|h"));
		assert.equal(5, jp.resolve(doc, "/i\\j"));
		assert.equal(6, jp.resolve(doc, "/k\"l"));
		assert.equal(7, jp.resolve(doc, "/ "));
		assert.equal(8, jp.resolve(doc, "/m~0n"));
	end);

	it("gives nil for what is not there", function ()
		assert.is_nil(jp.resolve(doc, "/missing"));
		assert.is_nil(jp.resolve(doc, "/foo/5"));
		assert.is_nil(jp.resolve(doc, "/foo/-"));
		assert.is_nil(jp.resolve({ a = { b = {} } }, "/a/b/c"));
	end);

	it("resolves nested paths", function ()
		local d = { a = { { b = "x" }, { b = "y" } } };
		assert.equal("y", jp.resolve(d, "/a/1/b"));
		assert.same({ b = "x" }, jp.resolve(d, "/a/0"));
	end);

	it("refuses tables with neither string nor integer keys", function ()
		assert.same({ nil, "invalid-table" }, { jp.resolve({}, "/x") });
		assert.same({ nil, "invalid-table" }, { jp.resolve({ [true] = 1 }, "/x") });
	end);

	it("skips a step into a value that is not a table", function ()
		-- (Prosody's behaviour: /a is 1, not a table, so /b is looked up
		-- in the same object)
		assert.equal(2, jp.resolve({ a = 1, b = { c = 2 } }, "/a/b/c"));
	end);

	it("raises for a non-numeric step into an array", function ()
		assert.has_error(function () jp.resolve({ "x" }, "/name"); end);
	end);
end);
