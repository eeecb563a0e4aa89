package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

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

// communityModules are the modules Debian's prosody-modules
// (0.0~hg20230223) installs into /usr/lib/prosody/modules, in the layouts
// Prosody finds (mod_stanza_counter/mod_stanza_counter_http.lua is no
// module of its own).
var communityModules = []string{
	"adhoc_blacklist", "atom", "auth_ccert", "auth_cyrus", "auth_dovecot", "auth_ha1",
	"auth_ldap2", "auth_oauthbearer", "auth_sql", "block_strangers", "blocking", "bob",
	"broadcast", "c2s_conn_throttle", "carbons_adhoc", "carbons_copies", "client_certs",
	"cloud_notify", "csi_battery_saver", "default_bookmarks", "delegation",
	"filter_chatstates", "firewall", "host_guard", "http_libjs", "http_muc_log",
	"http_pep_avatar", "http_upload", "http_upload_external", "invites_api", "invites_page",
	"invites_register_web", "ipcheck", "lastlog", "lastlog2", "list_inactive", "log_auth",
	"mam_adhoc", "measure_active_users", "migrate_http_upload", "muc_log", "muc_log_http",
	"muc_moderation", "muc_restrict_media", "muc_rtbl", "net_dovecotauth", "onions",
	"pastebin", "ping_muc", "privacy_lists", "private_adhoc", "privilege", "pubsub_feeds",
	"pubsub_mqtt", "pubsub_subscription", "pubsub_text_interface", "register_apps",
	"register_json", "register_redirect", "register_web", "reload_modules", "require_otr",
	"s2s_idle_timeout", "s2s_smacks_timeout", "sasl2", "sasl2_bind2", "sasl2_fast", "sasl2_sm",
	"sasl_oauthbearer", "seclabels", "server_status", "stanza_counter", "storage_ldap",
	"support_contact", "throttle_presence", "track_muc_joins", "turncredentials",
	"unified_push", "vcard_muc", "vjud", "watch_spam_reports", "webpresence",
}

// communityNotServerSide are the community modules that work outside a
// server; see communityServerSideModules.
var communityNotServerSide = map[string]bool{"http_libjs": true, "register_apps": true, "storage_ldap": true}

func TestEveryCommunityModuleIsClassified(t *testing.T) {
	for _, m := range communityModules {
		if got, want := IsServerSide(m), !communityNotServerSide[m]; got != want {
			t.Errorf("IsServerSide(%q) = %v, want %v", m, got, want)
		}
	}
	community := map[string]bool{}
	for _, m := range communityModules {
		community[m] = true
	}
	for m := range communityServerSideModules() {
		if !community[m] {
			t.Errorf("%q is listed as a server-side community module but Debian's prosody-modules does not install it", m)
		}
	}
}

// TestInstalledModulesAreClassified lists the modules in the installed
// /usr/lib/prosody/modules, in every layout Prosody finds, and wants each
// classified above: a Prosody or prosody-modules package that ships a
// module these lists do not know fails here.
func TestInstalledModulesAreClassified(t *testing.T) {
	const dir = "/usr/lib/prosody/modules"
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: scripts/install-deps installs prosody and prosody-modules)", err)
		}
		t.Skip(err)
	}
	known := map[string]bool{}
	for _, m := range append(append([]string{}, shippedModules...), communityModules...) {
		known[m] = true
	}
	var found, unknown []string
	for _, e := range entries {
		name := e.Name()
		var module string
		switch {
		case !e.IsDir() && strings.HasPrefix(name, "mod_") && strings.HasSuffix(name, ".lua"):
			module = strings.TrimSuffix(strings.TrimPrefix(name, "mod_"), ".lua")
		case e.IsDir():
			n := strings.TrimPrefix(name, "mod_")
			for _, rel := range []string{n + "/mod_" + n + ".lua", "mod_" + n + ".lua"} {
				if st, err := os.Stat(filepath.Join(dir, name, rel)); err == nil && st.Mode().IsRegular() {
					module = n
				}
			}
		}
		if module == "" {
			continue
		}
		found = append(found, module)
		if !known[module] {
			unknown = append(unknown, module)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("%s holds modules not classified as server-side or not (serverside.go): %v", dir, unknown)
	}
	if len(found) < len(shippedModules) {
		t.Errorf("found only %d modules in %s: %v", len(found), dir, found)
	}
}

func TestPluginsAreNotServerSide(t *testing.T) {
	for _, m := range []string{"http_roster_admin", "block_subscriptions", "", "mod_roster"} {
		if IsServerSide(m) {
			t.Errorf("IsServerSide(%q) = true", m)
		}
	}
}
