-- A config that names Prosody's own folder in plugin_paths, as operators do
-- so that community modules are found: every server-side module is found
-- there too, and must be skipped, not loaded.
plugin_paths = { "/usr/lib/prosody/modules" }
storage = "memory"
modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "blocklist"; "bookmarks"; "carbons";
	"dialback"; "limits"; "pep"; "private"; "smacks"; "vcard4"; "vcard_legacy";
	"csi_simple"; "invites"; "invites_adhoc"; "invites_register"; "ping";
	"register"; "time"; "uptime"; "version"; "admin_adhoc"; "admin_shell";
	"posix"; "mam"; "http_file_share";
	-- community modules (Debian's prosody-modules)
	"turncredentials"; "cloud_notify"; "http_libjs";
}

VirtualHost "one.example"
VirtualHost "two.example"
	modules_disabled = { "mam" }
Component "upload.one.example" "http_file_share"
Component "rooms.one.example" "muc"
	modules_enabled = { "muc_mam" }
