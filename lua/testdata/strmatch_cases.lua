-- Runs string.find/match/gmatch/gsub over generated patterns and subjects and
-- prints one line per case; strmatch_test.go runs it in modhost and, when
-- lua5.1 is installed, in Lua 5.1, and compares the lines. No randomness
-- that depends on the VM: a small LCG drives the generator.
local seed = 12345
local function rand(n)
	seed = (seed * 1103515245 + 12345) % 2147483648
	return seed % n + 1
end

local classes = { "a", "b", "(", ")", " ", "1", ".", "%a", "%d", "%s", "%S", "%w", "%p", "%l", "%u", "%x", "%c",
	"%A", "%D", "%W", "[ab]", "[^a]", "[a-c]", "[%d%s]", "[]]", "[^]a]", "[a-]", "%%", "%(", "%.", "%z", "%b()", "%f[%a]",
	"%f[%s]", "%1", "()", "(", ")", "$", "^", "-", "%" }
local reps = { "", "", "", "*", "+", "-", "?" }
local subjects_chars = { "a", "a", "b", "c", "(", ")", " ", "\t", "1", "2", ".", "%", "A", "\0", "]" }

local function gen_pattern()
	local n = rand(6)
	local parts = {}
	if rand(4) == 1 then parts[#parts + 1] = "^" end
	for _ = 1, n do
		local c = classes[rand(#classes)]
		parts[#parts + 1] = c
		if #c == 1 and c:match("[%w%.%] ]") or c:sub(1, 1) == "[" or (c:sub(1, 1) == "%" and #c == 2 and c ~= "%1") then
			parts[#parts + 1] = reps[rand(#reps)]
		end
	end
	if rand(5) == 1 then parts[#parts + 1] = "$" end
	return table.concat(parts)
end

local function gen_subject()
	local n = rand(12) - 1
	local parts = {}
	for _ = 1, n do parts[#parts + 1] = subjects_chars[rand(#subjects_chars)] end
	return table.concat(parts)
end

local function quote(v)
	return '"' .. v:gsub("[^%w%p ]", function (c) return string.format("\\%03d", c:byte()) end) .. '"'
end

local function show(...)
	local out = { tostring(select("#", ...)) }
	for i = 1, select("#", ...) do
		local v = select(i, ...)
		if type(v) == "string" then out[#out + 1] = quote(v) else out[#out + 1] = tostring(v) end
	end
	return table.concat(out, " ")
end

local function clean(err)
	err = tostring(err)
	return (err:gsub("^[^:]*:%d+: ", ""))
end

local function results(ok, ...)
	if ok then return " ok " .. show(...) end
	return " error " .. clean((...))
end

local function run(name, f, ...)
	return name .. results(pcall(f, ...))
end

local repl_fn = function (...)
	local t = {}
	for i = 1, select("#", ...) do t[i] = tostring(select(i, ...)) end
	if t[1] == "a" then return nil end
	if t[1] == "b" then return false end
	if t[1] == "1" then return 7 end
	return "<" .. table.concat(t, ",") .. ">"
end
local repl_table = { a = "A", b = false, ["1"] = 11, [" "] = "_" }

local lines = {}
local cases = tonumber(arg and arg[1]) or CASES or 3000
for i = 1, cases do
	local p, s = gen_pattern(), gen_subject()
	local init = ({ nil, 1, 2, -1, -3, 0, 20 })[rand(7)]
	local head = i .. " " .. quote(p) .. " " .. quote(s) .. " " .. tostring(init) .. " |"
	lines[#lines + 1] = head .. run("find", string.find, s, p, init)
	lines[#lines + 1] = head .. run("match", string.match, s, p, init)
	lines[#lines + 1] = head .. run("gmatch", function ()
		local got, n = {}, 0
		for a, b in string.gmatch(s, p) do
			n = n + 1
			got[#got + 1] = show(a, b)
			if n > 30 then break end
		end
		return table.concat(got, ";")
	end)
	local repl = ({ "x", "%0", "<%1>", "%%", "%a", "", 5 })[rand(7)]
	lines[#lines + 1] = head .. run("gsub-s", string.gsub, s, p, repl)
	lines[#lines + 1] = head .. run("gsub-n", string.gsub, s, p, repl, rand(3) - 1)
	lines[#lines + 1] = head .. run("gsub-f", string.gsub, s, p, repl_fn)
	lines[#lines + 1] = head .. run("gsub-t", string.gsub, s, p, repl_table)
end
return table.concat(lines, "\n")
