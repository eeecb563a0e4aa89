-- util.serialization: Lua values to Lua source and back, as Prosody 0.12's
-- util.serialization, output byte for byte.
--
-- serialize(value[, opt]) and new(opt) (which returns a serializer
-- function) write tables, strings, numbers, booleans and nil as a Lua
-- expression; deserialize(text) evaluates one in an empty environment and
-- returns the value (or nil and the error).
--
-- opt is a table, or a preset name standing for { preset = name }:
--   preset      "oneline" ({ 1; 2 }), "compact" ({1;2;k=v}) or "debug"
--               (oneline, unquoted keys, never raises, uses __freeze)
--   indentwith, itemstart, itemsep, itemlast, tstart, tend, kstart, kend,
--   equals      the pieces tables are written with (default: one item per
--               line, tab-indented, `["key"] = value;`)
--   unquoted    true: identifier keys written bare; or a Lua pattern keys
--               must match to be written bare. keywords: the names never
--               written bare (default: Lua's reserved words).
--   fatal       false: unserializable values are written as
--               {__type="…",__error="…"} instead of raising
--   fallback    function(value, why) giving the text for such values
--   hex         a prefix: strings that escaping would make longer than
--               their hex form are written as PREFIX"hex"
--   freeze      true: a table whose metatable has __freeze is written as
--               what __freeze returns (a string as it is, a table after
--               the metatable's __name)
--   maxdepth    tables nested deeper are unserializable (default 127)
--   multiref    true: a table may appear more than once (not in a cycle)
--   table_iterator  function(t) returning the iterator for t's items
-- Items come in the table iterator's order; a run of keys 1, 2, … in that
-- order is written without keys.

local type, next, pairs, tostring, getmetatable, error, pcall = type, next, pairs, tostring, getmetatable, error, pcall;
local s_format, s_rep = string.format, string.rep;
local t_concat = table.concat;
local math_type = math.type; -- luacheck: ignore 143 (Lua 5.3+, which modhost adds)
local huge = math.huge;

local hex_encode = require "util.hex".encode;
local envload = require "util.envload".envload;

local function raise(value, why)
	local msg = "Can't serialize " .. type(value);
	if why then msg = msg .. ": " .. why; end
	error(msg);
end

local function placeholder(value, why)
	return s_format("{__type=%q,__error=%q}", type(value), why or "fail");
end

-- Every control byte, quote, backslash and byte from 127 up is escaped:
-- by name where Lua has one, else as \ddd.
local escapes = {};
for byte = 0, 255 do
	if byte < 32 or byte >= 127 then escapes[string.char(byte)] = s_format("\\%03d", byte); end
end
local named = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v" };
for letter, char in pairs(named) do escapes[char] = "\\" .. letter; end
for char in ("\\\"'"):gmatch(".") do escapes[char] = "\\" .. char; end

local function quote(s)
	return '"' .. s:gsub("[%z\1-\31\"'\\\127-\255]", escapes) .. '"';
end

local function number_text(n)
	if n ~= n then return "(0/0)"; end
	if n == huge then return "(1/0)"; end
	if n == -huge then return "(-1/0)"; end
	if math_type(n) == "integer" then return s_format("%d", n); end
	return s_format("%.18g", n);
end

local lua_keywords = {};
for word in ([[and break do else elseif end false for function goto if in
	local nil not or repeat return then true until while]]):gmatch("%a+") do
	lua_keywords[word] = true;
end

local presets = {
	oneline = { indentwith = "", itemstart = " ", itemlast = "", tend = " }" },
	compact = { indentwith = "", itemstart = "", itemlast = "", equals = "=" },
};

local function raw_pairs(t) return next, t, nil; end

local function new(opt)
	if type(opt) ~= "table" then opt = { preset = opt }; end
	if opt.preset == "debug" then
		opt.preset, opt.freeze, opt.fatal, opt.unquoted = "oneline", true, false, true;
		opt.fallback = placeholder;
	end
	local preset = presets[opt.preset];
	if preset then
		for k, v in pairs(preset) do
			if opt[k] == nil then opt[k] = v; end
		end
		if opt.preset == "compact" then opt.unquoted = true; end
	end

	local fallback = opt.fallback or (opt.fatal == false and placeholder) or raise;
	local keywords = opt.keywords or lua_keywords;
	local indentwith = opt.indentwith or "\t";
	local itemstart = opt.itemstart or "\n";
	local itemsep = opt.itemsep or ";";
	local itemlast = opt.itemlast or ";\n";
	local tstart, tend = opt.tstart or "{", opt.tend or "}";
	local kstart, kend = opt.kstart or "[", opt.kend or "]";
	local equals = opt.equals or " = ";
	local bare_key = opt.unquoted;
	if bare_key == true then bare_key = "^[%a_][%w_]*$"; end
	local hex_prefix = opt.hex;
	local freeze = opt.freeze == true;
	local maxdepth = opt.maxdepth or 127;
	local multiref = opt.multiref;
	local items_of = opt.table_iterator or raw_pairs;

	local string_text = quote;
	if type(hex_prefix) == "string" then
		function string_text(s)
			local escaped = quote(s);
			if #escaped > #s * 2 + 2 + #hex_prefix then
				return hex_prefix .. '"' .. hex_encode(s) .. '"';
			end
			return escaped;
		end
	end

	local scalar = {
		string = string_text,
		number = number_text,
		boolean = tostring,
		["nil"] = function () return "nil"; end,
	};

	-- write_table appends t's text to buf; seen holds the tables written (or
	-- being written, with multiref) so far. It recurses straight into nested
	-- tables (one call per level, so maxdepth fits in the VM's call stack).
	local function write_table(buf, t, depth, seen)
		if seen[t] then
			buf[#buf + 1] = fallback(t, "table has multiple references");
			return;
		elseif depth > maxdepth then
			buf[#buf + 1] = fallback(t, "max table depth reached");
			return;
		end
		local original = t;
		seen[original] = true;

		if freeze then
			local mt = getmetatable(t);
			local freezer = type(mt) == "table" and mt.__freeze;
			if type(freezer) == "function" then
				t = freezer(t);
				if type(t) == "string" then
					buf[#buf + 1] = t;
					return;
				end
				if type(mt.__name) == "string" then buf[#buf + 1] = mt.__name; end
			end
		end

		buf[#buf + 1] = tstart;
		local indent = s_rep(indentwith, depth);
		local next_index = 1;
		local any = false;
		for k, v in items_of(t) do
			any = true;
			buf[#buf + 1] = itemstart;
			buf[#buf + 1] = indent;
			if k == next_index then
				next_index = next_index + 1;
			elseif bare_key and type(k) == "string" and not keywords[k] and k:match(bare_key) then
				buf[#buf + 1] = k;
				buf[#buf + 1] = equals;
			else
				buf[#buf + 1] = kstart;
				if type(k) == "table" then
					write_table(buf, k, depth + 1, seen);
				else
					buf[#buf + 1] = (scalar[type(k)] or fallback)(k);
				end
				buf[#buf + 1] = kend;
				buf[#buf + 1] = equals;
			end
			if type(v) == "table" then
				write_table(buf, v, depth + 1, seen);
			else
				buf[#buf + 1] = (scalar[type(v)] or fallback)(v);
			end
			buf[#buf + 1] = itemsep;
		end
		if any then
			buf[#buf] = itemlast;
			buf[#buf + 1] = s_rep(indentwith, depth - 1);
		end
		buf[#buf + 1] = tend;

		if multiref then seen[original] = nil; end
	end

	return function (value)
		if type(value) ~= "table" then
			return (scalar[type(value)] or fallback)(value);
		end
		local buf = {};
		write_table(buf, value, 1, {});
		return t_concat(buf);
	end
end

local function deserialize(text)
	if type(text) ~= "string" then return nil; end
	local f, err = envload("return " .. text, "=serialized data", {});
	if not f then return nil, err; end
	local ok, value = pcall(f);
	if not ok then return nil, value; end
	return value;
end

local default = new();

local function serialize(value, opt)
	if opt == nil then return default(value); end
	return new(opt)(value);
end

return {
	new = new;
	serialize = serialize;
	deserialize = deserialize;
};
