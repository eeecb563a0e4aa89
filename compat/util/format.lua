-- util.format: string.format that never raises and does not let arguments
-- forge log lines, as Prosody 0.12's util.format (module:log and
-- util.logger format through it).
--
-- format(fmt, ...) is fmt:format(...) except that:
--   a missing (nil) argument is written "(nil)" whatever its conversion;
--   %s writes non-strings through tostring;
--   a number conversion given a non-number writes it as [text], and an
--   integer one (%d, %x, %c …) given a fraction, or an unsigned one (%o,
--   %u, %x, %X) a negative number, writes [number];
--   strings have ASCII control characters (but tab and newline) replaced
--   by their Unicode pictures (U+2400 …) and every newline followed by a
--   tab, so a value cannot start a log line of its own;
--   a string that is not valid UTF-8, and any %q argument, is written as
--   util.serialization's "debug" form (quoted, bytes from 127 as \ddd);
--   %p on a Lua without it writes [tostring(value)];
--   arguments beyond the format are appended, each as " [value]".

local type, tostring, select = type, tostring, select;
local unpack = table.unpack or unpack; -- luacheck: ignore 113/unpack
local pack = require "util.table".pack;
local utf8_valid = require "util.encodings".utf8.valid;
local debug_form = require "util.serialization".new("debug");
local math_type = math.type; -- luacheck: ignore 143 (Lua 5.3+, which modhost adds)

local integer_only = { c = true, d = true, i = true, o = true, u = true, x = true, X = true };
local unsigned_only = { o = true, u = true, x = true, X = true };

local has_p = pcall(string.format, "%p", "");
local has_a = pcall(string.format, "%a", 0.5);
-- gopher-lua's string.format has no %u; a non-negative integer is the same with %d.
local has_u = select(2, pcall(string.format, "%u", 5)) == "5";

-- U+2400 + byte for 0x00-0x1F, U+2421 for 0x7F, as UTF-8 (E2 90 xx).
local pictures = { ["\127"] = "\226\144\161" };
for byte = 0, 31 do pictures[string.char(byte)] = "\226\144" .. string.char(128 + byte); end

local function defang(s)
	s = s:gsub("[%z\1-\8\11-\31\127]", pictures);
	return (s:gsub("\n\t?", "\n\t"));
end

local conversion = "%%[^cdiouxXaAeEfgGpqs%%]*[cdiouxXaAeEfgGpqs%%]";

local function format(fmt, ...)
	local args = pack(...);
	local count = select("#", ...);
	local i = 0;

	-- Each conversion is kept (nil), or replaced by the returned one with
	-- args[i] replaced to suit it.
	local function rewrite(spec)
		if spec == "%%" then return nil; end
		i = i + 1;
		local arg = args[i];
		if arg == nil then
			args[i] = "nil";
			return "(%s)";
		end
		local option = spec:sub(-1);
		local kind = type(arg);

		if kind == "number" then
			if option == "g" or (option == "d" and math_type(arg) == "integer") then return nil; end
			if option ~= "s" and option ~= "q" and option ~= "p" then
				if integer_only[option] and math_type(arg) ~= "integer" then
					args[i] = tostring(arg);
					return "[%s]";
				elseif unsigned_only[option] and arg < 0 then
					args[i] = tostring(arg);
					return "[%s]";
				elseif (option == "a" or option == "A") and not has_a then
					return "%x";
				elseif option == "u" and not has_u then
					return spec:sub(1, -2) .. "d";
				end
				return nil;
			end
		elseif kind == "string" then
			if option == "s" and not arg:find("[%z\1-\31\128-\255]") then return nil; end
		elseif option == "s" then
			arg, kind = tostring(arg), "string";
		end

		-- A number conversion given something else shows it as text.
		if option ~= "s" and option ~= "q" and option ~= "p" and kind ~= "number" then
			arg, option, spec, kind = tostring(arg), "s", "[%s]", "string";
		end
		if option == "p" and not has_p then
			arg, option, spec, kind = tostring(arg), "s", "[%s]", "string";
		end

		if kind == "string" and option ~= "p" then
			if not utf8_valid(arg) then
				option = "q";
			elseif option ~= "q" then
				args[i] = defang(arg);
				return spec;
			end
		end
		if option == "q" then
			args[i] = debug_form(arg);
			return "%s";
		end
		if option == "p" and (kind == "boolean" or kind == "number") then
			args[i] = tostring(arg);
			return "[%s]";
		end
		return nil;
	end

	fmt = fmt:gsub(conversion, rewrite);

	while i < count do
		i = i + 1;
		local arg = args[i];
		if arg == nil then
			args[i] = "(nil)";
		else
			args[i] = defang(tostring(arg));
		end
		fmt = fmt .. " [%s]";
	end

	return fmt:format(unpack(args, 1, count > i and count or i));
end

return { format = format };
