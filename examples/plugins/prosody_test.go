package plugins_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// The README says both examples are ordinary Prosody 0.12 plugins: here they
// run inside a real Prosody next to the bundled mod_http_roster_admin, and a
// real client logs in.
func TestExamplePluginsWorkInsideProsody(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	url := b.URL()
	b.Set("alice", aliceRoster)
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	s := prosodytest.Start(t, prosodytest.Options{
		PluginPaths: []string{dir},
		Users:       map[string]string{"alice": "pw"},
		HostConfig: fmt.Sprintf(`
	modules_enabled = { "http_roster_admin"; "roster_group_by_domain"; "roster_drop_blocked" }
	storage = { roster = "memory" }
	http_roster_url = %q
	roster_group_by_domain_only_empty = false
`, url),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "pw", Resource: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	items, err := c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		slices.Sort(items[i].Groups)
	}
	slices.SortFunc(items, func(a, b xmpptest.RosterItem) int { return strings.Compare(a.JID, b.JID) })
	want := []xmpptest.RosterItem{
		{JID: "bob@example.org", Subscription: "both", Groups: []string{"example.org"}},
		{JID: "carol@example.com", Name: "Carol", Subscription: "both", Groups: []string{"Work", "example.com"}},
	}
	if !slices.EqualFunc(items, want, func(x, y xmpptest.RosterItem) bool {
		return x.JID == y.JID && x.Name == y.Name && x.Subscription == y.Subscription && slices.Equal(x.Groups, y.Groups)
	}) {
		t.Fatalf("roster in Prosody = %+v\nwant %+v", items, want)
	}
	if line := "info\tDropped blocked contact eve@example.net from the roster of alice"; !strings.Contains(s.Log(), line) {
		t.Errorf("no %q in Prosody's log", line)
	}
}
