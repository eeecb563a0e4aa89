-- Every file layout Prosody 0.12's pluginloader searches, in two
-- plugin_paths folders and the installer's folder (data/custom_plugins, as
-- `prosodyctl install` writes it), and which one wins.
plugin_paths = { "plugins/one", "plugins/two" }
storage = "memory"

VirtualHost "layouts.example"
	modules_enabled = {
		"lay_flat";      -- mod_N.lua (plugins/one; plugins/two's is not reached)
		"lay_dir";       -- mod_N/mod_N.lua
		"lay_bare";      -- N/mod_N.lua
		"lay_deep";      -- mod_N/N/mod_N.lua
		"lay_rock";      -- share/lua/5.4/mod_N.lua
		"lay_rockdir";   -- share/lua/5.4/mod_N/mod_N.lua
		"lay_order";     -- all four layouts in one folder: mod_N/N/mod_N.lua wins
		"lay_isdir";     -- a folder named mod_N.lua is passed over: plugins/two's file
		"lay_second";    -- only in the second folder
		"lay_shadow";    -- the installer's folder comes first
		"lay_installed"; -- share/lua/5.4/mod_N/mod_N.lua under the installer's folder
		"lay_oldlua";    -- share/lua/5.3 is another Lua's tree: not found
		"motd";          -- server-side, found in plugins/one before Prosody's own
		"turncredentials"; -- Debian's prosody-modules, in Prosody's own folder
	}
