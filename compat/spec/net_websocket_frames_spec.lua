-- Behaviour of net.websocket.frames, with RFC 6455 section 5.7's examples.

local frames = require "net.websocket.frames";
local dbuffer = require "util.dbuffer";

local function bytes(...) return string.char(...); end

local hello = bytes(0x81, 0x05) .. "Hello";
local masked_hello = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);

describe("net.websocket.frames", function ()
	describe("build", function ()
		it("writes an unmasked text frame", function ()
			assert.equal(hello, frames.build({ opcode = 0x1, FIN = true, data = "Hello" }));
		end);

		it("masks with the given key", function ()
			assert.equal(masked_hello, frames.build({ opcode = 0x1, FIN = true, MASK = true,
				key = bytes(0x37, 0xfa, 0x21, 0x3d), data = "Hello" }));
		end);

		it("masks with a random key when none is given", function ()
			local frame = frames.build({ opcode = 0x1, FIN = true, MASK = true, data = "Hello" });
			assert.equal(11, #frame);
			assert.equal("Hello", frames.parse(frame).data);
		end);

		it("writes 16- and 64-bit lengths", function ()
			local f = frames.build({ opcode = 0x2, FIN = true, data = ("x"):rep(256) });
			assert.equal(bytes(0x82, 0x7E, 0x01, 0x00), f:sub(1, 4));
			assert.equal(260, #f);
			f = frames.build({ opcode = 0x2, FIN = true, data = ("x"):rep(65536) });
			assert.equal(bytes(0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0), f:sub(1, 10));
			f = frames.build({ opcode = 0x2, FIN = true, data = ("x"):rep(125) });
			assert.equal(bytes(0x82, 125), f:sub(1, 2));
			f = frames.build({ opcode = 0x2, FIN = true, data = ("x"):rep(65535) });
			assert.equal(bytes(0x82, 0x7E, 0xFF, 0xFF), f:sub(1, 4));
		end);

		it("sets the flag bits", function ()
			assert.equal(bytes(0x70, 0x00), frames.build({ opcode = 0, RSV1 = true, RSV2 = true, RSV3 = true }));
			assert.equal(bytes(0x8A, 0x00), frames.build({ opcode = 0xA, FIN = true }));
		end);

		it("refuses bad opcodes and long control frames", function ()
			assert.has_error(function () frames.build({ opcode = 16 }); end, "Invalid WebSocket opcode");
			assert.has_error(function () frames.build({}); end, "Invalid WebSocket opcode");
			assert.has_error(function () frames.build({ opcode = 0x9, data = ("x"):rep(126) }); end,
				"WebSocket control frames MUST have a payload length of 125 bytes or less.");
		end);
	end);

	describe("parse", function ()
		it("reads unmasked and masked frames", function ()
			local frame, size = frames.parse(hello);
			assert.equal(7, size);
			assert.same({ FIN = true, RSV1 = false, RSV2 = false, RSV3 = false, opcode = 1, MASK = false,
				length = 5, data = "Hello" }, frame);
			frame, size = frames.parse(masked_hello);
			assert.equal(11, size);
			assert.equal("Hello", frame.data);
			assert.is_true(frame.MASK);
			assert.equal(bytes(0x37, 0xfa, 0x21, 0x3d), frame.key);
		end);

		it("reads long frames, and frames followed by more", function ()
			local data = ("y"):rep(70000);
			local built = frames.build({ opcode = 2, FIN = true, data = data });
			local frame, size = frames.parse(built .. hello);
			assert.equal(70000, frame.length);
			assert.equal(data, frame.data);
			assert.equal(#built, size);
			assert.equal("Hello", frames.parse((built .. hello):sub(size + 1)).data);
		end);

		it("gives nil, nil and the header for incomplete frames", function ()
			assert.same({}, { frames.parse("\129") });
			local a, b, header = frames.parse(hello:sub(1, 4));
			assert.is_nil(a);
			assert.is_nil(b);
			assert.equal(5, header.length);
			assert.same({}, { frames.parse(bytes(0x82, 0x7E, 0x01)) });
		end);

		it("reads from a dbuffer", function ()
			local buf = dbuffer.new();
			buf:write(masked_hello:sub(1, 3));
			buf:write(masked_hello:sub(4));
			local frame, size = frames.parse(buf);
			assert.equal("Hello", frame.data);
			assert.equal(11, size);
		end);

		it("parse_header and parse_body", function ()
			local header, size = frames.parse_header(masked_hello);
			assert.equal(6, size);
			assert.equal(5, header.length);
			assert.equal("Hello", frames.parse_body(masked_hello, header, size + 1));
			assert.equal("Hel", frames.parse_body(hello, { length = 3 }, 3));
		end);
	end);

	describe("close frames", function ()
		it("builds and parses code and reason", function ()
			local frame = frames.build_close(1000, "bye");
			assert.equal(bytes(0x88, 0x05, 0x03, 0xE8) .. "bye", frame);
			local parsed = frames.parse(frame);
			assert.same({ 1000, "bye" }, { frames.parse_close(parsed.data) });
			assert.same({ 1001 }, { frames.parse_close(bytes(0x03, 0xE9)) });
			assert.same({}, { frames.parse_close("") });
			assert.equal(bytes(0x88, 0x02, 0x03, 0xE8), frames.build_close(1000));
			assert.equal(0x82, frames.build_close(1000, nil, true):byte(2));
			assert.has_error(function () frames.build_close(1000, ("x"):rep(124)); end, "Close reason must be <=123 bytes");
		end);
	end);
end);
