package component

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RosterMode is who holds users' rosters when modhost is linked to a server.
type RosterMode int

const (
	// ServerHeld: the server's mod_roster stores and serves rosters; modhost
	// writes them with privileged roster sets and the server pushes changes.
	ServerHeld RosterMode = iota
	// Delegated: clients' roster queries are delegated to modhost (XEP-0355),
	// which answers them, pushes changes itself with privileged IQs, and
	// mirrors every change into the server's roster so presence is routed
	// by it.
	Delegated
)

func (m RosterMode) String() string {
	if m == Delegated {
		return "delegated"
	}
	return "server-held"
}

// SnippetOptions describe the server-side setup Snippet prints.
type SnippetOptions struct {
	Server     string // "prosody" (default) or "ejabberd"
	Host       string // the users' domain (VirtualHost), e.g. example.com
	Component  string // modhost's component JID, e.g. roster.example.com
	Secret     string // the shared component secret
	Port       int    // the server's component port; default 5347
	APIPort    int    // ejabberd: the loopback port of its HTTP API; default 5281
	Mode       RosterMode
	PluginsDir string // modhost's plugins folder, for Prosody's plugin_paths
}

// Snippet is the server configuration that lets modhost link to a server as
// Component, with the privileges (XEP-0356) and, in Delegated mode, the
// delegation (XEP-0355) it needs. For Prosody it also loads modhost's own
// block_subscriptions plugin into the server: subscription presences never
// reach a component, so only the server can stop clients changing
// subscriptions behind the roster's owner.
func Snippet(o SnippetOptions) (string, error) {
	if o.Host == "" || o.Component == "" {
		return "", errors.New("snippet: Host and Component are required")
	}
	if o.Port == 0 {
		o.Port = 5347
	}
	if o.APIPort == 0 {
		o.APIPort = 5281
	}
	if o.Secret == "" {
		o.Secret = "CHANGE-ME"
	}
	switch strings.ToLower(o.Server) {
	case "", "prosody":
		return prosodySnippet(o), nil
	case "ejabberd":
		return ejabberdSnippet(o), nil
	}
	return "", fmt.Errorf("snippet: unknown server %q (want prosody or ejabberd)", o.Server)
}

func prosodySnippet(o SnippetOptions) string {
	q := luaQuote
	modules := `"privilege"; "block_subscriptions"`
	componentModules := `"privilege"`
	if o.Mode == Delegated {
		modules = `"privilege"; "delegation"; "block_subscriptions"`
		componentModules = `"privilege"; "delegation"`
	}
	plugins := o.PluginsDir
	if plugins == "" {
		plugins = "/path/to/modhost/plugins"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- Prosody 0.12: link modhost (%s rosters) as component %s of %s.\n", o.Mode, o.Component, o.Host)
	if o.Mode == Delegated {
		fmt.Fprintf(&b, "-- mod_privilege and mod_delegation come with prosody-modules.\n\n")
	} else {
		fmt.Fprintf(&b, "-- mod_privilege comes with prosody-modules.\n\n")
	}
	fmt.Fprintf(&b, "-- Global section: where the server finds modhost's block_subscriptions plugin.\n")
	fmt.Fprintf(&b, "plugin_paths = { %s }\n", q(plugins))
	fmt.Fprintf(&b, "component_ports = { %d }\ncomponent_interfaces = { \"127.0.0.1\" }\n\n", o.Port)
	fmt.Fprintf(&b, "VirtualHost %s\n", q(o.Host))
	fmt.Fprintf(&b, "\tmodules_enabled = { %s }\n", modules)
	if o.Mode == Delegated {
		fmt.Fprintf(&b, "\t-- modhost answers roster queries; the server keeps a mirror for presence routing.\n")
		fmt.Fprintf(&b, "\tmodules_disabled = { \"roster\" }\n")
	}
	fmt.Fprintf(&b, "\tprivileged_entities = {\n\t\t[%s] = {\n", q(o.Component))
	fmt.Fprintf(&b, "\t\t\troster = \"both\"; -- read and write every user's roster\n")
	fmt.Fprintf(&b, "\t\t\tpresence = \"managed_entity\"; -- learn who is online\n")
	if o.Mode == Delegated {
		fmt.Fprintf(&b, "\t\t\tiq = { [\"jabber:iq:roster\"] = \"both\" }; -- push roster changes from the user's own JID\n")
	}
	fmt.Fprintf(&b, "\t\t};\n\t}\n")
	if o.Mode == Delegated {
		fmt.Fprintf(&b, "\tdelegations = {\n\t\t[\"jabber:iq:roster\"] = { jid = %s };\n\t}\n", q(o.Component))
	}
	fmt.Fprintf(&b, "\nComponent %s\n", q(o.Component))
	fmt.Fprintf(&b, "\tcomponent_secret = %s\n", q(o.Secret))
	fmt.Fprintf(&b, "\t-- needed on the component too, or no privileges are advertised\n")
	fmt.Fprintf(&b, "\tmodules_enabled = { %s }\n", componentModules)
	return b.String()
}

// EjabberdAPICommands are the mod_http_api commands the ejabberd snippet's
// api_permissions grant modhost: rosters written and read through ejabberd's
// own admin commands (privileged roster sets fail on 23.01), sessions listed,
// and presence probes sent for a user whose roster was just written
// (send_stanza; add_rosteritem sends none). host/xmpp/ejabberdapi calls them.
var EjabberdAPICommands = []string{
	"add_rosteritem", "delete_rosteritem", "get_roster",
	"connected_users", "connected_users_vhost", "user_resources", "user_sessions_info",
	"send_stanza", "status",
}

// ejabberdSnippet is YAML for ejabberd 23.01, to merge into ejabberd.yml or to
// name in its include_config_file. 23.01's mod_privilege implements
// urn:xmpp:privilege:1: only roster, message and presence are options (an iq
// key is a fatal config error), so modhost cannot push roster changes from
// the user's JID there.
func ejabberdSnippet(o SnippetOptions) string {
	y := strconv.Quote // YAML double-quoted scalars accept Go's escapes for ordinary text
	var b strings.Builder
	fmt.Fprintf(&b, "# ejabberd 23.01: link modhost (%s rosters) as component %s of %s.\n", o.Mode, o.Component, o.Host)
	fmt.Fprintf(&b, "# Merge into ejabberd.yml, or save as a file named in its include_config_file.\n")
	fmt.Fprintf(&b, "# modhost writes rosters through the API below: in modhost's config, give the\n")
	fmt.Fprintf(&b, "# users' host\n")
	fmt.Fprintf(&b, "#   ejabberd_api = { url = \"http://127.0.0.1:%d/api\" }\n", o.APIPort)
	fmt.Fprintf(&b, "# (23.01's privileged roster sets all fail). ejabberd cannot load modhost's\n")
	fmt.Fprintf(&b, "# block_subscriptions plugin; to refuse clients' own roster sets, give\n")
	fmt.Fprintf(&b, "# mod_roster (in Debian's ejabberd.yml: declared twice, ejabberd does not\n")
	fmt.Fprintf(&b, "# start) the option  access: modhost_rosters  and add to access_rules:\n")
	fmt.Fprintf(&b, "#   modhost_rosters: { deny: all }\n")
	fmt.Fprintf(&b, "# Subscription presences still pass; modhost rewrites what they changed\n")
	fmt.Fprintf(&b, "# at the user's next login.\n\n")
	fmt.Fprintf(&b, "listen:\n")
	fmt.Fprintf(&b, "  # modhost's XEP-0114 link\n")
	fmt.Fprintf(&b, "  -\n    port: %d\n    ip: \"127.0.0.1\"\n    module: ejabberd_service\n", o.Port)
	fmt.Fprintf(&b, "    hosts:\n      %s:\n        password: %s\n", y(o.Component), y(o.Secret))
	fmt.Fprintf(&b, "  # ejabberd's admin API (mod_http_api), for modhost only: loopback\n")
	fmt.Fprintf(&b, "  -\n    port: %d\n    ip: \"127.0.0.1\"\n    module: ejabberd_http\n", o.APIPort)
	fmt.Fprintf(&b, "    request_handlers:\n      /api: mod_http_api\n\n")
	fmt.Fprintf(&b, "acl:\n  modhost:\n    server: %s\n\n", y(o.Component))
	fmt.Fprintf(&b, "access_rules:\n  modhost:\n    allow: modhost\n\n")
	fmt.Fprintf(&b, "api_permissions:\n  \"modhost\":\n    from:\n      - mod_http_api\n")
	fmt.Fprintf(&b, "    who:\n      ip: 127.0.0.1/8\n    what:\n")
	for _, c := range EjabberdAPICommands {
		fmt.Fprintf(&b, "      - %s\n", c)
	}
	fmt.Fprintf(&b, "\nmodules:\n")
	// Not declared here: included next to Debian's ejabberd.yml, which has it,
	// a second mod_admin_extra is a fatal "Duplicated option".
	fmt.Fprintf(&b, "  # and mod_admin_extra: {} (Debian's ejabberd.yml has it): it provides the\n")
	fmt.Fprintf(&b, "  # roster and session commands above. Declared twice, ejabberd does not start.\n")
	fmt.Fprintf(&b, "  mod_privilege:\n")
	fmt.Fprintf(&b, "    roster:\n      both: modhost\n")
	fmt.Fprintf(&b, "    presence:\n      managed_entity: modhost\n")
	if o.Mode == Delegated {
		fmt.Fprintf(&b, "  # 23.01 sends modhost's own roster requests back to it once this is on, and\n")
		fmt.Fprintf(&b, "  # has no iq permission for pushes: on 23.01 use server-held rosters instead.\n")
		fmt.Fprintf(&b, "  mod_delegation:\n    namespaces:\n      \"jabber:iq:roster\":\n        access: modhost\n")
	}
	return b.String()
}

// luaQuote writes s as a Lua string literal every Lua version reads the same:
// quotes, backslashes and control bytes as decimal escapes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
