package rosteradmin_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/internal/runtimetest"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// modhostTarget runs the plugin in modhost standalone: no XMPP server,
// clients are host.Runtime sessions, and stanzas for anyone without a local
// session are recorded by a host.Recorder, where the XMPP link would take
// them.
type modhostTarget struct {
	rt   *host.Runtime
	b    *testkit.Backend
	sent *host.Recorder
	logs *testkit.SyncBuffer
	dir  string
}

// scenarioHostsConfig declares the other hosts the scenarios use, in both
// targets: refusedHost, whose backend refuses connections and which wants a
// secret, offlineHost, which refreshes offline users, loginHost, with
// the plugin's default timeouts, and busyHost, with few fetch slots, a
// short deadline and a small cap on usernames per request.
func scenarioHostsConfig(b *testkit.Backend) string {
	return fmt.Sprintf(`
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = "http://127.0.0.1:1/contacts/%%s"
	http_roster_admin_refresh_offline = true
	http_roster_admin_secret = %q

VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_refresh_offline = true

VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q

VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_refresh_offline = true
	http_roster_admin_deadline = %d
	http_roster_admin_max_concurrent = %d
	http_roster_admin_max_users = %d
`, refusedHost, testSecret, offlineHost, b.URL(), int(fetchTimeout/time.Second), loginHost, b.URL(),
		busyHost, b.URL(), int(fetchTimeout/time.Second), int(busyDeadline/time.Second), busySlots, busyMaxUsers)
}

func startModhostTarget(t *testing.T) *modhostTarget {
	b := testkit.NewBackend(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_roster_admin_probe.lua"), []byte(probePlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &modhostTarget{b: b, sent: &host.Recorder{}, logs: &testkit.SyncBuffer{}, dir: dir}
	m.rt = runtimetest.Start(t, fmt.Sprintf(`
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin"; "block_subscriptions"; "roster_admin_probe" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_deadline = %d
	http_roster_admin_max_body = 4096
	probe_log = %q
`, b.URL(), int(fetchTimeout/time.Second), int(requestDeadline/time.Second), filepath.Join(dir, "updated.log"))+
		scenarioHostsConfig(b), []string{dir}, m.sent, m.logs)
	return m
}

func (m *modhostTarget) backend() *testkit.Backend { return m.b }

// url ignores host: like Prosody, modhost picks the host by the Host
// header (call sets it).
func (m *modhostTarget) url(_, path string) string { return m.rt.HTTPURLs()[0] + path }

func (m *modhostTarget) log() string { return m.logs.String() }

func (m *modhostTarget) updatedLog() string {
	logged, _ := os.ReadFile(filepath.Join(m.dir, "updated.log"))
	return string(logged)
}

// addUser has nothing to do: standalone, every user exists (no
// Options.UserExists).
func (m *modhostTarget) addUser(*testing.T, string, string) {}

func (m *modhostTarget) login(t *testing.T, hostName, user, resource string) rosterClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if hostName == "" {
		hostName = "example.com"
	}
	s, err := m.rt.Login(ctx, hostName, user, resource)
	if err != nil {
		t.Fatal(err)
	}
	c := &sessionClient{s: s}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// sentPresences parses the presences recorded by the sink addressed to
// to's user (its bare or any full JID).
func (m *modhostTarget) sentPresences(to rosterClient) []xmpptest.Element {
	var got []xmpptest.Element
	for _, s := range m.sent.Sent() {
		el, err := parseElement(s.XML)
		if err != nil || !el.Is("presence", "") || bareJID(el.Attr("to")) != bareJID(to.JID()) {
			continue
		}
		got = append(got, el)
	}
	return got
}

func (m *modhostTarget) nextPresence(ctx context.Context, to rosterClient, match func(xmpptest.Element) bool) (xmpptest.Element, error) {
	for {
		for _, el := range m.sentPresences(to) {
			if match(el) {
				return el, nil
			}
		}
		select {
		case <-ctx.Done():
			return xmpptest.Element{}, fmt.Errorf("no such presence for %s among %v: %w", to.JID(), m.sentPresences(to), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (m *modhostTarget) presencesFor(to rosterClient, d time.Duration) []xmpptest.Element {
	time.Sleep(d)
	return m.sentPresences(to)
}

// inboundPresence fires presence/bare (presence/full for a full JID) on the
// host as the XMPP link does for a presence arriving from the server; a
// presence reaches the user when no handler stops the event.
func (m *modhostTarget) inboundPresence(t *testing.T, ctx context.Context, typ, from string, to rosterClient) bool {
	t.Helper()
	event, toJID := "presence/bare", bareJID(to.JID())
	if typ == "" {
		event, toJID = "presence/full", to.JID()
	}
	attr := map[string]any{"from": from, "to": toJID}
	if typ != "" {
		attr["type"] = typ
	}
	stopped, err := m.rt.FireEvent(ctx, "example.com", event, map[string]any{
		"origin": map[string]any{"type": "component", "host": "comp.example.com"},
		"stanza": map[string]any{"name": "presence", "attr": attr},
	})
	if err != nil {
		t.Fatal(err)
	}
	return stopped == nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func parseElement(x string) (xmpptest.Element, error) {
	var el xmpptest.Element
	err := xml.Unmarshal([]byte(x), &el)
	return el, err
}

// sessionClient gives a standalone session xmpptest.Client's methods. Like
// that client, it hides answers to its own IQs from Collect and Next.
type sessionClient struct {
	s      *host.Session
	cursor int // index into s.Received() of the next stanza not yet consumed
}

var iqIDs atomic.Uint64

func (c *sessionClient) JID() string { return c.s.FullJID() }

func (c *sessionClient) Roster(ctx context.Context) ([]xmpptest.RosterItem, error) {
	items, err := c.s.Roster(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]xmpptest.RosterItem, 0, len(items))
	for _, it := range items {
		out = append(out, xmpptest.RosterItem(it))
	}
	return out, nil
}

func isAnswer(el xmpptest.Element) bool {
	return el.Is("iq", "result") || el.Is("iq", "error")
}

func (c *sessionClient) Collect(d time.Duration) []xmpptest.Element {
	time.Sleep(d)
	received := c.s.Received()
	var got []xmpptest.Element
	for _, x := range received[min(c.cursor, len(received)):] {
		if el, err := parseElement(x); err == nil && !isAnswer(el) {
			got = append(got, el)
		}
	}
	c.cursor = len(received)
	return got
}

func (c *sessionClient) Next(ctx context.Context, match func(xmpptest.Element) bool) (xmpptest.Element, error) {
	var found xmpptest.Element
	_, i, err := c.s.Next(ctx, c.cursor, func(x string) bool {
		el, err := parseElement(x)
		if err != nil || isAnswer(el) || (match != nil && !match(el)) {
			return false
		}
		found = el
		return true
	})
	if err != nil {
		return xmpptest.Element{}, err
	}
	c.cursor = i + 1
	return found, nil
}

func (c *sessionClient) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.s.Logout(ctx)
}

func (c *sessionClient) SendPresence(ctx context.Context, typ, to string) error {
	attrs := ""
	if typ != "" {
		attrs += ` type="` + xmlEscape(typ) + `"`
	}
	if to != "" {
		attrs += ` to="` + xmlEscape(to) + `"`
	}
	return c.s.Send(ctx, `<presence`+attrs+`/>`)
}

func (c *sessionClient) IQ(ctx context.Context, typ, to, payload string) (xmpptest.Element, error) {
	id := "q" + strconv.FormatUint(iqIDs.Add(1), 10)
	toAttr := ""
	if to != "" {
		toAttr = ` to="` + xmlEscape(to) + `"`
	}
	start := len(c.s.Received())
	if err := c.s.Send(ctx, `<iq type="`+xmlEscape(typ)+`" id="`+id+`"`+toAttr+`>`+payload+`</iq>`); err != nil {
		return xmpptest.Element{}, err
	}
	x, _, err := c.s.Next(ctx, start, func(x string) bool {
		el, err := parseElement(x)
		return err == nil && isAnswer(el) && el.Attr("id") == id
	})
	if err != nil {
		return xmpptest.Element{}, err
	}
	return parseElement(x)
}

func TestRosterAdminInModhostStandalone(t *testing.T) {
	m := startModhostTarget(t)
	t.Cleanup(func() {
		for _, line := range strings.Split(m.log(), "\n") {
			if strings.Contains(line, brokenUser) {
				continue // the probe plugin's failure on purpose
			}
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "traceback") {
				t.Errorf("modhost logged: %s", line)
			}
		}
	})
	runRosterAdminScenarios(t, m)
}
