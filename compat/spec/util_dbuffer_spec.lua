-- Behaviour of util.dbuffer, the chunked byte buffer.

local dbuffer = require "util.dbuffer";

describe("util.dbuffer", function ()
	it("refuses a size limit of zero or less", function ()
		assert.is_nil(dbuffer.new(0));
		assert.is_nil(dbuffer.new(-1));
		assert.truthy(dbuffer.new());
		assert.truthy(dbuffer.new(10));
	end);

	it("writes and reads across chunks", function ()
		local b = dbuffer.new();
		assert.is_true(b:write("hello"));
		assert.is_true(b:write(" "));
		assert.is_true(b:write("world"));
		assert.equal(11, b:length());
		assert.equal(11, b:len());
		assert.equal("hel", b:read(3));
		assert.equal("lo wo", b:read(5));
		assert.equal(3, b:length());
		assert.is_nil(b:read(4));
		assert.equal("rld", b:read(3));
		assert.equal(0, b:length());
		assert.is_nil(b:read(1));
		assert.is_nil(b:read());
	end);

	it("read() with no count takes the rest of the first chunk", function ()
		local b = dbuffer.new();
		b:write("abc");
		b:write("def");
		assert.equal("a", b:read(1));
		assert.equal("bc", b:read());
		assert.equal("def", b:read());
		assert.is_nil(b:read());
	end);

	it("read_chunk reads from the first chunk only", function ()
		local b = dbuffer.new();
		assert.same({}, { b:read_chunk() });
		b:write("abc");
		b:write("de");
		assert.same({ "ab", 2 }, { b:read_chunk(2) });
		assert.same({ "c", 1 }, { b:read_chunk() });
		assert.same({ "de", 2 }, { b:read_chunk(10) });
		assert.same({}, { b:read_chunk() });
		assert.equal(0, b:length());
	end);

	it("read(0)", function ()
		local b = dbuffer.new();
		assert.is_nil(b:read(0));
		b:write("x");
		assert.equal("", b:read(0));
		assert.equal(1, b:length());
	end);

	it("keeps to its size limit", function ()
		local b = dbuffer.new(5);
		assert.is_true(b:write("abc"));
		assert.is_nil(b:write("def"));
		assert.is_true(b:write("de"));
		assert.is_nil(b:write("f"));
		assert.equal("abcde", b:read(5));
		assert.is_true(b:write("fghij"));
	end);

	it("joins chunks when it holds too many", function ()
		local b = dbuffer.new(nil, 3);
		for c in ("abcdefgh"):gmatch(".") do
			assert.is_true(b:write(c));
		end
		assert.equal(8, b:length());
		assert.equal("abcdefgh", b:read(8));
	end);

	it("read_until takes up to and including a delimiter", function ()
		local b = dbuffer.new();
		b:write("GET / HTTP/1.1\r");
		b:write("\nHost: x\r\n\r\n");
		assert.equal("GET / HTTP/1.1\r\n", b:read_until("\n"));
		assert.equal("Host: x\r\n", b:read_until("\n"));
		assert.equal("\r\n", b:read_until("\n"));
		assert.is_nil(b:read_until("\n"));
		b:write("abc");
		assert.is_nil(b:read_until("z"));
		assert.equal(3, b:length());
		assert.equal("a", b:read(1));
		assert.equal("bc", b:read_until("c"));
	end);

	it("discard drops bytes", function ()
		local b = dbuffer.new();
		assert.is_nil(b:discard(0));
		b:write("abc");
		b:write("def");
		assert.is_true(b:discard(4));
		assert.equal("ef", b:read(2));
		assert.is_nil(b:discard(1));
		b:write("x");
		assert.is_nil(b:discard(2));
		assert.is_true(b:discard(0));
		assert.is_true(b:discard(1));
	end);

	it("sub looks without taking, with string.sub's indices", function ()
		local b = dbuffer.new();
		b:write("hello ");
		b:write("world");
		local s = "hello world";
		for _, range in ipairs({ { 1, 5 }, { 3 }, { -5 }, { -5, -2 }, { 4, 100 }, { 0, 2 }, { 6, 5 }, { 20 }, { -100, 3 } }) do
			assert.equal(s:sub(range[1], range[2]), b:sub(range[1], range[2]));
		end
		assert.equal(11, b:length());
		b:read(2);
		assert.equal("llo w", b:sub(1, 5));
		assert.equal("ld", b:sub(-2));
	end);

	it("byte looks at bytes", function ()
		local b = dbuffer.new();
		b:write("ab");
		b:write("cd");
		assert.equal(97, b:byte());
		assert.equal(99, b:byte(3));
		assert.same({ 98, 99, 100 }, { b:byte(2, 4) });
		assert.same({ 100 }, { b:byte(-1) });
		assert.same({}, { b:byte(5) });
		b:read(1);
		assert.equal(98, b:byte(1));
	end);

	it("collapse joins the front chunks", function ()
		local b = dbuffer.new();
		b:write("ab");
		b:write("cd");
		b:write("ef");
		b:read(1);
		b:collapse(3);
		assert.equal("bcd", b:read());
		b:collapse();
		assert.equal("ef", b:read());
	end);

	it("has the # operator #prosody_only", function ()
		-- Lua 5.1 (modhost) does not consult __len for tables
		local b = dbuffer.new();
		b:write("abc");
		assert.equal(3, #b);
	end);
end);
