package rosteradmin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// prosodyTarget runs the plugin inside a real Prosody 0.12 and drives it
// with real XMPP clients.
type prosodyTarget struct {
	s *prosodytest.Server
	b *testkit.Backend
}

func startProsodyTarget(t *testing.T) *prosodyTarget {
	b := testkit.NewBackend(t, nil)
	probeDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(probeDir, "mod_roster_admin_probe.lua"), []byte(probePlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	s := prosodytest.Start(t, prosodytest.Options{
		PluginPaths: []string{probeDir},
		HostConfig: fmt.Sprintf(`
	modules_enabled = { "http_roster_admin"; "block_subscriptions"; "roster_admin_probe" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_deadline = %d
	http_roster_admin_max_body = 4096
	probe_log = "{{DIR}}/updated.log"
`, b.URL(), int(fetchTimeout/time.Second), int(requestDeadline/time.Second)),
		Config: scenarioHostsConfig(b) + `
Component "comp.example.com"
	component_secret = "compsecret"
`,
	})
	return &prosodyTarget{s: s, b: b}
}

func (p *prosodyTarget) backend() *testkit.Backend { return p.b }

// url ignores host: Prosody picks the VirtualHost from the Host header
// (call sets it).
func (p *prosodyTarget) url(_, path string) string { return p.s.HTTPURL(path) }

func (p *prosodyTarget) log() string { return p.s.Log() }

func (p *prosodyTarget) updatedLog() string {
	logged, _ := os.ReadFile(filepath.Join(p.s.Dir, "updated.log"))
	return string(logged)
}

func (p *prosodyTarget) addUser(t *testing.T, host, user string) {
	t.Helper()
	if host == "" {
		host = p.s.Host
	}
	// Prosody finds accounts by their nodeprep'd name (lower case, for ASCII).
	if err := p.s.AddHostUser(host, strings.ToLower(user), "pw"); err != nil {
		t.Fatal(err)
	}
}

func (p *prosodyTarget) login(t *testing.T, host, user, resource string) rosterClient {
	t.Helper()
	if host == "" {
		host = p.s.Host
	}
	p.addUser(t, host, user)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: p.s.C2SAddr(), Domain: host, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (p *prosodyTarget) nextPresence(ctx context.Context, to rosterClient, match func(xmpptest.Element) bool) (xmpptest.Element, error) {
	return to.Next(ctx, func(el xmpptest.Element) bool { return el.Is("presence", "") && match(el) })
}

func (p *prosodyTarget) presencesFor(to rosterClient, d time.Duration) []xmpptest.Element {
	var got []xmpptest.Element
	for _, el := range to.Collect(d) {
		if el.Is("presence", "") {
			got = append(got, el)
		}
	}
	return got
}

// inboundPresence sends the presence from a component, as another server's
// entity would, so it reaches the user through presence/* and never through
// the user's own session's pre-presence events.
func (p *prosodyTarget) inboundPresence(t *testing.T, ctx context.Context, typ, from string, to rosterClient) bool {
	t.Helper()
	comp, err := xmpptest.DialComponent(ctx, xmpptest.ComponentConfig{Addr: p.s.ComponentAddr(), Domain: "comp.example.com", Secret: "compsecret"})
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close()
	typeAttr, toJID := "", bareJID(to.JID())
	if typ != "" {
		typeAttr = ` type='` + typ + `'`
	} else {
		toJID = to.JID()
	}
	if err := comp.SendRaw(ctx, `<presence`+typeAttr+` from='`+from+`' to='`+toJID+`'/>`); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = to.Next(wait, func(el xmpptest.Element) bool { return el.Is("presence", "") && el.Attr("from") == from })
	return err == nil
}

func TestRosterAdminInsideProsody(t *testing.T) {
	p := startProsodyTarget(t)
	t.Cleanup(func() { p.s.AssertNoLuaErrors(t, brokenUser) })
	runRosterAdminScenarios(t, p)
}
