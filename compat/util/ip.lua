-- util.ip: IPv4 and IPv6 addresses, as Prosody 0.12's util.ip.
--
-- new_ip(text[, proto]) parses an address ("IPv4" or "IPv6" may be
-- required; an IPv6 zone after "%" is split off into .zone) into an object
-- with addr (the text as given), packed (4 or 16 bytes), proto and zone, and
-- fields computed on first use and then kept: normal (canonical text), bits
-- and bits_full (the address as a string of "0"/"1", IPv4 as IPv4-mapped
-- IPv6 for bits_full), toV4mapped, scope, label and precedence (RFC 6724's
-- tables), private. Two objects are == when their packed bytes are.
-- match(a, b[, bits]) says whether a lies in the prefix b/bits;
-- parse_cidr("net/bits") gives new_ip(net), bits; commonPrefixLength(a, b)
-- the number of leading bits a and b share (of 128).
--
-- Prosody parses and prints with the C library's inet_pton/inet_ntop; this
-- does the same in Lua (glibc's forms: leading zeros are refused in IPv4,
-- "::ffff:a.b.c.d" and "::a.b.c.d" are printed dotted).

local tonumber, setmetatable, getmetatable, ipairs, select = tonumber, setmetatable, getmetatable, ipairs, select;
local s_char, s_byte, s_format = string.char, string.byte, string.format;
local t_concat = table.concat;
local m_floor = math.floor;

local invalid = "Invalid argument";

-- Four dotted decimal octets, each 0-255 without a leading zero.
local function pack_ipv4(s)
	local octets = {};
	for part in (s .. "."):gmatch("([^.]*)%.") do
		if not part:match("^%d%d?%d?$") or (#part > 1 and part:sub(1, 1) == "0") then return nil; end
		local n = tonumber(part);
		if n > 255 then return nil; end
		octets[#octets + 1] = n;
	end
	if #octets ~= 4 then return nil; end
	return s_char(octets[1], octets[2], octets[3], octets[4]);
end

-- The 16-bit groups of one side of "::" as numbers; a dotted IPv4 address
-- may end the last side.
local function ipv6_groups(s, v4_allowed)
	local groups = {};
	if s == "" then return groups; end
	local parts = {};
	for part in (s .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = part; end
	for i, part in ipairs(parts) do
		if i == #parts and v4_allowed and part:find(".", 1, true) then
			local v4 = pack_ipv4(part);
			if not v4 then return nil; end
			local a, b, c, d = s_byte(v4, 1, 4);
			groups[#groups + 1] = a * 256 + b;
			groups[#groups + 1] = c * 256 + d;
		elseif part:match("^%x%x?%x?%x?$") then
			groups[#groups + 1] = tonumber(part, 16);
		else
			return nil;
		end
	end
	return groups;
end

local function pack_ipv6(s)
	local gap = s:find("::", 1, true);
	local head, tail;
	if gap then
		if s:find("::", gap + 1, true) then return nil; end
		head, tail = ipv6_groups(s:sub(1, gap - 1), false), ipv6_groups(s:sub(gap + 2), true);
		if not head or not tail or #head + #tail > 7 then return nil; end
	else
		head, tail = ipv6_groups(s, true), {};
		if not head or #head ~= 8 then return nil; end
	end
	local bytes = {};
	local function put(g)
		bytes[#bytes + 1] = s_char(m_floor(g / 256), g % 256);
	end
	for _, g in ipairs(head) do put(g); end
	for _ = 1, 8 - #head - #tail do put(0); end
	for _, g in ipairs(tail) do put(g); end
	return t_concat(bytes);
end

local function pton(s)
	local packed;
	if s:find(":", 1, true) then
		packed = pack_ipv6(s);
	else
		packed = pack_ipv4(s);
	end
	if not packed then return nil, invalid; end
	return packed;
end

local function dotted(packed, from)
	local a, b, c, d = s_byte(packed, from, from + 3);
	return s_format("%d.%d.%d.%d", a, b, c, d);
end

-- The longest run of two or more zero groups (the first of equal ones)
-- becomes "::"; an IPv4-mapped or -compatible address ends dotted.
local function ntop(packed)
	if #packed == 4 then return dotted(packed, 1); end
	local groups = {};
	for i = 1, 8 do
		local hi, lo = s_byte(packed, i * 2 - 1, i * 2);
		groups[i] = hi * 256 + lo;
	end
	local best, best_len, run, run_len = nil, 0, nil, 0;
	for i = 1, 9 do
		if i <= 8 and groups[i] == 0 then
			if not run then run, run_len = i, 0; end
			run_len = run_len + 1;
		elseif run then
			if run_len > best_len then best, best_len = run, run_len; end
			run = nil;
		end
	end
	if best_len < 2 then best = nil; end
	local v4_tail = best == 1 and (best_len == 6 or (best_len == 5 and groups[6] == 0xffff));
	local last = v4_tail and 6 or 8;
	local out = {};
	local i = 1;
	while i <= last do
		if i == best then
			out[#out + 1] = i == 1 and "::" or ":";
			i = i + best_len;
		else
			out[#out + 1] = s_format("%x", groups[i]);
			if i < last or v4_tail then out[#out + 1] = ":"; end
			i = i + 1;
		end
	end
	local text = t_concat(out);
	if v4_tail then return text .. dotted(packed, 13); end
	return text;
end

local byte_bits = {};
for n = 0, 255 do
	local digits = {};
	for bit = 7, 0, -1 do
		digits[#digits + 1] = m_floor(n / 2 ^ bit) % 2 == 1 and "1" or "0";
	end
	byte_bits[s_char(n)] = t_concat(digits);
end

local computed = {};
local ip_mt = {
	__tostring = function (ip) return ip.addr; end,
};
function ip_mt.__index(ip, key)
	local compute = computed[key];
	if not compute then return nil; end
	local value = compute(ip);
	ip[key] = value;
	return value;
end
function ip_mt.__eq(a, b)
	if getmetatable(a) ~= ip_mt or getmetatable(b) ~= ip_mt then return false; end
	return a.packed == b.packed;
end

local function new_ip(text, proto)
	local zone;
	if (proto == nil or proto == "IPv6") and text:find("%", 1, true) then
		text, zone = text:match("^(.-)%%(.*)$");
	end
	local packed, err = pton(text);
	if not packed then return nil, err; end
	if proto == "IPv6" then
		if #packed ~= 16 then return nil, "invalid-ipv6"; end
	elseif proto == "IPv4" then
		if #packed ~= 4 then return nil, "invalid-ipv4"; end
	elseif proto == nil then
		proto = #packed == 16 and "IPv6" or "IPv4";
	else
		return nil, "invalid protocol";
	end
	return setmetatable({ addr = text, packed = packed, proto = proto, zone = zone }, ip_mt);
end

local match;

function computed.normal(ip) return ntop(ip.packed); end
function computed.bits(ip) return (ip.packed:gsub(".", byte_bits)); end
function computed.toV4mapped(ip)
	if ip.proto ~= "IPv4" then return nil; end
	return new_ip("::ffff:" .. ip.normal);
end
function computed.bits_full(ip)
	if ip.proto == "IPv4" then return ip.toV4mapped.bits; end
	return ip.bits;
end

local function prefix(text, bits) return { new_ip(text), bits }; end
local function within(ip, p) return match(ip, p[1], p[2]); end

local v6_loopback = new_ip("::1");
local v4_loopback, v4_linklocal = prefix("127.0.0.0", 8), prefix("169.254.0.0", 16);
local v6_linklocal, v6_sitelocal, v6_multicast = prefix("fe80::", 10), prefix("fec0::", 10), prefix("ff00::", 10);

-- RFC 6724's policy table, most specific first: prefix, label, precedence.
local policy = {
	{ prefix("2002::", 16), 2, 30 },
	{ prefix("2001::", 32), 5, 5 },
	{ prefix("fc00::", 7), 13, 3 },
	{ prefix("fec0::", 10), 11, 1 },
	{ prefix("3ffe::", 16), 12, 1 },
	{ prefix("::", 96), 3, 1 },
	{ prefix("::ffff:0:0", 96), 4, 35 },
};

local function policy_of(ip)
	if ip.proto == "IPv4" then ip = ip.toV4mapped; end
	if ip == v6_loopback then return 0, 50; end
	for _, row in ipairs(policy) do
		if within(ip, row[1]) then return row[2], row[3]; end
	end
	return 1, 40;
end

function computed.label(ip) return (policy_of(ip)); end
function computed.precedence(ip) return select(2, policy_of(ip)); end

function computed.scope(ip)
	if ip.proto == "IPv4" then
		if within(ip, v4_loopback) or within(ip, v4_linklocal) then return 0x2; end
		return 0xE;
	end
	if ip == v6_loopback or within(ip, v6_linklocal) then return 0x2; end
	if within(ip, v6_sitelocal) then return 0x5; end
	if within(ip, v6_multicast) then return s_byte(ip.packed, 2) % 16; end
	return 0xE;
end

local v4_private = {
	prefix("10.0.0.0", 8), prefix("172.16.0.0", 12), prefix("192.168.0.0", 16), prefix("100.64.0.0", 10),
};
function computed.private(ip)
	if ip.scope ~= 0xE then return true; end
	if ip.proto ~= "IPv4" then return false; end
	for _, p in ipairs(v4_private) do
		if within(ip, p) then return true; end
	end
	return false;
end

-- Without bits (or with all of them) match is equality; with fewer than
-- one, anything matches. An IPv4 address against an IPv6 prefix is
-- compared as IPv4-mapped, and an IPv4 prefix's bits are counted within
-- the mapped form when the address is IPv6.
function match(a, b, bits)
	if not bits or bits >= 128 or (b.proto == "IPv4" and bits >= 32) then return a == b; end
	if bits < 1 then return true; end
	if a.proto ~= b.proto then
		if a.proto == "IPv4" then
			a = a.toV4mapped;
		else
			b, bits = b.toV4mapped, bits + 96;
		end
	end
	return a.bits:sub(1, bits) == b.bits:sub(1, bits);
end

local function commonPrefixLength(a, b)
	local x, y = a.bits_full, b.bits_full;
	for i = 1, 128 do
		if s_byte(x, i) ~= s_byte(y, i) then return i - 1; end
	end
	return 128;
end

local function parse_cidr(cidr)
	local slash = cidr:find("/", 1, true);
	local bits;
	if slash then
		bits, cidr = tonumber(cidr:sub(slash + 1)), cidr:sub(1, slash - 1);
	end
	return (new_ip(cidr)), bits;
end

return {
	new_ip = new_ip,
	match = match,
	parse_cidr = parse_cidr,
	commonPrefixLength = commonPrefixLength,
};
