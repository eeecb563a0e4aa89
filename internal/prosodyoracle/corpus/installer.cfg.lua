-- installer_plugin_path names the installer's folder, relative to
-- Prosody's data folder (CFG_DATADIR, not data_path).
installer_plugin_path = "other_installed"
data_path = "/nonexistent/not-where-installer-paths-resolve"
plugin_paths = { "plugins/one" }

VirtualHost "installer.example"
	modules_enabled = { "lay_elsewhere", "lay_installed", "lay_shadow" }
