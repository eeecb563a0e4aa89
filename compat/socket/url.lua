-- socket.url: LuaSocket's URL module (RFC 2396 parsing, building and
-- resolution), which plugins require without the rest of LuaSocket.
--
-- parse(url[, defaults]) splits "scheme://user:password@host:port/path;params
-- ?query#fragment" into a table with those fields (plus authority and
-- userinfo); build(parsed) puts one back together; absolute(base, relative)
-- resolves a reference against a base; parse_path/build_path split a path
-- into unescaped segments and join them again; escape/unescape are %XX
-- coding. Written from LuaSocket 3.1's documented behaviour.

local string_format, string_byte, string_char = string.format, string.byte, string.char;
local tonumber, tostring, type, pairs = tonumber, tostring, type, pairs;
local t_concat = table.concat;

local url = { _VERSION = "URL 1.0.3" };

-- Every byte but letters, digits and "_" becomes %xx (lower-case hex).
function url.escape(s)
	return (s:gsub("[^%w_]", function (c)
		return string_format("%%%02x", string_byte(c));
	end));
end

function url.unescape(s)
	return (s:gsub("%%(%x%x)", function (h)
		return string_char(tonumber(h, 16));
	end));
end

-- Characters a path segment may hold as they are (besides letters, digits
-- and "_"); build_path writes the others as %XX (upper-case hex).
local segment_safe = {};
for c in ("-_.!~*'():@&=+$,"):gmatch(".") do segment_safe[c] = true; end

local function protect_segment(s)
	return (s:gsub("[^%w_]", function (c)
		if segment_safe[c] then return c; end
		return string_format("%%%02X", string_byte(c));
	end));
end

local function split_slashes(s)
	local parts, start = {}, 1;
	while true do
		local slash = s:find("/", start, true);
		if not slash then
			parts[#parts + 1] = s:sub(start);
			return parts;
		end
		parts[#parts + 1] = s:sub(start, slash - 1);
		start = slash + 1;
	end
end

-- Drops "." segments and lets each ".." cancel the segment before it. Empty
-- segments (from "//") count as segments; a ".." with nothing left to cancel
-- is dropped after a leading "/" and kept in a relative path.
local function remove_dots(path)
	local parts = split_slashes(path);
	local out = {};
	local n = #parts;
	local rooted = parts[1] == "" and n > 1;
	for i = rooted and 2 or 1, n do
		local seg = parts[i];
		local last = i == n;
		if seg == "." then
			if last then out[#out + 1] = ""; end
		elseif seg == ".." then
			local top = #out;
			if top > 0 and out[top] ~= ".." then
				out[top] = nil;
				if last then out[#out + 1] = ""; end
			elseif rooted then
				if last then out[#out + 1] = ""; end
			else
				out[#out + 1] = seg;
			end
		else
			out[#out + 1] = seg;
		end
	end
	local joined = t_concat(out, "/");
	if rooted then return "/" .. joined; end
	return joined;
end

-- The path part of a URL whose scheme and authority were already taken off
-- stays as it is; dot segments are only resolved by absolute().
function url.parse(s, defaults)
	local parsed = {};
	for k, v in pairs(defaults or parsed) do parsed[k] = v; end
	if not s or s == "" then return nil, "invalid url"; end

	local scheme, rest = s:match("^(%w[%w+%-.]*):(.*)$");
	if scheme then parsed.scheme, s = scheme, rest; end

	local authority;
	authority, rest = s:match("^//([^/]*)(.*)$");
	if authority then parsed.authority, s = authority, rest; end

	local hash = s:find("#", 1, true);
	if hash then parsed.fragment, s = s:sub(hash + 1), s:sub(1, hash - 1); end
	local question = s:find("?", 1, true);
	if question then parsed.query, s = s:sub(question + 1), s:sub(1, question - 1); end
	local semicolon = s:find(";", 1, true);
	if semicolon then parsed.params, s = s:sub(semicolon + 1), s:sub(1, semicolon - 1); end
	if s ~= "" then parsed.path = s; end

	if not authority then return parsed; end
	local userinfo, hostport = authority:match("^([^@]*)@(.*)$");
	if userinfo then parsed.userinfo = userinfo; else hostport = authority; end
	local host, port = hostport:match("^(.-):([^:%]]*)$");
	if host then parsed.port = port; else host = hostport; end
	if host ~= "" then
		parsed.host = host:match("^%[(.+)%]$") or host;
	end
	if not userinfo then return parsed; end
	local user, password = userinfo:match("^(.-):([^:]*)$");
	if user then parsed.password = password; else user = userinfo; end
	parsed.user = user;
	return parsed;
end

-- host, port, user and password, when there, take the place of authority
-- and userinfo; a host with a ":" in it (IPv6) is bracketed.
function url.build(parsed)
	local out = parsed.path or "";
	if parsed.params then out = out .. ";" .. parsed.params; end
	if parsed.query then out = out .. "?" .. parsed.query; end
	local authority = parsed.authority;
	if parsed.host then
		authority = parsed.host;
		if authority:find(":", 1, true) then authority = "[" .. authority .. "]"; end
		if parsed.port then authority = authority .. ":" .. tostring(parsed.port); end
		local userinfo = parsed.userinfo;
		if parsed.user then
			userinfo = parsed.user;
			if parsed.password then userinfo = userinfo .. ":" .. parsed.password; end
		end
		if userinfo then authority = userinfo .. "@" .. authority; end
	end
	if authority then out = "//" .. authority .. out; end
	if parsed.scheme then out = parsed.scheme .. ":" .. out; end
	if parsed.fragment then out = out .. "#" .. parsed.fragment; end
	return out;
end

local function merge_paths(base_path, relative_path)
	if relative_path:sub(1, 1) == "/" then return remove_dots(relative_path); end
	local dir = base_path:match("^(.*/)") or "/";
	return remove_dots(dir .. relative_path);
end

-- The parts a relative reference leaves out come from the base, as in RFC
-- 2396 section 5.2; base may be a URL string or a table from parse().
function url.absolute(base, relative)
	local base_parsed;
	if type(base) == "table" then
		base_parsed, base = base, url.build(base);
	else
		base_parsed = url.parse(base);
	end
	local rel = url.parse(relative);
	if not base_parsed then return relative; end
	if not rel then return base; end
	if rel.scheme then return relative; end
	rel.scheme = base_parsed.scheme;
	if not rel.authority then
		rel.authority = base_parsed.authority;
		if rel.path then
			rel.path = merge_paths(base_parsed.path or "", rel.path);
		else
			rel.path = base_parsed.path;
			if not rel.params then
				rel.params = base_parsed.params;
				if not rel.query then rel.query = base_parsed.query; end
			end
		end
	end
	return url.build(rel);
end

-- Segments are unescaped; is_absolute and is_directory are 1 when the path
-- starts or ends with "/". Empty segments are left out.
function url.parse_path(path)
	path = path or "";
	local parsed = {};
	for seg in path:gmatch("[^/]+") do parsed[#parsed + 1] = url.unescape(seg); end
	if path:sub(1, 1) == "/" then parsed.is_absolute = 1; end
	if path:sub(-1) == "/" then parsed.is_directory = 1; end
	return parsed;
end

-- Unless unsafe is true, each segment's reserved characters are escaped.
function url.build_path(parsed, unsafe)
	local segs = {};
	for i = 1, #parsed do
		segs[i] = unsafe and parsed[i] or protect_segment(parsed[i]);
	end
	local path = t_concat(segs, "/");
	if #segs > 0 and parsed.is_directory then path = path .. "/"; end
	if parsed.is_absolute then path = "/" .. path; end
	return path;
end

return url;
