-- modhost example configuration.
--
-- This is an ordinary Prosody 0.12 configuration file: Prosody can run it
-- unchanged, and modhost reads the same file. modhost skips, with one log
-- line each, the modules that only make sense inside an XMPP server (c2s,
-- roster, disco, ...) and runs the others, such as http_roster_admin.

---------- Server-wide settings ----------

admins = { "admin@localhost" }

-- Modules loaded on every VirtualHost.
modules_enabled = {
	-- Generally required
		"disco"; -- Service discovery
		"roster"; -- Allow users to have a roster
		"saslauth"; -- Authentication for clients and servers
		"tls"; -- Add support for secure TLS on c2s/s2s connections

	-- Not essential, but recommended
		"blocklist"; -- Allow users to block communications with other users
		"bookmarks"; -- Synchronise the list of open rooms between clients
		"carbons"; -- Keep multiple online clients in sync
		"dialback"; -- Support for verifying remote servers using DNS
		"limits"; -- Enable bandwidth limiting for XMPP connections
		"pep"; -- Allow users to store public and private data in their account
		"private"; -- Legacy account storage mechanism (XEP-0049)
		"smacks"; -- Stream management and resumption (XEP-0198)
		"vcard4"; -- User profiles (stored in PEP)
		"vcard_legacy"; -- Conversion between legacy vCard and PEP Avatar, vcard

	-- Nice to have
		"csi_simple"; -- Simple but effective traffic optimizations for mobile devices
		"invites"; -- Create and manage invites
		"invites_adhoc"; -- Allow admins/users to create invitations via their client
		"invites_register"; -- Allows invited users to create accounts
		"ping"; -- Replies to XMPP pings with pongs
		"register"; -- Allow users to register on this server using a client and change passwords
		"time"; -- Let others know the time here on this server
		"uptime"; -- Report how long server has been running
		"version"; -- Replies to server version requests
		"mam"; -- Store recent messages to allow multi-device synchronization

	-- Admin interfaces
		"admin_adhoc"; -- Allows administration via an XMPP client that supports ad-hoc commands
		"admin_shell"; -- Allow secure administration via 'prosodyctl shell'
}

modules_disabled = {
	-- "offline"; -- Store offline messages
	-- "c2s"; -- Handle client connections
	-- "s2s"; -- Handle server-to-server connections
}

-- Client and server connections.
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false
allow_registration = false

c2s_ports = { 5222 }
s2s_ports = { 5269 }
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

ssl = {
	certificate = "certs/localhost.crt";
	key = "certs/localhost.key";
}

limits = {
	c2s = { rate = "10kb/s" };
	s2sin = { rate = "30kb/s" };
}

authentication = "internal_hashed"
archive_expires_after = "1w"

-- HTTP: modhost serves on loopback unless http_interfaces says otherwise.
http_ports = { 5280 }
http_interfaces = { "127.0.0.1", "::1" }

log = {
	info = "*console";
}

pidfile = "prosody.pid"

---------- Virtual hosts ----------

VirtualHost "localhost"

modules_enabled = {
    "http_roster_admin",
    "block_subscriptions",
    "storage_memory",
    "http_files"
}
modules_disabled = {
     -- Prosody will get the roster from the backend app,
     -- so we disable the default roster module.
    "roster"
}
storage = { roster = "memory" }
http_roster_url = "http://localhost/contacts/%s" -- %s will be replaced by an URL-encoded username
