// The example hook plugins on the full path: a modhost runtime loads them
// with mod_http_roster_admin, a real HTTP backend (httptest) serves the
// rosters, and standalone sessions log in, query and receive pushes. The
// specs in spec/ test the hooks alone; this is the proof that they take
// effect where a user sees it.
package plugins_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/internal/runtimetest"
	"github.com/modhost/modhost/internal/testkit"
)

// start runs a runtime with both example plugins on example.com (domain
// group only for contacts without groups) and all.example.com (for every
// contact), fetching rosters from rosterURL.
func start(t *testing.T, rosterURL string) (*host.Runtime, *testkit.SyncBuffer) {
	t.Helper()
	cfg := fmt.Sprintf(`
plugin_paths = { "." }
data_path = %q
storage = "memory"
http_roster_url = %q
http_roster_admin_timeout = 5
modules_enabled = { "http_roster_admin", "roster_group_by_domain", "roster_drop_blocked" }

VirtualHost "example.com"

VirtualHost "all.example.com"
	roster_group_by_domain_only_empty = false
`, t.TempDir(), rosterURL)
	name, err := filepath.Abs("plugins_test.cfg.lua") // plugin_paths resolve against this folder
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.SyncBuffer{}
	rt := runtimetest.StartWith(t, host.Options{
		ConfigSource: cfg, ConfigName: name, NoListen: true,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	return rt, logs
}

const aliceRoster = `{
	"bob@example.org": {},
	"carol@example.com": { "name": "Carol", "groups": ["Work"] },
	"eve@example.net": { "name": "Eve", "blocked": true }
}`

func TestLoginRosterIsGroupedByDomainWithoutBlockedContacts(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	url := b.URL()
	b.Set("alice", aliceRoster)
	rt, logs := start(t, url)
	tests := []struct {
		host string
		want []host.RosterItem
	}{
		{"example.com", []host.RosterItem{
			{JID: "bob@example.org", Subscription: "both", Groups: []string{"example.org"}},
			{JID: "carol@example.com", Name: "Carol", Subscription: "both", Groups: []string{"Work"}},
		}},
		{"all.example.com", []host.RosterItem{
			{JID: "bob@example.org", Subscription: "both", Groups: []string{"example.org"}},
			{JID: "carol@example.com", Name: "Carol", Subscription: "both", Groups: []string{"Work", "example.com"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := rt.Login(ctx, tc.host, "alice", "laptop")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Logout(ctx) }()
			items, err := s.Roster(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(items, tc.want) {
				t.Fatalf("roster at login = %+v\nwant %+v", items, tc.want)
			}
			drop := fmt.Sprintf(`level=INFO msg="Dropped blocked contact eve@example.net from the roster of alice" source=%s:roster_drop_blocked`, tc.host)
			if !strings.Contains(logs.String(), drop) {
				t.Errorf("no info line %q in the log:\n%s", drop, logs.String())
			}
		})
	}
}

func TestRefreshRemovesAContactTheApplicationBlocks(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	url := b.URL()
	b.Set("alice", `{ "bob@example.org": {} }`)
	rt, _ := start(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := rt.Login(ctx, "example.com", "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Roster(ctx); err != nil { // asks for pushes from now on
		t.Fatal(err)
	}
	mark := len(s.Received())

	b.Set("alice", `{ "bob@example.org": { "blocked": true }, "dave@example.net": {} }`)
	req := httptest.NewRequest(http.MethodPost, "/roster_admin/refresh", strings.NewReader(`["alice"]`))
	rec := httptest.NewRecorder()
	rt.HTTPHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"updated":1`) {
		t.Fatalf("refresh answered %d %s", rec.Code, rec.Body.String())
	}

	pushes := map[string]host.RosterItem{}
	for len(pushes) < 2 {
		x, i, err := s.Next(ctx, mark, func(x string) bool { return strings.Contains(x, "jabber:iq:roster") })
		if err != nil {
			t.Fatalf("pushes so far %+v: %v", pushes, err)
		}
		mark = i + 1
		items, err := host.RosterItems(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			pushes[it.JID] = it
		}
	}
	if got := pushes["bob@example.org"].Subscription; got != "remove" {
		t.Errorf("bob pushed with subscription %q, want remove", got)
	}
	if got := pushes["dave@example.net"].Groups; !reflect.DeepEqual(got, []string{"example.net"}) {
		t.Errorf("dave pushed with groups %q, want [example.net]", got)
	}
	items, err := s.Roster(ctx)
	want := []host.RosterItem{{JID: "dave@example.net", Subscription: "both", Groups: []string{"example.net"}}}
	if err != nil || !reflect.DeepEqual(items, want) {
		t.Fatalf("roster after refresh = %+v, %v; want %+v", items, err, want)
	}
}
