package component

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/internal/ejabberdtest"
	"github.com/modhost/modhost/internal/xmpptest"
)

// startEjabberd runs ejabberd 23.01 with Snippet's ejabberd output as the
// only component, privilege and API setup: the harness includes it as
// printed, on the harness's ports.
func startEjabberd(t *testing.T, mode RosterMode, users map[string]string) *ejabberdtest.Server {
	t.Helper()
	return ejabberdtest.Start(t, ejabberdtest.Options{
		Host:          testHost,
		Users:         users,
		APIFromConfig: true,
		ConfigFor: func(s *ejabberdtest.Server) string {
			snippet, err := Snippet(SnippetOptions{Server: "ejabberd", Host: testHost, Component: testComponent,
				Secret: testSecret, Mode: mode, Port: s.ComponentPort, APIPort: s.HTTPPort})
			if err != nil {
				t.Fatal(err)
			}
			return snippet
		},
	})
}

func TestEjabberdStartsWithTheSnippet(t *testing.T) {
	for _, mode := range []RosterMode{ServerHeld, Delegated} {
		t.Run(mode.String(), func(t *testing.T) {
			s := startEjabberd(t, mode, map[string]string{"alice": "pw"})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for _, call := range []struct {
				command string
				args    map[string]string
				want    int
			}{
				{"status", map[string]string{}, http.StatusOK},
				{"get_roster", map[string]string{"user": "alice", "server": testHost}, http.StatusOK},
				{"connected_users", map[string]string{}, http.StatusOK},
				// The snippet grants modhost's commands only, not the whole admin API.
				{"register", map[string]string{"user": "mallory", "host": testHost, "password": "x"}, http.StatusForbidden},
			} {
				code, body, err := s.API(ctx, call.command, call.args)
				if err != nil || code != call.want {
					t.Errorf("API %s = %d %s (%v), want %d", call.command, code, body, err, call.want)
				}
			}
			// The component listener takes modhost's secret.
			c, err := Dial(ctx, Config{Addr: s.ComponentAddr(), JID: testComponent, Secret: testSecret})
			if err != nil {
				t.Fatalf("component handshake: %v", err)
			}
			c.Close()
		})
	}
}

// TestEjabberd2301LinkAsMeasured pins what modhost's component link gets
// from ejabberd 23.01 set up by the snippet (see XMPP-LINK.md): these are
// the server's limits the link must live with, not modhost's behaviour. A
// failure here means the server changed; update XMPP-LINK.md with it.
func TestEjabberd2301LinkAsMeasured(t *testing.T) {
	t.Run("server-held", func(t *testing.T) {
		s := startEjabberd(t, ServerHeld, map[string]string{"alice": "pw", "bob": "pw"})
		l, rec, _, _ := startLink(t, s, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p := privilegesOf(t, rec)
		// privilege:1: no iq permission, so no roster pushes from the user's JID.
		if p.NS != NSPrivilege1 || p.Roster != AccessBoth || p.Presence != AccessManagedEntity || p.CanSendIQ(NSRoster, "set") {
			t.Errorf("privileges = %+v", p)
		}
		alice := loginAlice(ctx, t, s, rec)
		defer alice.Close()
		if items, err := alice.Roster(ctx); err != nil || len(items) != 0 {
			t.Errorf("alice's own roster get = %v, %v (mod_roster answers it)", items, err)
		}

		reply, err := l.SendIQ(ctx, RosterGet(testComponent, "alice@"+testHost))
		if err != nil || attr(reply, "type") != "result" || len(ParseRoster(reply)) != 0 {
			t.Errorf("privileged roster get = %v, %v; want an empty result", reply, err)
		}
		// ejabberd issue 3942 (fixed after 23.01): mod_roster's options are
		// looked up on the component's domain, so every privileged set fails.
		_, err = l.SendIQ(ctx, RosterSet(testComponent, "alice@"+testHost, RosterItem{JID: "bob@" + testHost, Subscription: "both"}))
		if err == nil || !strings.Contains(err.Error(), "wait/internal-server-error") {
			t.Errorf("privileged roster set: %v, want 23.01's wait/internal-server-error", err)
		}
		code, body, err := s.API(ctx, "get_roster", map[string]string{"user": "alice", "server": testHost})
		if err != nil || code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
			t.Errorf("after the refused set, get_roster = %d %s (%v), want []", code, body, err)
		}
		// ejabberd's logger writes the file a little later.
		for deadline := time.Now().Add(3 * time.Second); !strings.Contains(s.Log(), "module_not_loaded"); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("ejabberd did not log issue 3942's module_not_loaded")
				break
			}
		}
	})

	t.Run("delegated", func(t *testing.T) {
		s := startEjabberd(t, Delegated, map[string]string{"alice": "pw", "bob": "pw"})
		l, rec, _, _ := startLink(t, s, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var ns []string
		rec.next(t, "the delegation advertisement", func(e *xmpp.Element) bool {
			n, ok := ParseDelegations(e)
			ns = n
			return ok
		})
		if len(ns) != 1 || ns[0] != NSRoster {
			t.Errorf("delegated namespaces = %v", ns)
		}
		alice := loginAlice(ctx, t, s, rec)
		defer alice.Close()

		// A client's roster get reaches the component (urn:xmpp:delegation:1).
		ask, askCancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, _ = alice.IQ(ask, "get", "", "<query xmlns='jabber:iq:roster'/>") // unanswered here: no plugin runs
		askCancel()
		d := nextDelegated(t, rec, "alice's delegated roster get")
		if d.NS != NSDelegation1 || attr(d.IQ, "from") != alice.JID() || !d.ForSelf() {
			t.Errorf("delegated iq = %s", mustMarshal(t, d.Outer))
		}

		// The component's own privileged get is delegated back to it, not
		// answered (against XEP-0355 §4.3.1): no roster read in this mode.
		get, getCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := l.SendIQ(get, RosterGet(testComponent, "alice@"+testHost))
		getCancel()
		if err == nil {
			t.Errorf("privileged roster get was answered; 23.01 delegated it back")
		}
		back := nextDelegated(t, rec, "our own privileged get, delegated back")
		if attr(back.IQ, "from") != testComponent || attr(back.IQ, "type") != "get" {
			t.Errorf("delegated back = %s", mustMarshal(t, back.Outer))
		}
	})
}

func privilegesOf(t *testing.T, rec *recorder) Privileges {
	t.Helper()
	var p Privileges
	rec.next(t, "the privilege advertisement", func(e *xmpp.Element) bool {
		q, ok := ParsePrivileges(e)
		p = q
		return ok
	})
	return p
}

// loginAlice logs alice in with an available presence and waits until the
// server forwards it to the component (presence: managed_entity).
func loginAlice(ctx context.Context, t *testing.T, s *ejabberdtest.Server, rec *recorder) *xmpptest.Client {
	t.Helper()
	alice, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: testHost, Username: "alice", Password: "pw", Resource: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SendPresence(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	rec.next(t, "alice's presence", func(e *xmpp.Element) bool { return e.Name == "presence" && attr(e, "from") == alice.JID() })
	return alice
}

func nextDelegated(t *testing.T, rec *recorder, what string) *DelegatedIQ {
	t.Helper()
	var d *DelegatedIQ
	rec.next(t, what, func(e *xmpp.Element) bool {
		var ok bool
		d, ok = UnwrapDelegated(e)
		return ok
	})
	return d
}
