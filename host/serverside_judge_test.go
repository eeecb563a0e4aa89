package host

import (
	"strings"
	"testing"
)

// A module that depends on a server-side module, directly or through
// another, needs the XMPP server as that module does: it is reported
// skipped with why, not BROKEN. A module whose name has a server-side
// shape is judged by what it hooks and provides; one with any other name
// is loaded whatever it hooks.
func TestModulesAreJudgedServerSideByDependencyAndUse(t *testing.T) {
	dir := writePlugins(t, map[string]string{
		"mod_needs_adhoc.lua":   `module:hook("my-event", function () end); module:depends("adhoc");`,
		"mod_needs_needs.lua":   `module:depends("needs_adhoc");`,
		"mod_auth_portal.lua":   `module:provides("auth", { test_password = function () return true; end });`,
		"mod_s2s_tracker.lua":   `module:hook("s2s-authenticated", function () return "s2s seen"; end); module:hook("stream-features", function () end); module:hook_global("config-reloaded", function () end);`,
		"mod_muc_http_view.lua": `module:hook("muc-room-created", function () end); module:provides("http", { route = { ["GET /"] = function () return "rooms"; end } });`,
		"mod_auth_broken.lua":   `error("broken on purpose")`,
		"mod_presence_log.lua":  `module:hook("presence/bare", function () end);`,
	})
	rt, report := startWith(t, Options{
		ConfigSource: "plugin_paths = { \"" + dir + "\" }\nstorage = \"memory\"\nVirtualHost \"a.example\"\n\tmodules_enabled = { \"needs_adhoc\", \"needs_needs\", \"auth_portal\", \"s2s_tracker\", \"muc_http_view\", \"auth_broken\", \"presence_log\" }\n",
		ConfigName:   dir + "/test.cfg.lua", NoListen: true, Prosody: &ProsodyInstall{},
	})
	h := report.Hosts[0]
	reasons := map[string]string{}
	for _, m := range h.Skipped {
		reasons[m.Name] = m.Reason
	}
	for name, want := range map[string]string{
		"needs_adhoc": "depends on mod_adhoc, which the XMPP server runs",
		"needs_needs": "depends on mod_adhoc, which the XMPP server runs",
		"auth_portal": "authentication provider",
		"s2s_tracker": "s2s-authenticated, stream-features",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: skipped because %q, want %q (report %+v)", name, reasons[name], want, h)
		}
	}
	loaded := map[string]bool{}
	for _, m := range h.Loaded {
		loaded[m.Name] = true
	}
	if !loaded["muc_http_view"] || !loaded["presence_log"] || len(h.Loaded) != 2 {
		t.Errorf("loaded %+v, want muc_http_view and presence_log", h.Loaded)
	}
	if len(h.Broken) != 1 || h.Broken[0].Name != "auth_broken" {
		t.Errorf("broken %+v, want auth_broken alone", h.Broken)
	}
	// A module found server-side by what it hooks is unloaded again.
	if got := fire(t, rt, "a.example", "s2s-authenticated", nil); got != nil {
		t.Errorf("the skipped module's hook still answers: %v", got)
	}
}
