-- util.paths: path helpers, as Prosody 0.12's util.paths (on systems whose
-- directory separator is "/", the only ones modhost runs on).
--
-- resolve_relative_path(parent, path): path as it is when absolute (or nil),
-- else under parent (trailing "/"s of parent and a leading "./" of path
-- dropped). glob_to_pattern(glob): a Lua pattern matching what the glob
-- (with * and ?) matches, whole. join(...): the parts joined with "/".
-- complement_lua_path(dir): adds a luarocks tree's share/lua/VERSION
-- directories to package.path, unless dir is already on it.

local t_concat, select = table.concat, select;

local sep = package.config:sub(1, 1);

local paths = {};

function paths.resolve_relative_path(parent, path)
	if not path then return path; end
	parent = parent:gsub("/+$", "");
	path = path:gsub("^%./+", "");
	if path:sub(1, 1) == "/" then return path; end
	return parent .. sep .. path;
end

function paths.glob_to_pattern(glob)
	local body = glob:gsub("%p", function (c)
		if c == "*" then return ".*"; end
		if c == "?" then return "."; end
		return "%" .. c;
	end);
	return "^" .. body .. "$";
end

-- Parts are joined up to the first nil.
function paths.join(...)
	local parts = {};
	for i = 1, select("#", ...) do
		local part = select(i, ...);
		if part == nil then break; end
		parts[i] = part;
	end
	if #parts == 0 then return nil; end
	return t_concat(parts, sep);
end

-- Prosody's also means to add the tree's lib/lua/VERSION to package.cpath
-- but checks package.path again after extending it, so it never does:
-- neither does this.
function paths.complement_lua_path(dir)
	if package.path:find(dir, 1, true) then return; end
	local version = _VERSION:match(" (.+)$");
	local list_sep = package.config:sub(3, 3);
	local share = dir .. sep .. "share" .. sep .. "lua" .. sep .. version .. sep;
	package.path = package.path .. list_sep .. share .. "?.lua" .. list_sep .. share .. "?" .. sep .. "init.lua";
end

return paths;
