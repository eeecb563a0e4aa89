package config

import "testing"

// shippedModules are the modules the prosody 0.12.3 package installs
// (dpkg -L prosody, /usr/lib/prosody/modules); every one must be classified.
var shippedModules = []string{
	"adhoc", "admin_adhoc", "admin_shell", "admin_socket", "admin_telnet", "announce",
	"auth_anonymous", "auth_insecure", "auth_internal_hashed", "auth_internal_plain",
	"auth_ldap", "authz_internal", "blocklist", "bookmarks", "bosh", "c2s", "carbons",
	"component", "cron", "csi", "csi_simple", "debug_sql", "dialback", "disco",
	"external_services", "groups", "http", "http_errors", "http_file_share", "http_files",
	"http_openmetrics", "invites", "invites_adhoc", "invites_register", "iq",
	"lastactivity", "legacyauth", "limits", "mam", "message", "mimicking", "motd", "muc",
	"muc_mam", "muc_unique", "net_multiplex", "offline", "pep", "pep_plus", "pep_simple",
	"ping", "posix", "presence", "private", "proxy65", "pubsub", "register",
	"register_ibr", "register_limits", "roster", "s2s", "s2s_auth_certs", "s2s_bidi",
	"saslauth", "scansion_record", "server_contact_info", "smacks", "stanza_debug",
	"storage_internal", "storage_memory", "storage_none", "storage_sql",
	"storage_xep0227", "time", "tls", "tokenauth", "tombstones", "turn_external",
	"unknown", "uptime", "user_account_management", "vcard", "vcard4", "vcard_legacy",
	"version", "watchregistrations", "websocket", "welcome", "windows",
}

// notServerSide are the shipped modules modhost provides or that work
// outside a server; see serverSideModules for the rule.
var notServerSide = map[string]bool{
	"storage_memory": true, "storage_internal": true, "storage_none": true,
	"storage_sql": true, "storage_xep0227": true, "debug_sql": true,
	"http": true, "http_files": true, "http_errors": true, "http_openmetrics": true,
	"cron": true,
}

func TestEveryShippedModuleIsClassified(t *testing.T) {
	for _, m := range shippedModules {
		if got, want := IsServerSide(m), !notServerSide[m]; got != want {
			t.Errorf("IsServerSide(%q) = %v, want %v", m, got, want)
		}
	}
	shipped := map[string]bool{}
	for _, m := range shippedModules {
		shipped[m] = true
	}
	for m := range serverSideModules() {
		if !shipped[m] {
			t.Errorf("%q is listed as server-side but Prosody 0.12 does not ship it", m)
		}
	}
}

func TestPluginsAreNotServerSide(t *testing.T) {
	for _, m := range []string{"http_roster_admin", "block_subscriptions", "", "mod_roster"} {
		if IsServerSide(m) {
			t.Errorf("IsServerSide(%q) = true", m)
		}
	}
}
