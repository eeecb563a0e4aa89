-- Behaviour of util.ringbuffer: a fixed-size byte queue (C in Prosody).

local ringbuffer = require "util.ringbuffer";

describe("util.ringbuffer", function ()
	describe("new", function ()
		it("makes a buffer of the size asked, empty", function ()
			local b = ringbuffer.new(10);
			assert.equal(10, b:size());
			assert.equal(0, b:length());
			assert.equal(0, #b);
			assert.equal(10, b:free());
		end);

		it("gives a page without a size", function ()
			assert.equal(4096, ringbuffer.new():size());
		end);

		it("refuses a size that is not positive", function ()
			assert.has_error(function () ringbuffer.new(0); end);
			assert.has_error(function () ringbuffer.new(-3); end);
		end);

		it("says what it holds when made a string", function ()
			local b = ringbuffer.new(8);
			b:write("abc");
			assert.matches("^ringbuffer: .* 3/8$", tostring(b));
		end);
	end);

	describe("write", function ()
		it("returns how many bytes it took", function ()
			local b = ringbuffer.new(5);
			assert.equal(3, b:write("abc"));
			assert.equal(0, b:write(""));
			assert.equal(2, b:free());
		end);

		it("takes nothing of what does not fit", function ()
			local b = ringbuffer.new(5);
			b:write("abc");
			assert.is_nil(b:write("def"));
			assert.equal(3, b:length());
			assert.equal(2, b:write("de"));
			assert.equal(0, b:free());
			assert.equal("abcde", b:read(5));
		end);
	end);

	describe("read", function ()
		it("takes bytes from the front", function ()
			local b = ringbuffer.new(10);
			b:write("hello world");
			b:write("hello");
			assert.equal("hel", b:read(3));
			assert.equal("lo", b:read(2));
			assert.equal(0, b:length());
		end);

		it("leaves them with peek", function ()
			local b = ringbuffer.new(10);
			b:write("hello");
			assert.equal("hel", b:read(3, true));
			assert.equal(5, #b);
			assert.equal("hello", b:read(5));
		end);

		it("returns nil for more than it holds, and keeps it", function ()
			local b = ringbuffer.new(10);
			b:write("abc");
			assert.is_nil(b:read(4));
			assert.equal("abc", b:read(3));
			assert.equal("", b:read(0));
		end);

		it("reads across the end of its storage", function ()
			local b = ringbuffer.new(6);
			b:write("abcd");
			assert.equal("abc", b:read(3));
			assert.equal(5, b:write("efghi"));
			assert.equal(0, b:free());
			assert.equal("defghi", b:read(6, true));
			assert.equal("de", b:read(2));
			assert.equal("fghi", b:read(4));
		end);
	end);

	describe("find and readuntil", function ()
		it("find gives where the first match ends", function ()
			local b = ringbuffer.new(20);
			b:write("one\ntwo\n");
			assert.equal(4, b:find("\n"));
			assert.equal(6, b:find("tw"));
			assert.is_nil(b:find("three"));
			assert.equal(8, #b);
		end);

		it("readuntil takes everything up to and with the match", function ()
			local b = ringbuffer.new(20);
			b:write("one\r\ntwo\r\nthr");
			assert.equal("one\r\n", b:readuntil("\r\n"));
			assert.equal("two\r\n", b:readuntil("\r\n"));
			assert.is_nil(b:readuntil("\r\n"));
			assert.equal("thr", b:read(3));
		end);

		it("finds across the end of its storage", function ()
			local b = ringbuffer.new(8);
			b:write("xxxxxab");
			b:discard(5);
			b:write("cde");
			assert.equal(3, b:find("bc"));
			assert.equal("abc", b:readuntil("bc"));
		end);

		it("finds nothing in an empty buffer", function ()
			local b = ringbuffer.new(8);
			assert.is_nil(b:find("a"));
		end);

		it("finds nothing in a full buffer, as Prosody's does", function ()
			-- Its read and write positions meet both when empty and when full.
			local b = ringbuffer.new(4);
			b:write("a\nbc");
			assert.is_nil(b:find("\n"));
			assert.is_nil(b:readuntil("\n"));
			b:read(1);
			assert.equal(1, b:find("\n"));
		end);
	end);

	describe("discard", function ()
		it("drops bytes from the front", function ()
			local b = ringbuffer.new(10);
			b:write("abcdef");
			assert.is_true(b:discard(2));
			assert.equal("cd", b:read(2));
		end);

		it("drops nothing when asked for more than it holds", function ()
			local b = ringbuffer.new(10);
			b:write("abc");
			assert.is_false(b:discard(4));
			assert.equal("abc", b:read(3));
		end);
	end);

	describe("sub and byte", function ()
		local b;
		before_each(function ()
			b = ringbuffer.new(8);
			b:write("zzzzz");
			b:discard(5);
			b:write("abcdef");
		end);

		it("sub counts like string.sub", function ()
			assert.equal("abcdef", b:sub(1));
			assert.equal("bcd", b:sub(2, 4));
			assert.equal("ef", b:sub(-2));
			assert.equal("abc", b:sub(-10, 3));
			assert.equal("abcdef", b:sub(0, 100));
			assert.equal("", b:sub(4, 2));
			assert.equal("", b:sub(1, 0));
			assert.equal(6, #b);
		end);

		it("byte counts like string.byte", function ()
			assert.equal(97, b:byte());
			assert.same({ 98, 99 }, { b:byte(2, 3) });
			assert.same({ 102 }, { b:byte(-1) });
			assert.same({ 101, 102 }, { b:byte(-2, -1) });
			assert.same({}, { b:byte(7) });
			assert.same({}, { b:byte(3, 2) });
		end);
	end);
end);
