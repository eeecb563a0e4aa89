-- util.human.io: prosodyctl-style console helpers, as Prosody 0.12's
-- util.human.io.
--
-- Text: padleft/padright(s, width) pad to width characters (UTF-8 aware),
-- ellipsis(s, width) cuts to width characters ending in "…", printf(fmt,
-- …) prints a formatted line, table(columns[, width]) returns a function
-- that formats one row per call (the titles when called without a row).
-- Each column is { title =, key =, width = N or "P%", align = "right",
-- mapper = function(value, row), default = text }; fixed widths grow to fit
-- the title, "%" widths share what is left of width (default $COLUMNS or 80),
-- and cells are joined with " | ".
--
-- Input: getline() reads a line; getchar(n) reads a line and keeps its first
-- n characters (1 by default); getpass() reads a line; show_prompt(text)
-- asks and returns a non-empty answer or nil; show_yesno(text) asks and says
-- whether the answer is y (an answer that is no letter takes the first
-- non-capital character inside the text's trailing [..] as its choice);
-- read_password() asks for a password twice. modhost never switches the
-- terminal to raw or no-echo mode (Prosody runs stty for getchar and
-- getpass): input is read line by line, and typed passwords are echoed.

local utf8 = rawget(_G, "utf8") or require "util.encodings".utf8;
local io_read, io_write, s_rep, t_concat = io.read, io.write, string.rep, table.concat;
local m_floor, m_max, tonumber, tostring, type, ipairs, pcall = math.floor, math.max, tonumber, tostring, type, ipairs, pcall;

local len = utf8.len;

local function read_line()
	local ok, line = pcall(io_read, "*l");
	if ok then return line; end
end

local function getline()
	return read_line();
end

local function getchar(n)
	local line = read_line();
	if line then return line:sub(1, n or 1); end
end

local function getpass()
	local pass = read_line();
	io_write("\n");
	return pass;
end

local function show_prompt(prompt)
	io_write(prompt, " ");
	local line = getline();
	if line then line = line:gsub("\n$", ""); end
	if line and #line > 0 then return line; end
	return nil;
end

local function show_yesno(prompt)
	io_write(prompt, " ");
	local choice = getchar():lower();
	io_write("\n");
	if not choice:match("%a") then
		local options = prompt:match("%[(.-)%]$");
		choice = options and options:match("%U");
		if not choice then return nil; end
	end
	return choice == "y";
end

local function read_password()
	while true do
		io_write("Enter new password: ");
		local password = getpass();
		if not password then
			print("No password - cancelled");
			return;
		end
		io_write("Retype new password: ");
		if getpass() == password then return password; end
		if not show_yesno("Passwords did not match, try again? [Y/n]") then return; end
	end
end

local function printf(fmt, ...)
	print(fmt:format(...));
end

local function padright(s, width)
	return s .. s_rep(" ", width - len(s));
end

local function padleft(s, width)
	return s_rep(" ", width - len(s)) .. s;
end

local function ellipsis(s, width)
	if len(s) <= width then return s; end
	if width == 1 then return "…"; end
	return s:sub(1, utf8.offset(s, width) - 1) .. "…";
end

local separator = " | ";

local function new_table(columns, max_width)
	max_width = max_width or tonumber(os.getenv("COLUMNS")) or 80;
	local n = #columns;
	local widths = {};
	-- What the "%" columns share: the width less the separators, less each
	-- fixed column and (as Prosody counts it) a separator for each fixed
	-- column after the first once more.
	local free = max_width - #separator * (n - 1);
	for i, col in ipairs(columns) do
		local w = col.width or "0";
		if not (type(w) == "string" and w:sub(-1) == "%") then
			w = m_max(tonumber(w), col.title and #col.title + 1 or 0);
			widths[i] = w;
			free = free - w;
			if i > 1 then free = free - #separator; end
		end
	end
	for i, col in ipairs(columns) do
		if not widths[i] then
			widths[i] = m_floor(free * tonumber((col.width:gsub("%%$", ""))) / 100);
		end
	end

	return function (row)
		local cells = {};
		for i, col in ipairs(columns) do
			local v;
			if row then
				-- A column without a key shows the row's item at its own index.
				v = row[col.key or i];
				if col.mapper then v = col.mapper(v, row); end
			else
				v = col.title or "";
			end
			if v == nil then
				v = col.default or "";
			else
				v = tostring(v);
			end
			local width, length = widths[i], len(v);
			if length < width then
				v = col.align == "right" and padleft(v, width) or padright(v, width);
			elseif length > width then
				v = ellipsis(v, width);
			end
			cells[i] = v;
		end
		return t_concat(cells, separator);
	end;
end

return {
	getchar = getchar;
	getline = getline;
	getpass = getpass;
	show_yesno = show_yesno;
	read_password = read_password;
	show_prompt = show_prompt;
	printf = printf;
	padleft = padleft;
	padright = padright;
	ellipsis = ellipsis;
	table = new_table;
};
