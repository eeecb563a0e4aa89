-- net.websocket.frames: RFC 6455 frame parsing and building, as Prosody
-- 0.12's net.websocket.frames.
--
-- parse(buffer) reads one frame from a string or util.dbuffer: the frame
-- ({ FIN, RSV1, RSV2, RSV3, opcode, MASK, key, length, data }) and the
-- bytes it took, or nil, nil and the header (if that much arrived) when the
-- frame is not complete. parse_header(buffer) gives the header and its
-- length; parse_body(buffer, header, pos) the (unmasked) payload from pos.
-- build(frame) writes a frame (masking with frame.key, or a random one, when
-- MASK is set); parse_close(data) / build_close(code, reason, mask) the
-- close frame's payload.

local random_bytes = require "util.random".bytes;
local bit = require "util.bitcompat";
local band, bor, bxor = bit.band, bit.bor, bit.bxor;

local assert = assert;
local s_char, s_byte, t_concat, floor = string.char, string.byte, table.concat, math.floor;

-- Big-endian unsigned integers of n bytes, from a string or buffer.
local function read_uint(buffer, pos, n)
	local value = 0;
	for i = pos, pos + n - 1 do
		value = value * 256 + buffer:byte(i);
	end
	return value;
end

local function write_uint(value, n)
	local bytes = {};
	for i = n, 1, -1 do
		bytes[i] = s_char(value % 256);
		value = floor(value / 256);
	end
	return t_concat(bytes);
end

-- XOR with the (repeating) 4-byte masking key.
local function mask(data, key)
	local out = {};
	local k1, k2, k3, k4 = s_byte(key, 1, 4);
	local keys = { k1, k2, k3, k4 };
	for i = 1, #data do
		out[i] = s_char(bxor(s_byte(data, i), keys[(i - 1) % 4 + 1]));
	end
	return t_concat(out);
end

local function parse_header(buffer)
	if buffer:len() < 2 then return; end
	local b1, b2 = buffer:byte(1, 2);
	local header = {
		FIN = band(b1, 0x80) ~= 0,
		RSV1 = band(b1, 0x40) ~= 0,
		RSV2 = band(b1, 0x20) ~= 0,
		RSV3 = band(b1, 0x10) ~= 0,
		opcode = band(b1, 0x0F),
		MASK = band(b2, 0x80) ~= 0,
		length = band(b2, 0x7F),
	};
	local extra = 0;
	if header.length == 126 then
		extra = 2;
	elseif header.length == 127 then
		extra = 8;
	end
	local size = 2 + extra + (header.MASK and 4 or 0);
	if buffer:len() < size then return; end
	if extra > 0 then
		header.length = read_uint(buffer, 3, extra);
	end
	if header.MASK then
		header.key = buffer:sub(extra + 3, extra + 6);
	end
	return header, size;
end

local function parse_body(buffer, header, pos)
	local payload = buffer:sub(pos, pos + header.length - 1);
	if header.MASK then
		return mask(payload, header.key);
	end
	return payload;
end

local function parse(buffer)
	local header, size = parse_header(buffer);
	if header == nil or buffer:len() < size + header.length then
		return nil, nil, header;
	end
	header.data = parse_body(buffer, header, size + 1);
	return header, size + header.length;
end

local function build(frame)
	local data = frame.data or "";
	local opcode = frame.opcode;
	assert(opcode and opcode >= 0 and opcode <= 0xF, "Invalid WebSocket opcode");
	if opcode >= 0x8 then
		assert(#data <= 125, "WebSocket control frames MUST have a payload length of 125 bytes or less.");
	end
	local b1 = bor(opcode, frame.FIN and 0x80 or 0, frame.RSV1 and 0x40 or 0,
		frame.RSV2 and 0x20 or 0, frame.RSV3 and 0x10 or 0);
	local b2, length = #data, "";
	if #data > 0xFFFF then
		b2, length = 127, write_uint(#data, 8);
	elseif #data > 125 then
		b2, length = 126, write_uint(#data, 2);
	end
	local key = "";
	if frame.MASK then
		key = frame.key or random_bytes(4);
		b2 = bor(b2, 0x80);
		data = mask(data, key);
	end
	return s_char(b1, b2) .. length .. key .. data;
end

local function parse_close(data)
	local code, reason;
	if #data >= 2 then
		code = read_uint(data, 1, 2);
		if #data > 2 then reason = data:sub(3); end
	end
	return code, reason;
end

local function build_close(code, reason, masked)
	local data = write_uint(code, 2);
	if reason then
		assert(#reason <= 123, "Close reason must be <=123 bytes");
		data = data .. reason;
	end
	return build({ opcode = 0x8, FIN = true, MASK = masked, data = data });
end

return {
	parse_header = parse_header;
	parse_body = parse_body;
	parse = parse;
	build = build;
	parse_close = parse_close;
	build_close = build_close;
};
