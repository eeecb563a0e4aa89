-- util.http: the URL and form encoding helpers of Prosody 0.12.

local byte, char, format = string.byte, string.char, string.format;
local tonumber, pairs, ipairs = tonumber, pairs, ipairs;
local concat = table.concat;

local function percent(c)
	return format("%%%02x", byte(c));
end

local function unpercent(hex)
	return char(tonumber(hex, 16));
end

-- urlencode escapes everything but RFC 3986's unreserved characters, with
-- lower-case hex digits as Prosody does. nil stays nil.
local function urlencode(s)
	if not s then return s; end
	return (s:gsub("[^a-zA-Z0-9.~_-]", percent));
end

local function urldecode(s)
	if not s then return s; end
	return (s:gsub("%%(%x%x)", unpercent));
end

local function form_part(s)
	return (urlencode(s):gsub("%%20", "+"));
end

-- formencode takes either a list of { name =, value = } (order kept) or a
-- map of name to value.
local function formencode(form)
	local parts = {};
	if form[1] then
		for _, field in ipairs(form) do
			parts[#parts + 1] = form_part(field.name) .. "=" .. form_part(field.value);
		end
	else
		for name, value in pairs(form) do
			parts[#parts + 1] = form_part(name) .. "=" .. form_part(value);
		end
	end
	return concat(parts, "&");
end

local function form_unpart(s)
	return urldecode((s:gsub("%+", " ")));
end

-- formdecode returns both a list of { name =, value = } and name → value
-- fields in one table; a string without "=" is just URL-decoded.
local function formdecode(s)
	if not s:find("=", 1, true) then
		return urldecode(s);
	end
	local form = {};
	for name, value in s:gmatch("([^=&]*)=([^&]*)") do
		name, value = form_unpart(name), form_unpart(value);
		form[#form + 1] = { name = name, value = value };
		form[name] = value;
	end
	return form;
end

-- contains_token tells whether a comma-separated header value (such as
-- Connection) lists token, ignoring case and blanks.
local function contains_token(field, token)
	local list = "," .. field:gsub("[ \t]", ""):lower() .. ",";
	return list:find("," .. token:lower() .. ",", 1, true) ~= nil;
end

-- normalize_path gives path a leading slash, and a trailing one exactly when
-- is_dir is true.
local function normalize_path(path, is_dir)
	local has_trailing = path:sub(-1) == "/";
	if is_dir and not has_trailing then
		path = path .. "/";
	elseif not is_dir and has_trailing then
		path = path:sub(1, -2);
	end
	if path:sub(1, 1) ~= "/" then
		path = "/" .. path;
	end
	return path;
end

return {
	urlencode = urlencode;
	urldecode = urldecode;
	formencode = formencode;
	formdecode = formdecode;
	contains_token = contains_token;
	normalize_path = normalize_path;
};
