package link_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// Logins while the web app is slow, over the link, in both modes. What a
// resource shows is what its roster query was answered plus the pushes
// that follow; in delegated mode modhost gives the answer, in server-held
// mode the server does, from what modhost wrote.

// waitView reads pushes on c, applied to first, until they show want. It
// returns the other stanzas it read meanwhile.
func (e *linkEnv) waitView(c *xmpptest.Client, first []xmpptest.RosterItem, want string, d time.Duration) (others []xmpptest.Element) {
	e.t.Helper()
	view := first
	testkit.Eventually(e.t, d, func() (bool, string) {
		for _, el := range c.Collect(200 * time.Millisecond) {
			if isPush(el) {
				view = xmpptest.ApplyPushes(view, xmpptest.RosterItems(el))
			} else {
				others = append(others, el)
			}
		}
		got := canonical(view)
		return got == want, c.JID() + " shows:\n" + got + "\nwant:\n" + want
	})
	return others
}

// storedThenChanged stores alice's roster with a refresh (no client
// online), then changes it at the web app without telling modhost and
// makes every fetch take delay. It returns the roster the web app now
// serves, as lines.
func (e *linkEnv) storedThenChanged(delay time.Duration) string {
	e.t.Helper()
	e.refresh(`["alice"]`)
	e.waitServerRoster("alice", aliceLines)
	e.backend.Set("alice", `{"bob@example.com":{"name":"Robert","groups":{"Work":true}},"dave@example.com":{}}`)
	e.backend.SetDelay(delay)
	return lines(line("bob@example.com", "Robert", "both", "Work"), line("dave@example.com", "", "both"))
}

// Two and five resources of one user logging in together while the web
// app takes 1.5 s, after a change it never notified: every resource ends
// with the web app's roster, the burst costs one fetch, and the server's
// roster follows.
func TestLinkResourcesLoggingInTogetherDuringASlowFetchEndWithTheNewRoster(t *testing.T) {
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprintf("%d resources", n), func(t *testing.T) {
			forBothModes(t, func(t *testing.T, mode component.RosterMode) {
				e := newLinkEnvWith(t, mode, map[string]string{"alice": aliceRoster}, linkSetup{fetchTimeout: 5 * time.Second})
				want := e.storedThenChanged(1500 * time.Millisecond)
				time.Sleep(1200 * time.Millisecond) // past the window in which a login shares a fetch just back
				fetchesBefore := len(e.backend.Hits("/contacts/alice"))
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c := e.dial("alice", fmt.Sprintf("r%d", i))
						first, err := c.Roster(e.ctx)
						if err != nil {
							t.Errorf("roster of %s: %v", c.JID(), err)
							return
						}
						if err := c.SendPresence(e.ctx, "", ""); err != nil {
							t.Error(err)
							return
						}
						e.waitView(c, first, want, 10*time.Second)
					}()
				}
				wg.Wait()
				if got := len(e.backend.Hits("/contacts/alice")) - fetchesBefore; got != 1 {
					t.Errorf("%d logins together fetched %d times, want once", n, got)
				}
				e.waitServerRoster("alice", want)
			})
		})
	}
}

// A web app that takes longer than the login timeout (3 s) holds a login
// no longer than that: the client is answered with the roster known
// before, and the web app's answer follows as pushes when it lands.
func TestLinkHangingWebAppHoldsALoginOnlyForTheLoginTimeout(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnvWith(t, mode, map[string]string{"alice": aliceRoster}, linkSetup{fetchTimeout: 10 * time.Second})
		// The login waits in roster-load (a roster read from storage) or in
		// resource-bind (one rostermanager had cached from an offline load).
		e.logs.expect(`Roster of alice not fetched at login(, keeping the stored one)?: no answer within the login timeout`)
		want := e.storedThenChanged(5 * time.Second)
		time.Sleep(1200 * time.Millisecond)
		c := e.dial("alice", "laptop")
		start := time.Now()
		first, err := c.Roster(e.ctx)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if took > 4500*time.Millisecond {
			t.Errorf("the roster query was answered after %v; the login timeout is 3 s and the web app takes 5 s", took)
		}
		if got := canonical(first); got != aliceLines {
			t.Errorf("answered before the web app with:\n%s\nwant the roster known before:\n%s", got, aliceLines)
		}
		if err := c.SendPresence(e.ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		e.waitView(c, first, want, 10*time.Second)
		e.waitServerRoster("alice", want)
	})
}

// A first login with a large roster from the web app, delegated: modhost
// answers the client's roster query once the server holds the contacts
// its initial presence reaches, so that presence reaches them. bob, online
// with alice in his roster, sees her come online, his set sent first of a
// hundred and two; carol, offline then, whose set may come after the
// answer, sees alice when she logs in later (her probe finds alice's
// subscription).
func TestLinkFirstLoginsInitialPresenceReachesContactsOfALargeRoster(t *testing.T) {
	var b strings.Builder
	want := []string{line("bob@example.com", "Bob", "both"), line("carol@example.com", "Carol", "both")}
	b.WriteString(`{`)
	for k := range 100 {
		fmt.Fprintf(&b, `"a%03d@example.com":{},`, k)
		want = append(want, line(fmt.Sprintf("a%03d@example.com", k), "", "both"))
	}
	b.WriteString(`"bob@example.com":{"name":"Bob"},"carol@example.com":{"name":"Carol"}}`)
	e := newLinkEnv(t, component.Delegated, map[string]string{"alice": b.String(),
		"bob": `{"alice@example.com":{"name":"Alice"}}`, "carol": `{"alice@example.com":{"name":"Alice"}}`})
	bob := e.online("bob", "desk", true)
	e.waitServerRoster("bob", line("alice@example.com", "Alice", "both"))
	bob.Drain()

	e.online("alice", "laptop", true) // roster, then initial presence at once
	seesAlice := func(c *xmpptest.Client) error {
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		_, err := c.Next(ctx, func(el xmpptest.Element) bool {
			return el.Name() == "presence" && el.Attr("type") == "" && strings.HasPrefix(el.Attr("from"), "alice@example.com/")
		})
		return err
	}
	if err := seesAlice(bob); err != nil {
		t.Fatalf("bob never saw alice's initial presence: %v", err)
	}
	e.waitServerRoster("alice", lines(want...))
	carol := e.online("carol", "desk", true)
	if err := seesAlice(carol); err != nil {
		t.Fatalf("carol, logging in after alice, never saw her presence: %v", err)
	}
}
