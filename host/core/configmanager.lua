-- core.configmanager: the loaded configuration, as Prosody 0.12's
-- configmanager presents it to plugins.
--
-- The config file itself is executed by modhost's Go loader; this library
-- builds, on first use, the table Prosody keeps: one table of options per
-- section ("*" is the global one), where a host's table falls back to the
-- global section and an unknown host reads the global section. get, rawget,
-- set and getconfig work on that table as Prosody's do, so a value set at
-- run time is what later get calls (and module:get_option) return. It is
-- what Lua sees: the Go host's own settings (storage paths, the HTTP
-- server, …) stay as the file said.

local native = require "modhost.native";
local setmetatable, rawget, rawset, pairs = setmetatable, rawget, rawset, pairs;

local config; -- section name → options; built by sections()
local host_mt = { __index = function (_, key) return config["*"][key]; end };
local config_mt = { __index = function (t) return rawget(t, "*"); end };

local function sections()
	if config then return config; end
	local all = native.config_all() or {};
	local built = setmetatable({ ["*"] = all["*"] or {} }, config_mt);
	for name, options in pairs(all) do
		if name ~= "*" then
			rawset(built, name, setmetatable(options, host_mt));
		end
	end
	config = built;
	return config;
end

-- Old code passes "core" as the key and the real key after it.
local function get(host, key, old_key)
	if key == "core" then key = old_key; end
	return sections()[host][key];
end

-- rawget reads only the section's own value: no fallback to "*".
local function rawget_option(host, key, old_key)
	if key == "core" then key = old_key; end
	local section = rawget(sections(), host);
	if section then
		return rawget(section, key);
	end
end

-- set needs a section and a key (it returns false without); a section not
-- in the file is created, falling back to the global one like the others.
local function set(host, key, value, old_value)
	if key == "core" then key, value = value, old_value; end
	if not host or not key then
		return false;
	end
	local all = sections();
	local section = rawget(all, host);
	if not section then
		section = setmetatable({}, host_mt);
		rawset(all, host, section);
	end
	section[key] = value;
	return true;
end

-- load(filename): runs the config file again, as at start; if it loads,
-- get and getconfig return its options from then on (values set at run
-- time are gone, as in Prosody). Returns true, or nil and "file" or
-- "parser" and the message, the config in use staying as it was.
local function load(filename)
	local ok, level, err = native.config_load(filename);
	if not ok then
		return nil, level, err;
	end
	config = nil;
	return true, "parser", nil;
end

local function getconfig()
	return sections();
end

-- resolve_relative_path(parent, path): an absolute path as it is, else
-- path (a leading ./ dropped) under parent (trailing slashes dropped).
-- Prosody keeps it here for older plugins.
local function resolve_relative_path(parent_path, path)
	if not path then return path; end
	parent_path = (parent_path:gsub("/+$", ""));
	path = (path:gsub("^%./+", ""));
	if path:sub(1, 1) == "/" then
		return path;
	end
	return parent_path .. "/" .. path;
end

return {
	get = get;
	rawget = rawget_option;
	set = set;
	getconfig = getconfig;
	load = load;
	resolve_relative_path = resolve_relative_path;
};
