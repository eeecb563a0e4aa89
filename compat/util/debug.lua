-- util.debug: tracebacks that show each level's locals and upvalues, as
-- Prosody 0.12's util.debug prints them (its admin shell and error logs
-- use them). Strings in variables whose name ends in password, passwd,
-- pass or pwd are shown as <hidden>.
--
-- Under modhost, debug.getinfo gives no namewhat: a level's line says
-- "in function" without "local"/"global"/"method".

local debug_getinfo, debug_getlocal, debug_getupvalue = debug.getinfo, debug.getlocal, debug.getupvalue;
local co_running = coroutine.running;
local s_format, s_rep = string.format, string.rep;
local t_concat, t_insert = table.concat, table.insert;
local m_floor, huge = math.floor, math.huge;
local ipairs, pcall, tostring, type = ipairs, pcall, tostring, type;

local secret_names = { password = true, passwd = true, pass = true, pwd = true };
local line_length = 65;

-- The terminal styles Prosody's util.termcolours gives these parts.
local style = {
	padding = "1";
	filename = "1;34";
	level = "32";
	name = "33";
	location = "33";
};

local function styled(code, text)
	return s_format("\27[%sm%s\27[0m", code, text);
end

local function get_locals_table(thread, level)
	local locals = {};
	local n = 1;
	while true do
		local name, value;
		if thread then
			name, value = debug_getlocal(thread, level, n);
		else
			name, value = debug_getlocal(level + 1, n);
		end
		if name == nil then break; end
		locals[n] = { name = name, value = value };
		n = n + 1;
	end
	return locals;
end

local function get_upvalues_table(func)
	local upvalues = {};
	if not func then return upvalues; end
	local n = 1;
	while true do
		local name, value = debug_getupvalue(func, n);
		if name == nil then break; end
		if name == "" then name = "[" .. n .. "]"; end
		upvalues[n] = { name = name, value = value };
		n = n + 1;
	end
	return upvalues;
end

-- How one variable's value is shown.
local function show_value(name, value, max_len)
	local shown;
	if type(value) ~= "string" then
		shown = tostring(value);
	elseif secret_names[name:match("%a+$")] then
		shown = "<hidden>";
	else
		shown = s_format("%q", value);
	end
	if #shown > max_len then
		shown = shown:sub(1, max_len - 3) .. "…";
	end
	return shown;
end

local function string_from_var_table(var_table, max_line_len, indent_str)
	max_line_len = max_line_len or huge;
	local newline = "\n" .. (indent_str or "");
	local parts, column = {}, 0;
	for _, var in ipairs(var_table) do
		local name = var.name;
		-- "(for index)", "(temporary)" …: Lua's own, not the program's.
		if name:sub(1, 1) ~= "(" then
			local part = name .. " = " .. show_value(name, var.value, max_line_len);
			column = column + #part;
			if column > max_line_len then
				-- The break goes before the part that overflows, and the
				-- count starts again from nothing, as Prosody's does.
				t_insert(parts, newline);
				column = 0;
			end
			t_insert(parts, part);
		end
	end
	if parts[1] == nil then return nil; end
	local joined = t_concat(parts, ", ");
	-- A break stands for the ", " that would follow it.
	local out, from = {}, 1;
	while true do
		local at = joined:find(newline .. ", ", from, true);
		if not at then break; end
		out[#out + 1] = joined:sub(from, at - 1) .. newline;
		from = at + #newline + 2;
	end
	out[#out + 1] = joined:sub(from);
	return "{ " .. t_concat(out) .. " }";
end

local function get_traceback_table(thread, start_level)
	local levels = {};
	local level = start_level;
	while true do
		local info;
		if thread then
			info = debug_getinfo(thread, level);
		else
			info = debug_getinfo(level + 1);
		end
		if info == nil then break; end
		levels[#levels + 1] = {
			level = level;
			info = info;
			locals = get_locals_table(thread, level + 1);
			upvalues = get_upvalues_table(info.func);
		};
		level = level + 1;
	end
	return levels;
end

-- The line that opens the levels from one source file.
local function source_marker(source)
	local padding = s_rep("-", m_floor((line_length - 6 - #source) / 2));
	local closing = (#source % 2 == 0) and "-v" or "v ";
	return styled(style.padding, "v" .. padding) .. " " .. styled(style.filename, source)
		.. " " .. styled(style.padding, padding .. closing);
end

-- What one level's line says about it.
local function describe_level(info)
	local namewhat = info.namewhat or "";
	local kind = namewhat ~= "" and (namewhat .. " ") or "";
	if info.short_src == "[C]" then
		local name = info.name and s_format("%q", info.name) or "(unknown name)";
		return "[ C ] " .. kind .. "C function " .. styled(style.location, name);
	end
	local at = styled(style.location, info.short_src .. " line " .. info.currentline);
	if info.what == "main" then
		return "[Lua] " .. at;
	end
	local name = " ";
	-- gopher-lua names a function without a name "<file:line>".
	if info.name and not info.name:match("^<.*>$") then
		name = s_format("%q", info.name);
	end
	if kind == "global " or kind == "local " then
		kind = kind .. "function ";
	end
	return "[Lua] " .. at .. " in " .. kind .. styled(style.name, name)
		.. " (defined on line " .. info.linedefined .. ")";
end

local function build_traceback(thread, message, level)
	-- debug.traceback's argument forms: (), (thread), (message [, level]),
	-- (thread, message [, level]); anything else gives nil, as it does.
	if thread == nil then
		thread = co_running();
	elseif type(thread) == "string" then
		thread, message, level = co_running(), thread, message;
	elseif type(thread) ~= "thread" then
		return nil;
	end
	level = level or 0;
	message = message and (message .. "\n") or "";

	local lines, last_source = {}, nil;
	-- On the main thread coroutine.running() is nil (Lua 5.1): skip this
	-- function, build_traceback's caller and pcall's frames.
	local levels = get_traceback_table(thread, level + (thread == nil and 4 or 0));
	for i, entry in ipairs(levels) do
		local info = entry.info;
		local source = info.short_src == "[C]" and "C code" or info.short_src or "Unknown";
		if source ~= last_source then
			last_source = source;
			t_insert(lines, "\t " .. source_marker(source));
		end
		local n = i - 1;
		t_insert(lines, "\t" .. (n == 0 and ">" or " ") .. styled(style.level, "(" .. n .. ") ") .. describe_level(info));
		local pad = s_rep(" ", #tostring(n));
		local indent = "\t            " .. pad;
		local locals = string_from_var_table(entry.locals, line_length, indent);
		if locals then
			t_insert(lines, "\t    " .. pad .. "Locals: " .. locals);
		end
		local upvalues = string_from_var_table(entry.upvalues, line_length, indent);
		if upvalues then
			t_insert(lines, "\t    " .. pad .. "Upvals: " .. upvalues);
		end
	end
	return message .. "stack traceback:\n" .. t_concat(lines, "\n");
end

local function traceback(...)
	local ok, result = pcall(build_traceback, ...);
	if not ok then
		return "Error in error handling: " .. tostring(result);
	end
	return result;
end

local function use()
	debug.traceback = traceback;
end

return {
	get_locals_table = get_locals_table;
	get_upvalues_table = get_upvalues_table;
	string_from_var_table = string_from_var_table;
	get_traceback_table = get_traceback_table;
	traceback = traceback;
	use = use;
};
