-- Test oracle: loads a config with Prosody 0.12's own core.configmanager and
-- asks its core.modulemanager which modules it would load on each host.
-- Run with lua5.4 (Prosody's C modules here are built for 5.4):
--   lua5.4 prosody_oracle.lua FILE
-- Prints, per section, "OPTIONS\tname\tjson" and, per host,
-- "MODULES\tname\tm1 m2 ..." (the component module first, then the set in
-- Prosody's hash order).
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

local activate_handlers = {}
prosody = {
	platform = "posix";
	hosts = {};
	paths = {};
	events = {
		add_handler = function (name, handler) activate_handlers[name] = handler; end;
		fire_event = function () end;
	};
}
hosts = prosody.hosts

-- modulemanager only needs the module API to build modules, which this
-- oracle never does; the real one wants a running server.
package.preload["core.moduleapi"] = function () return {}; end

local configmanager = require "core.configmanager"
local ok, _, err = configmanager.load(arg[1])
if not ok then
	print("ERROR", err)
	return
end
local json = require "util.json"
require "core.modulemanager"

for name, options in pairs(configmanager.getconfig()) do
	local own = {}
	for k, v in pairs(options) do own[k] = v; end
	print("OPTIONS", name, json.encode(own))
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
		print("MODULES", name, table.concat(attempted, " "))
	end
end
