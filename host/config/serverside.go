package config

// IsServerSide reports whether module is one of the modules Prosody 0.12
// ships that only make sense inside an XMPP server. modhost recognises them
// in a config and skips them, with a log line, instead of failing to find
// them.
func IsServerSide(module string) bool {
	_, ok := serverSideModules()[module]
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
