package host_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/host/component"
	"github.com/modhost/modhost/host/prosodytest"
	"github.com/modhost/modhost/host/xmpptest"
)

// rosterBackend serves /contacts/{user} from a map the test changes.
type rosterBackend struct {
	mu      sync.Mutex
	rosters map[string]string
}

func (b *rosterBackend) set(user, body string) {
	b.mu.Lock()
	b.rosters[user] = body
	b.mu.Unlock()
}

func (b *rosterBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimPrefix(r.URL.Path, "/contacts/")
	b.mu.Lock()
	body, ok := b.rosters[user]
	b.mu.Unlock()
	if !ok {
		body = "{}"
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

// startLinked runs real Prosody with modhost's component set up for mode,
// and a modhost runtime linked to it with mod_http_roster_admin.
func startLinked(t *testing.T, mode component.RosterMode, backend *rosterBackend) (*prosodytest.Server, *host.Runtime) {
	t.Helper()
	const domain, comp, secret = "example.com", "roster.example.com", "s3cret"
	snippet, err := component.Snippet(component.SnippetOptions{Host: domain, Component: comp, Secret: secret, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	s := prosodytest.Start(t, prosodytest.Options{
		Host:   domain,
		Users:  map[string]string{"alice": "pw", "bob": "pw"},
		Config: snippet[strings.Index(snippet, "VirtualHost"):],
	})
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	rt, err := host.New(host.Options{Logger: testLogger(t), ConfigName: t.TempDir() + "/modhost.cfg.lua", ConfigSource: fmt.Sprintf(`
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
	http_roster_url = %q
	component_client = { host = "127.0.0.1"; port = %d; jid = %q; secret = %q }
`, domain, srv.URL+"/contacts/%s", s.ComponentPort, comp, secret)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for rt.LinkStates()[domain] != "online" {
		if time.Now().After(deadline) {
			t.Fatalf("link not online: %v\n%s", rt.LinkStates(), s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the privilege and delegation advertisements follow the handshake
	return s, rt
}

func refresh(t *testing.T, rt *host.Runtime, users string) string {
	t.Helper()
	resp, err := http.Post(rt.HTTPURLs()[0]+"/roster_admin/refresh", "application/json", strings.NewReader(users))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh %s: %d %s", users, resp.StatusCode, b)
	}
	return string(b)
}

func TestLinkedDelegatedRosterFollowsTheBackend(t *testing.T) {
	prosodytest.Require(t)
	backend := &rosterBackend{rosters: map[string]string{
		"alice": `{"bob@example.com":{"name":"Bob","groups":["Friends"]}}`,
	}}
	s, rt := startLinked(t, component.Delegated, backend)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	alice, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: "example.com", Username: "alice", Password: "pw", Resource: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	items, err := alice.Roster(ctx)
	if err != nil {
		t.Fatalf("roster: %v\n%s", err, s.Log())
	}
	if len(items) != 1 || items[0].JID != "bob@example.com" || items[0].Name != "Bob" || items[0].Subscription != "both" ||
		len(items[0].Groups) != 1 || items[0].Groups[0] != "Friends" {
		t.Fatalf("login roster = %+v", items)
	}
	if err := alice.SendPresence(ctx, "", ""); err != nil {
		t.Fatal(err)
	}

	backend.set("alice", `{"bob@example.com":{"name":"Bobby","groups":["Friends"]},"carol@example.com":{"name":"Carol"}}`)
	if got := refresh(t, rt, `["alice"]`); !strings.Contains(got, `"updated":1`) {
		t.Fatalf("refresh answer %s", got)
	}
	seen := map[string]string{}
	for len(seen) < 2 {
		push, err := alice.Next(ctx, func(e xmpptest.Element) bool {
			_, ok := e.Child("query", "jabber:iq:roster")
			return e.Is("iq", "set") && ok
		})
		if err != nil {
			t.Fatalf("pushes so far %v: %v", seen, err)
		}
		for _, it := range xmpptest.RosterItems(push) {
			seen[it.JID] = it.Name
		}
		if from := push.Attr("from"); from != "" && from != "alice@example.com" {
			t.Errorf("push from %q, want the user's bare JID", from)
		}
	}
	if seen["carol@example.com"] != "Carol" || seen["bob@example.com"] != "Bobby" {
		t.Fatalf("pushes = %v", seen)
	}

	// The client may not edit the roster the web app owns.
	res, err := alice.IQ(ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='mallory@example.com'/></query>`)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Is("iq", "error") || !strings.Contains(res.String(), "service-unavailable") {
		t.Fatalf("roster set answered %s", res.String())
	}
	// Another user's roster is not answered from anyone's data.
	res, err = alice.IQ(ctx, "get", "bob@example.com", `<query xmlns='jabber:iq:roster'/>`)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Is("iq", "error") {
		t.Fatalf("query of bob's roster answered %s", res.String())
	}
}

func TestLinkedServerHeldRosterIsWrittenToTheServer(t *testing.T) {
	prosodytest.Require(t)
	backend := &rosterBackend{rosters: map[string]string{
		"alice": `{"bob@example.com":{"name":"Bob","groups":["Friends"]}}`,
	}}
	s, rt := startLinked(t, component.ServerHeld, backend)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	alice, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: "example.com", Username: "alice", Password: "pw", Resource: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if _, err := alice.Roster(ctx); err != nil { // the server answers; alice is now interested in pushes
		t.Fatal(err)
	}
	if err := alice.SendPresence(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	// modhost sees alice's presence, fetches her roster from the app and
	// writes it into the server's roster; the server pushes it to her.
	waitPush := func(jid, name string) {
		t.Helper()
		_, err := alice.Next(ctx, func(e xmpptest.Element) bool {
			for _, it := range xmpptest.RosterItems(e) {
				if it.JID == jid && it.Name == name {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("no push of %s (%s): %v\n%s", jid, name, err, s.Log())
		}
	}
	waitPush("bob@example.com", "Bob")

	backend.set("alice", `{"carol@example.com":{"name":"Carol","groups":["Work"]}}`)
	refresh(t, rt, `["alice"]`)
	// The server pushes carol's addition and bob's removal, in either order.
	pushed := map[string]string{}
	for pushed["carol@example.com"] != "both" || pushed["bob@example.com"] != "remove" {
		push, err := alice.Next(ctx, func(e xmpptest.Element) bool { return len(xmpptest.RosterItems(e)) > 0 && e.Is("iq", "set") })
		if err != nil {
			t.Fatalf("pushes after refresh %v: %v", pushed, err)
		}
		for _, it := range xmpptest.RosterItems(push) {
			pushed[it.JID] = it.Subscription
		}
	}
	items, err := alice.Roster(ctx)
	if err != nil || len(items) != 1 || items[0].JID != "carol@example.com" || items[0].Subscription != "both" {
		t.Fatalf("server's roster = %+v, %v", items, err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("MODHOST_TEST_DEBUG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
