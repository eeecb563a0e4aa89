-- Test oracle: loads a config with Prosody 0.12's own core.configmanager,
-- activates its hosts with core.hostmanager and asks core.modulemanager
-- which modules it would load on each, then asks util.pluginloader, set up
-- by util.startup as prosody sets it up, where it finds each module.
-- Run with lua5.4 (Prosody's C modules here are built for 5.4):
--   lua5.4 oracle.lua FILE   (or: lua5.4 - FILE < oracle.lua)
-- Environment: ORACLE_PLUGINDIR and ORACLE_DATADIR stand for the launcher's
-- CFG_PLUGINDIR and CFG_DATADIR (default: Debian's, as /usr/bin/prosody
-- sets them).
-- Prints, per section, "OPTIONS\tname\tjson"; per host Prosody activates,
-- "HOST\tname\tlocal|component" and "MODULES\tname\tm1 m2 ..." (the
-- component module first, then the set in Prosody's hash order); per host
-- it leaves out (enabled = false), "DISABLED\tname"; per module named in any
-- set, "FOUND\tmodule\tpath" ("" when found nowhere); "ERROR\tmessage" when
-- configmanager refuses the file. What the config prints goes to stderr, as
-- modhost sends it there too.
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

local config_file = arg[1]

-- What /usr/bin/prosody defines before anything else; CFG_CONFIGDIR is the
-- config's folder, as util.startup's read_config makes it for --config.
CFG_SOURCEDIR = "/usr/lib/prosody"
CFG_CONFIGDIR = config_file:match("^(.*)[\\/][^\\/]*$") or "."
CFG_PLUGINDIR = os.getenv("ORACLE_PLUGINDIR") or "/usr/lib/prosody/modules/"
CFG_DATADIR = os.getenv("ORACLE_DATADIR") or "/var/lib/prosody"

-- The globals Prosody's startup has set when it reads the config
-- (init_global_state: prosody, hosts, bare_sessions, full_sessions, log,
-- prosody.events, paths, platform), then read_config's, with the values
-- modhost gives them. process_type is modhost's: the oracle answers what
-- Prosody's configmanager makes of a file in the environment modhost offers;
-- under the server it is "prosody", and blocks a config guards with it run
-- there and are skipped by modhost, on purpose.
local startup = require "util.startup"
startup.init_global_state()
prosody.process_type = "modhost"
prosody.config_loaded = false
prosody.config_file = config_file
prosody.incoming_s2s = {} -- hostmanager wants core.s2smanager otherwise

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
-- As startup.prosody() does once the config is read: plugin_paths, then the
-- installer's folder, in front of CFG_PLUGINDIR.
startup.setup_plugindir()
startup.setup_plugin_install_path()

local json = require "util.json"
require "core.modulemanager"
local pluginloader = require "util.pluginloader" -- reads CFG_PLUGINDIR now

for name, options in pairs(configmanager.getconfig()) do
	local own = {}
	for k, v in pairs(options) do own[k] = v; end
	report("OPTIONS", name, json.encode(own))
end

-- Every load attempt asks the host's module map whether the module is there
-- already; answering "yes" records the name and loads nothing. The map is
-- put in place before modulemanager's own host-activated handler runs.
local attempted = {}
prosody.events.add_handler("host-activated", function (host)
	local names = {}
	attempted[host] = names
	prosody.hosts[host].modules = setmetatable({}, {
		__index = function (_, module_name)
			names[#names + 1] = module_name;
			return true;
		end;
	})
end, 1000)

require "core.hostmanager"
prosody.events.fire_event("server-starting")

local found = {}
for name in pairs(configmanager.getconfig()) do
	if name ~= "*" then
		local host = prosody.hosts[name]
		if host then
			report("HOST", name, host.type)
			report("MODULES", name, table.concat(attempted[name], " "))
			for _, module_name in ipairs(attempted[name]) do
				if found[module_name] == nil then
					local content, path = pluginloader.load_resource(module_name)
					found[module_name] = content and path or ""
					report("FOUND", module_name, found[module_name])
				end
			end
		else
			report("DISABLED", name)
		end
	end
end
