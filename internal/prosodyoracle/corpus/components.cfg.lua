-- An external Component gets Prosody's mod_component first (the server's
-- end of XEP-0114); Component "x" "module" gets its module first; both get
-- only the component-inheritable global modules.
plugin_paths = { "plugins/one" }
modules_enabled = { "roster", "tls", "saslauth", "ping", "smacks", "lay_flat" }

VirtualHost "example.com"
Component "ext.example.com"
	component_secret = "x"
	modules_enabled = { "lay_dir" }
Component "rooms.example.com" "muc"
	modules_enabled = { "muc_mam" }
Component "proxy.example.com" "proxy65"
Component "later.example.com"
	component_module = "http_file_share"
