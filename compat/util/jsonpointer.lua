-- util.jsonpointer: RFC 6901 JSON Pointer lookup, as Prosody 0.12's
-- util.jsonpointer, over decoded JSON (util.json tables).
--
-- resolve(doc, pointer) follows "/a/0/b" (~1 for "/", ~0 for "~"): tables
-- whose (first) key is a string are objects, those with number keys arrays
-- (0-based in the pointer; "-" is past the end); the value found, or nil,
-- or nil and "invalid-table" for a table with neither kind of key.
--
-- Quirks kept from Prosody: a step into a non-table value that is not the
-- last step is skipped (lookup continues from the same table), and a
-- non-numeric step into an array raises an error.

local type, next, tonumber = type, next, tonumber;
local floor = math.floor;

local function is_integer(v)
	return type(v) == "number" and v == floor(v) and v >= -2^53 and v <= 2^53;
end

local function unescape(token)
	return (token:gsub("~1", "/"):gsub("~0", "~"));
end

local function resolve(doc, pointer)
	local after_last = #pointer + 1;
	for raw, pos in pointer:gmatch("/([^/]*)()") do
		local token = unescape(raw);
		if type(doc) ~= "table" then
			return nil;
		end
		local first_key = next(doc);
		local value;
		if type(first_key) == "string" then
			value = doc[token];
		elseif is_integer(first_key) then
			local i;
			if token == "-" then
				i = #doc + 1;
			else
				i = tonumber(token);
			end
			if i == nil then
				error("invalid array index in JSON pointer: " .. token);
			end
			value = doc[i + 1];
		else
			return nil, "invalid-table";
		end
		if pos == after_last then
			return value;
		elseif type(value) == "table" then
			doc = value;
		end
	end
	return doc;
end

return { resolve = resolve };
