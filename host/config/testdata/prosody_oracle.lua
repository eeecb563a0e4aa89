-- Test oracle: loads a config with Prosody 0.12's own core.configmanager and
-- asks its core.modulemanager which modules it would load on each host.
-- Run with lua5.4 (Prosody's C modules here are built for 5.4):
--   lua5.4 prosody_oracle.lua FILE
-- Prints, per section, "OPTIONS\tname\tjson" and, per host,
-- "MODULES\tname\tm1 m2 ..." (the component module first, then the set in
-- Prosody's hash order). What the config prints goes to stderr, as modhost
-- sends it there too.
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

-- The globals Prosody's startup has set when it reads the config
-- (util/startup.lua: init_global_state, read_config), with the values
-- modhost gives them. process_type is modhost's: the oracle answers what
-- Prosody's configmanager makes of a file in the environment modhost offers;
-- under the server it is "prosody", and blocks a config guards with it run
-- there and are skipped by modhost, on purpose.
local config_file = arg[1]
local activate_handlers = {}
prosody = {
	process_type = "modhost";
	config_loaded = false;
	config_file = config_file;
	platform = "posix";
	hosts = {};
	bare_sessions = {};
	full_sessions = {};
	paths = { config = config_file:match("^(.*)[\\/][^\\/]*$") or "."; data = "data" };
	events = {
		add_handler = function (name, handler) activate_handlers[name] = handler; end;
		fire_event = function () end;
	};
}
hosts, bare_sessions, full_sessions = prosody.hosts, prosody.bare_sessions, prosody.full_sessions
CFG_CONFIGDIR = prosody.paths.config
-- Prosody's general logger; no sink exists yet while it reads the config.
log = require "util.logger".init("general")
prosody.log = log

local report = print -- the oracle's own lines, on stdout
function print(...)
	local parts = table.pack(...)
	for i = 1, parts.n do parts[i] = tostring(parts[i]); end
	io.stderr:write(table.concat(parts, "\t", 1, parts.n), "\n")
end
function io.write(...) return io.stderr:write(...); end

-- modulemanager only needs the module API to build modules, which this
-- oracle never does; the real one wants a running server.
package.preload["core.moduleapi"] = function () return {}; end

local configmanager = require "core.configmanager"
local ok, _, err = configmanager.load(config_file)
if not ok then
	report("ERROR", err)
	return
end
local json = require "util.json"
require "core.modulemanager"

for name, options in pairs(configmanager.getconfig()) do
	local own = {}
	for k, v in pairs(options) do own[k] = v; end
	report("OPTIONS", name, json.encode(own))
	if name ~= "*" then
		-- Every load attempt asks the host's module map whether the module is
		-- there already; answering "yes" records the name and loads nothing.
		local attempted = {}
		hosts[name] = { modules = setmetatable({}, {
			__index = function (_, module_name)
				attempted[#attempted + 1] = module_name;
				return true;
			end;
		}) }
		activate_handlers["host-activated"](name)
		report("MODULES", name, table.concat(attempted, " "))
	end
end
