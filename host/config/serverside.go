package config

import "strings"

// IsServerSide reports whether module is one of the modules Prosody 0.12
// ships, or Debian's prosody-modules installs beside them, that only make
// sense inside an XMPP server. modhost skips them wherever they are found,
// with a log line, and never loads them.
func IsServerSide(module string) bool {
	if _, ok := serverSideModules()[module]; ok {
		return true
	}
	_, ok := communityServerSideModules()[module]
	return ok
}

// serverSideModules lists, from the modules Prosody 0.12 ships
// (/usr/lib/prosody/modules), those that only make sense inside the XMPP
// server. The rule: a module is server-side when what it does needs the
// server's own machinery, that is one of
//
//   - XMPP network listeners and streams: c2s, s2s, component (the server's
//     end of XEP-0114), bosh, websocket, net_multiplex, proxy65;
//   - stream negotiation and session state: tls, saslauth, dialback,
//     s2s_auth_certs, s2s_bidi, legacyauth, smacks, csi, csi_simple, limits;
//   - user accounts and authentication: auth_*, authz_internal, register*,
//     invites*, tokenauth, user_account_management, mimicking, tombstones,
//     watchregistrations;
//   - stanzas addressed to the server's users, domains or services: presence,
//     message, iq, roster, disco, offline, carbons, pep*, mam, vcard*,
//     private, bookmarks, blocklist, groups, ping, time, version, uptime,
//     lastactivity, motd, welcome, announce, server_contact_info,
//     external_services, turn_external, http_file_share (its upload slots
//     are asked for over XMPP), adhoc, admin_adhoc, and the internal
//     components muc, muc_mam, muc_unique, pubsub;
//   - the server process itself: the platform modules posix, windows and
//     unknown, admin_shell, admin_socket, admin_telnet, stanza_debug,
//     scansion_record.
//
// Not server-side, because modhost provides them itself or they work
// outside a server: storage_memory, storage_internal, storage_none,
// storage_sql, storage_xep0227 and debug_sql (storage a plugin opens), http,
// http_files and http_errors (modhost's HTTP server), http_openmetrics
// (modhost serves its own metrics, plugins' included, at /metrics), cron
// (periodic tasks of other modules).
func serverSideModules() map[string]struct{} {
	names := []string{
		// listeners and streams
		"c2s", "s2s", "component", "bosh", "websocket", "net_multiplex", "proxy65",
		// stream negotiation and session state
		"tls", "saslauth", "dialback", "s2s_auth_certs", "s2s_bidi", "legacyauth",
		"smacks", "csi", "csi_simple", "limits",
		// accounts and authentication
		"auth_anonymous", "auth_insecure", "auth_internal_hashed", "auth_internal_plain",
		"auth_ldap", "authz_internal", "register", "register_ibr", "register_limits",
		"invites", "invites_adhoc", "invites_register", "tokenauth",
		"user_account_management", "mimicking", "tombstones", "watchregistrations",
		// stanzas for the server's users, domains and services
		"presence", "message", "iq", "roster", "disco", "offline", "carbons",
		"pep", "pep_plus", "pep_simple", "mam", "vcard", "vcard4", "vcard_legacy",
		"private", "bookmarks", "blocklist", "groups", "ping", "time", "version",
		"uptime", "lastactivity", "motd", "welcome", "announce",
		"server_contact_info", "external_services", "turn_external",
		"http_file_share", "adhoc", "admin_adhoc",
		"muc", "muc_mam", "muc_unique", "pubsub",
		// the server process
		"posix", "windows", "unknown", "admin_shell", "admin_socket",
		"admin_telnet", "stanza_debug", "scansion_record",
	}
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		set[n] = struct{}{}
	}
	return set
}

// communityServerSideModules lists, from the community modules Debian's
// prosody-modules (0.0~hg20230223) installs into Prosody's own folder, those
// that are server-side by the rule of serverSideModules:
//
//   - streams, negotiation and session state: c2s_conn_throttle,
//     s2s_idle_timeout, s2s_smacks_timeout, sasl2*, sasl_oauthbearer,
//     client_certs, csi_battery_saver, filter_chatstates, throttle_presence,
//     onions, host_guard, and the listener net_dovecotauth;
//   - accounts and authentication: auth_*, register_json, register_redirect,
//     register_web, invites_api, invites_page, invites_register_web,
//     support_contact, lastlog, lastlog2, log_auth, list_inactive,
//     measure_active_users;
//   - stanzas addressed to the server's users, domains or services:
//     block_strangers, blocking, bob, broadcast, carbons_adhoc,
//     carbons_copies, cloud_notify, default_bookmarks, delegation and
//     privilege (the server's end of XEP-0355/0356), firewall, ipcheck,
//     privacy_lists, private_adhoc, mam_adhoc, adhoc_blacklist, require_otr,
//     seclabels, stanza_counter, turncredentials (external service discovery
//     asked of the domain, as turn_external), http_upload and
//     http_upload_external (slots asked for over XMPP), unified_push, vjud,
//     watch_spam_reports, pastebin (it rewrites messages);
//   - HTTP views of what only the server holds (its sessions, PEP, archives,
//     counters): atom, http_pep_avatar, http_muc_log, muc_log, muc_log_http,
//     webpresence, server_status;
//   - MUC and pubsub internals: muc_moderation, muc_restrict_media, muc_rtbl,
//     ping_muc, track_muc_joins, vcard_muc, pubsub_feeds, pubsub_mqtt,
//     pubsub_subscription, pubsub_text_interface;
//   - the server process: reload_modules, migrate_http_upload.
//
// Not server-side, so loaded when enabled: http_libjs and register_apps
// (HTTP pages only) and storage_ldap (storage a plugin opens). A community
// module not listed here (another version's, or one of the operator's own)
// is loaded like any plugin; one that fails is BROKEN, with its error.
func communityServerSideModules() map[string]struct{} {
	names := []string{
		// streams, negotiation and session state
		"c2s_conn_throttle", "s2s_idle_timeout", "s2s_smacks_timeout", "sasl2", "sasl2_bind2",
		"sasl2_fast", "sasl2_sm", "sasl_oauthbearer", "client_certs", "csi_battery_saver",
		"filter_chatstates", "throttle_presence", "onions", "host_guard", "net_dovecotauth",
		// accounts and authentication
		"auth_ccert", "auth_cyrus", "auth_dovecot", "auth_ha1", "auth_ldap2", "auth_oauthbearer",
		"auth_sql", "register_json", "register_redirect", "register_web", "invites_api",
		"invites_page", "invites_register_web", "support_contact", "lastlog", "lastlog2",
		"log_auth", "list_inactive", "measure_active_users",
		// stanzas for the server's users, domains and services
		"block_strangers", "blocking", "bob", "broadcast", "carbons_adhoc", "carbons_copies",
		"cloud_notify", "default_bookmarks", "delegation", "privilege", "firewall", "ipcheck",
		"privacy_lists", "private_adhoc", "mam_adhoc", "adhoc_blacklist", "require_otr",
		"seclabels", "stanza_counter", "turncredentials", "http_upload", "http_upload_external",
		"unified_push", "vjud", "watch_spam_reports", "pastebin",
		// HTTP views of what only the server holds
		"atom", "http_pep_avatar", "http_muc_log", "muc_log", "muc_log_http", "webpresence",
		"server_status",
		// MUC and pubsub internals
		"muc_moderation", "muc_restrict_media", "muc_rtbl", "ping_muc", "track_muc_joins",
		"vcard_muc", "pubsub_feeds", "pubsub_mqtt", "pubsub_subscription", "pubsub_text_interface",
		// the server process
		"reload_modules", "migrate_http_upload",
	}
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		set[n] = struct{}{}
	}
	return set
}

// serverSideShapes are the name prefixes Prosody's own naming gives
// modules of the server's machinery: authentication providers (auth_*,
// authz_*), SASL mechanisms (sasl*), server-to-server and client streams
// (s2s_*, c2s_*), stream management and client state (smacks_*, csi_*),
// and the internals of MUC, PEP and pubsub (muc_*, pep_*, pubsub_*).
var serverSideShapes = []string{"auth_", "authz_", "sasl", "s2s_", "c2s_", "smacks_", "csi_", "muc_", "pep_", "pubsub_"}

// HasServerSideShape reports whether module's name has the shape of a
// server-side module (serverSideShapes). The name alone decides nothing:
// such a module, when not listed by IsServerSide, is loaded and judged by
// what it does (ServerSideByUse).
func HasServerSideShape(module string) bool {
	for _, p := range serverSideShapes {
		if len(module) > len(p) && strings.HasPrefix(module, p) {
			return true
		}
	}
	return false
}

// serverEvents are the prefixes of events only the XMPP server fires for
// its own machinery: streams and their features, authentication, resource
// binding, routing, sessions, MUC and pubsub internals, and the stanza
// events of its users' sessions and services.
var serverEvents = []string{
	"stream-", "s2s", "c2s-", "route/", "authentication-", "user-", "resource-bind",
	"pre-resource-bind", "muc-", "pubsub-", "pep-", "sasl", "smacks-", "csi-",
	"stanza/", "iq/", "iq-", "presence/", "message/", "pre-presence/", "pre-message/",
	"pre-iq/", "presence-", "message-", "account-", "pre-session", "session-",
}

// neutralEvents are events any module may hook, in the server or not, that
// say nothing about where it belongs.
var neutralEvents = []string{
	"module-loaded", "module-unloaded", "host-activated", "host-deactivated",
	"config-reloaded", "reloading-config", "server-started", "server-starting",
	"server-stopping", "server-stopped", "item-added/", "item-removed/",
}

// serverItems are the items (module:add_item / module:provides) only the
// server uses: an authentication provider, disco features, identities and
// extensions, ad-hoc commands.
var serverItems = map[string]bool{"auth-provider": true, "feature": true, "identity": true, "extension": true, "adhoc": true}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ServerSideByUse judges a loaded module by what it hooks (event names)
// and provides (item keys: "http-provider", "auth-provider", …): it is
// server-side when it provides an authentication provider, or when it
// hooks or provides something only the XMPP server uses (serverEvents,
// serverItems) and nothing else (events in neutralEvents count for
// neither). It returns why, or "" when the module is not server-side.
func ServerSideByUse(hooks, items []string) string {
	var server, other []string
	for _, it := range items {
		if it == "auth-provider" {
			return "it provides an authentication provider, which the XMPP server uses"
		}
		if serverItems[it] {
			server = append(server, it+" item")
		} else {
			other = append(other, it)
		}
	}
	for _, ev := range hooks {
		switch {
		case hasPrefix(ev, neutralEvents):
		case hasPrefix(ev, serverEvents):
			server = append(server, ev)
		default:
			other = append(other, ev)
		}
	}
	if len(server) == 0 || len(other) > 0 {
		return ""
	}
	if len(server) > 3 {
		server = append(server[:3], "…")
	}
	return "what it hooks and provides only the XMPP server fires or uses: " + strings.Join(server, ", ")
}
