-- luacheck configuration for the Lua modhost ships (scripts/lint runs
-- `luacheck .`): compat/ (Prosody's util libraries and their specs), host/core,
-- plugins/, host/ and the example plugins. Not testdata (deliberately broken
-- or global-leaking fixtures), nor the example configs (Prosody's config
-- language, whose every line sets a global).
std = "lua51" -- gopher-lua implements Lua 5.1
codes = true
include_files = {
	"compat/**/*.lua",
	"plugins/*/mod_*.lua",
	"host/*.lua",
	"host/core/*.lua",
	"host/httpserver/*.lua",
	"examples/plugins/mod_*.lua",
}

ignore = {
	-- Methods keep Prosody's `obj:method()` signatures even when they do not
	-- need self (util.set's and util.queue's closures, storage drivers).
	"212/self",
	-- Lines are not wrapped: the long ones are test vectors, log messages and
	-- metric descriptions, where a break would hurt more than it helps.
	"631",
}

-- The 5.2+ names are probed first: `local unpack = table.unpack or unpack`.
read_globals = { table = { fields = { "unpack", "pack" } } }

-- Prosody's process-wide globals: host/boot.lua creates them, core.* and
-- host/sessions.lua keep them up to date.
files["host/"] = { globals = { "prosody", "hosts" } }
files["host/core/"] = { globals = { "prosody", "hosts" } }

-- A plugin runs in its own environment with `module` (core.moduleapi's
-- methods over the instance core.modulemanager makes) and reads Prosody's
-- globals. Listing module's fields lets luacheck catch a misspelt method.
local plugin = {
	read_globals = {
		"prosody",
		"hosts",
		module = {
			fields = {
				-- the instance (core.modulemanager)
				"name", "host", "path", "global", "loaded", "environment",
				"event_handlers", "items", "_log", "log",
				-- the methods (core.moduleapi)
				"add_extension", "add_feature", "add_identity", "add_item",
				"add_timer", "broadcast", "context", "depends", "fire_event",
				"get_directory", "get_host", "get_host_items", "get_host_type",
				"get_name", "get_option", "get_option_array",
				"get_option_boolean", "get_option_inherited_set",
				"get_option_number", "get_option_path", "get_option_scalar",
				"get_option_set", "get_option_string", "get_status",
				"handle_items", "hook", "hook_global", "hook_object_event",
				"hook_stanza", "hook_tag", "load_resource", "log_status",
				"measure", "metric", "open_store", "provides", "remove_item",
				"require", "send", "send_iq", "set_global", "set_status",
				"shared", "unhook", "unhook_object_event", "wrap_event",
				"wrap_global", "wrap_object_event",
			},
		},
	},
	-- what a plugin may define for core.modulemanager to call
	globals = { "module.add_host", "module.load", "module.unload" },
}
files["plugins/"] = plugin
files["examples/plugins/"] = plugin

-- The specs run under busted (Debian's, and modhost's own lua/busted).
files["compat/spec/"] = { std = "+busted" }
