-- Prosody's libraries and _G from a config.
local jid = require "util.jid"
local json = require "util.json"
local set = require "util.set"

print("reading", (prosody.config_file:match("[^/]*$")), "from", prosody.paths.config == CFG_CONFIGDIR and "CFG_CONFIGDIR" or "?")

_G.shared_prefix = "xmpp"  -- a global, not an option
prefix_read = shared_prefix -- reading it back gives the global
local admin_list = { jid.prep("Admin@Example.COM"), (jid.join("ops", "example.com", "desk")) }
admins = admin_list
option_read = admins        -- options are not variables: nil
settings = json.decode('{"a": [1, 2], "b": "c"}')
local wanted = set.new { "ping", "roster" }
wants_ping = wanted:contains("ping")
modules_enabled = { "ping" }
is_g = _G == _G._G and _G.prosody == prosody
version_string = type(_VERSION)
has_hosts_table = type(hosts) == "table" and hosts == prosody.hosts
log("info", "config has %d admins", #admin_list)

VirtualHost "example.com"
	http_host = shared_prefix .. ".example.com"
	print("host section", "example.com")

Include "globals-extra.lua"
