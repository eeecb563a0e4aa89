admins = { "admin@example.com" }
modules_enabled = { "roster", "disco", "ping" }
modules_disabled = { "s2s" }
log = { info = "*console" }
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
VirtualHost "b.example" { enabled = false }
Component "rooms.example.com" "muc" { modules_enabled = { "muc_mam" } }
Component "ext.example.com"
	component_secret = "secret"
