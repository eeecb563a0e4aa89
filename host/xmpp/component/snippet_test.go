package component

import (
	"strings"
	"testing"
)

// The Prosody snippets are also loaded by real Prosody in prosody_test.go;
// these pin what each variant must and must not say.
func TestSnippet(t *testing.T) {
	base := SnippetOptions{Host: "example.com", Component: "roster.example.com", Secret: `s"e\cret`, PluginsDir: "/opt/modhost/plugins"}
	tests := []struct {
		name    string
		server  string
		mode    RosterMode
		want    []string
		wantNot []string
	}{{
		name:   "prosody, server-held rosters",
		server: "prosody",
		mode:   ServerHeld,
		want: []string{
			`plugin_paths = { "/opt/modhost/plugins" }`,
			`VirtualHost "example.com"`,
			`modules_enabled = { "privilege"; "block_subscriptions" }`,
			`["roster.example.com"] = {`, `roster = "both";`, `presence = "managed_entity";`,
			`Component "roster.example.com"`,
			`component_secret = "s\"e\\cret"`,
			"\tmodules_enabled = { \"privilege\" }\n",
		},
		wantNot: []string{"delegation", "iq =", `modules_disabled`},
	}, {
		name:   "prosody, delegated rosters",
		server: "",
		mode:   Delegated,
		want: []string{
			`modules_enabled = { "privilege"; "delegation"; "block_subscriptions" }`,
			`modules_disabled = { "roster" }`,
			`iq = { ["jabber:iq:roster"] = "both" };`,
			`["jabber:iq:roster"] = { jid = "roster.example.com" };`,
			"\tmodules_enabled = { \"privilege\"; \"delegation\" }\n",
		},
	}, {
		name:   "ejabberd, delegated rosters",
		server: "ejabberd",
		mode:   Delegated,
		want: []string{
			"module: ejabberd_service", `"roster.example.com":`, `password: "s\"e\\cret"`,
			"mod_privilege:", "both: modhost", "managed_entity: modhost",
			"mod_delegation:", `"jabber:iq:roster":`, "access: modhost",
			"module: ejabberd_http", "/api: mod_http_api", "port: 5281\n", "ip: 127.0.0.1/8",
			"# and mod_admin_extra: {}", "- add_rosteritem\n",
		},
		// 23.01 refuses an iq option in mod_privilege; no Lua comments.
		wantNot: []string{"block_subscriptions:", "VirtualHost", "\n    iq:", "--", "privilege_access", "\"*\""},
	}, {
		name:    "ejabberd, server-held rosters",
		server:  "ejabberd",
		mode:    ServerHeld,
		want:    []string{"mod_privilege:", "roster:\n      both: modhost"},
		wantNot: []string{"mod_delegation", "iq:"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.Server, o.Mode = tt.server, tt.mode
			got, err := Snippet(o)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("snippet lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("snippet has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestSnippetRefusesIncompleteOptions(t *testing.T) {
	for _, o := range []SnippetOptions{
		{Component: "c.example.com"},
		{Host: "example.com"},
		{Host: "example.com", Component: "c.example.com", Server: "openfire"},
	} {
		if s, err := Snippet(o); err == nil {
			t.Errorf("Snippet(%+v) = %q, want an error", o, s)
		}
	}
}

func TestLuaQuoteEscapesControlBytes(t *testing.T) {
	if got, want := luaQuote("a\nb\x00\"\\é"), `"a\010b\000\"\\é"`; got != want {
		t.Errorf("luaQuote = %s, want %s", got, want)
	}
}
