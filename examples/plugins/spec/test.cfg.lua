-- Config for the example plugins' specs:
--   bin/modhost test --config examples/plugins/spec/test.cfg.lua examples/plugins/spec
-- Both example plugins run with mod_http_roster_admin on two hosts, one per
-- setting of roster_group_by_domain_only_empty. Nothing listens at
-- http_roster_url: specs that go through a login stub net.http instead (the
-- Go test in examples/plugins runs the same path against a real backend).

log = { { levels = { min = "warn" }, to = "console" } }
plugin_paths = { ".." }
storage = "memory"
http_roster_url = "http://127.0.0.1:9/contacts/%s"
http_roster_admin_timeout = 2

modules_enabled = { "http_roster_admin", "roster_group_by_domain", "roster_drop_blocked" }

VirtualHost "example.com"

VirtualHost "all.example.com"
	roster_group_by_domain_only_empty = false
