-- The demo (`make run`): examples/prosody.cfg.lua, unchanged, adjusted for one
-- machine with nothing else running: the contacts app on 127.0.0.1:8080
-- instead of http://localhost/, offline users kept in sync (there is no XMPP
-- server in the demo, so nobody is online), and a roster viewer.

plugin_paths = { "plugins" }

Include "prosody.cfg.lua"

-- Re-opening a host adds to it; these three override the example's values.
VirtualHost "localhost"
	http_roster_url = "http://127.0.0.1:8080/contacts/%s"
	http_roster_admin_refresh_offline = true
	http_files_dir = "www"

-- A component with a module of its own: GET /roster_view/{user} shows the
-- roster modhost holds for user@localhost. HTTP routes are served per host
-- name, as in Prosody; http_host files these under localhost's, so they
-- answer on 127.0.0.1:5280 and localhost:5280 beside /roster_admin.
Component "view.localhost" "http_roster_view"
	roster_view_host = "localhost"
	http_host = "localhost"
