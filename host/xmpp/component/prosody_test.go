package component

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/xmpptest"
)

const (
	testHost      = "example.com"
	testComponent = "roster.example.com"
	testSecret    = "s3cret"
)

// recorder is a Handler that hands every event to the test through channels.
type recorder struct {
	connected    chan *Conn
	stanzas      chan *xmpp.Element
	disconnected chan error
}

func newRecorder() *recorder {
	return &recorder{
		connected:    make(chan *Conn, 8),
		stanzas:      make(chan *xmpp.Element, 256),
		disconnected: make(chan error, 8),
	}
}

func (r *recorder) Connected(c *Conn)      { r.connected <- c }
func (r *recorder) Stanza(e *xmpp.Element) { r.stanzas <- e }
func (r *recorder) Disconnected(err error) { r.disconnected <- err }

// next waits for a stanza matching match, dropping others.
func (r *recorder) next(t *testing.T, what string, match func(*xmpp.Element) bool) *xmpp.Element {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.stanzas:
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s within 5s", what)
			return nil
		}
	}
}

// startProsody runs Prosody with the component set up by Snippet's own
// output (the part from VirtualHost on: the harness owns the global section).
func startProsody(t *testing.T, mode RosterMode, users map[string]string) *prosodytest.Server {
	t.Helper()
	snippet, err := Snippet(SnippetOptions{Host: testHost, Component: testComponent, Secret: testSecret, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(snippet, "VirtualHost")
	return prosodytest.Start(t, prosodytest.Options{
		Host:   testHost,
		Users:  users,
		Config: snippet[i:],
	})
}

// startLink runs a Client on s until the test ends or stop is called, and
// waits for its first connection.
func startLink(t *testing.T, s interface{ ComponentAddr() string }, cfg Config) (l *Client, rec *recorder, states chan State, stop func()) {
	t.Helper()
	cfg.Addr, cfg.JID, cfg.Secret = s.ComponentAddr(), testComponent, testSecret
	rec = newRecorder()
	l = NewClient(cfg, rec, nil)
	states = make(chan State, 32)
	l.OnState(func(st State) { states <- st })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-rec.connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("link not connected within 10s")
	}
	return l, rec, states, stop
}

func isPrivilege(e *xmpp.Element) bool { _, ok := ParsePrivileges(e); return ok }

func TestProsodyDelegatedMode(t *testing.T) {
	s := startProsody(t, Delegated, map[string]string{"alice": "pw", "bob": "pw"})
	// Frequent keepalives: the server must take whitespace between stanzas.
	l, rec, _, stop := startLink(t, s, Config{Keepalive: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("privileges are advertised after the handshake", func(t *testing.T) {
		// The two advertisements come in no fixed order.
		var p Privileges
		var ns []string
		rec.next(t, "both advertisements", func(e *xmpp.Element) bool {
			if q, ok := ParsePrivileges(e); ok {
				p = q
			}
			if n, ok := ParseDelegations(e); ok {
				ns = n
			}
			return p.NS != "" && ns != nil
		})
		if p.NS != NSPrivilege2 || p.Server != testHost || p.Roster != AccessBoth || p.Presence != AccessManagedEntity {
			t.Errorf("privileges = %+v", p)
		}
		if !p.CanSendIQ(NSRoster, "set") || !p.CanGetRoster() || !p.CanSetRoster() || !p.SeesPresence() {
			t.Errorf("privileges = %+v, want roster iq set allowed", p)
		}
		if len(ns) != 1 || ns[0] != NSRoster {
			t.Errorf("delegated namespaces = %v", ns)
		}
	})

	t.Run("a second connection under the same name gets conflict", func(t *testing.T) {
		_, err := Dial(ctx, Config{Addr: s.ComponentAddr(), JID: testComponent, Secret: testSecret})
		if !errors.Is(err, ErrConflict) || IsPermanent(err) {
			t.Fatalf("second Dial: %v, want a non-permanent conflict", err)
		}
		if l.State() != Online {
			t.Errorf("first link state %v after the refused second one", l.State())
		}
	})

	t.Run("a wrong secret is a permanent not-authorized", func(t *testing.T) {
		_, err := Dial(ctx, Config{Addr: s.ComponentAddr(), JID: testComponent, Secret: "wrong"})
		if !errors.Is(err, ErrNotAuthorized) || !IsPermanent(err) {
			t.Fatalf("Dial with a wrong secret: %v", err)
		}
	})

	t.Run("an unknown component name is a permanent host-unknown", func(t *testing.T) {
		_, err := Dial(ctx, Config{Addr: s.ComponentAddr(), JID: "nope.example.com", Secret: testSecret})
		if !errors.Is(err, ErrHostUnknown) || !IsPermanent(err) {
			t.Fatalf("Dial as an unknown component: %v", err)
		}
	})

	var alice *xmpptest.Client
	t.Run("a user's presence arrives, and unavailable at logout", func(t *testing.T) {
		var err error
		alice, err = xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: testHost, Username: "alice", Password: "pw", Resource: "laptop"})
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.SendPresence(ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		p := rec.next(t, "alice's presence", func(e *xmpp.Element) bool { return e.Name == "presence" && attr(e, "from") == alice.JID() })
		if attr(p, "type") != "" || attr(p, "to") != testComponent {
			t.Errorf("presence = %s", mustMarshal(t, p))
		}
		bob, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: testHost, Username: "bob", Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		_ = bob.SendPresence(ctx, "", "")
		rec.next(t, "bob's presence", func(e *xmpp.Element) bool { return e.Name == "presence" && attr(e, "from") == bob.JID() })
		bob.Close()
		rec.next(t, "bob's unavailable", func(e *xmpp.Element) bool {
			return e.Name == "presence" && attr(e, "from") == bob.JID() && attr(e, "type") == "unavailable"
		})
	})
	if alice == nil {
		t.FailNow()
	}
	defer alice.Close()

	t.Run("our answer to the delegation disco query shows in the server's disco", func(t *testing.T) {
		// mod_roster is off in delegated mode, so only our answer can add it.
		res, err := alice.IQ(ctx, "get", testHost, `<query xmlns='http://jabber.org/protocol/disco#info'/>`)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := res.Child("query", nsDiscoInfo)
		found := false
		for _, f := range q.Children {
			found = found || (f.Name() == "feature" && f.Attr("var") == NSRoster)
		}
		if !found {
			t.Errorf("server disco lacks %s: %s", NSRoster, res)
		}
	})

	t.Run("privileged roster set and get of a user", func(t *testing.T) {
		item := RosterItem{JID: "bob@example.com", Name: "Bob", Subscription: "both", Groups: []string{"Friends"}}
		if _, err := l.SendIQ(ctx, RosterSet(testComponent, "alice@example.com", item)); err != nil {
			t.Fatalf("roster set: %v", err)
		}
		res, err := l.SendIQ(ctx, RosterGet(testComponent, "alice@example.com"))
		if err != nil {
			t.Fatalf("roster get: %v", err)
		}
		items := ParseRoster(res)
		if len(items) != 1 || items[0].JID != item.JID || items[0].Name != "Bob" || items[0].Subscription != "both" ||
			len(items[0].Groups) != 1 || items[0].Groups[0] != "Friends" {
			t.Errorf("roster = %+v", items)
		}
		_, err = l.SendIQ(ctx, RosterSet(testComponent, "alice@example.com", RosterItem{JID: "nobody@example.com", Subscription: "remove"}))
		var se *StanzaError
		if !errors.As(err, &se) || se.Condition != "item-not-found" {
			t.Errorf("removing a missing item: %v, want item-not-found", err)
		}
	})

	t.Run("a privileged roster push reaches the client from its bare JID", func(t *testing.T) {
		alice.Drain()
		push, err := RosterPush(testComponent, alice.JID(), "push1", RosterItem{JID: "carol@example.com", Subscription: "none"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.SendIQ(ctx, push)
		if err != nil {
			t.Fatalf("privileged push: %v", err)
		}
		got, err := alice.Next(ctx, func(e xmpptest.Element) bool { return e.Is("iq", "set") })
		if err != nil {
			t.Fatal(err)
		}
		if got.Attr("from") != "alice@example.com" || got.Attr("id") != "push1" {
			t.Errorf("push at client = %s", got)
		}
		if items := xmpptest.RosterItems(got); len(items) != 1 || items[0].JID != "carol@example.com" {
			t.Errorf("pushed items = %+v", items)
		}
		ack := UnwrapPrivilegedResult(res)
		if ack == nil || attr(ack, "type") != "result" || attr(ack, "id") != "push1" {
			t.Errorf("privileged result = %s", mustMarshal(t, res))
		}
	})

	t.Run("a client's roster get is delegated and the wrapped answer reaches it", func(t *testing.T) {
		type answer struct {
			res xmpptest.Element
			err error
		}
		got := make(chan answer, 1)
		go func() {
			res, err := alice.IQ(ctx, "get", "", `<query xmlns='jabber:iq:roster'/>`)
			got <- answer{res, err}
		}()
		e := rec.next(t, "delegated roster get", func(e *xmpp.Element) bool { _, ok := UnwrapDelegated(e); return ok })
		d, _ := UnwrapDelegated(e)
		if attr(d.IQ, "type") != "get" || attr(d.IQ, "from") != alice.JID() || child(d.IQ, "query", NSRoster) == nil || !d.ForSelf() {
			t.Errorf("delegated iq = %s", mustMarshal(t, d.IQ))
		}
		reply, err := d.Reply(add(Result(d.IQ), add(elem("query", NSRoster),
			RosterItem{JID: "dave@example.com", Name: "Dave", Subscription: "both"}.element())))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Send(reply); err != nil {
			t.Fatal(err)
		}
		a := <-got
		if a.err != nil {
			t.Fatal(a.err)
		}
		items := xmpptest.RosterItems(a.res)
		if a.res.Attr("type") != "result" || len(items) != 1 || items[0].JID != "dave@example.com" || items[0].Name != "Dave" {
			t.Errorf("client got %s", a.res)
		}
	})

	t.Run("after a reconnect the presences of users online are replayed", func(t *testing.T) {
		stop()
		if l.State() != Down {
			t.Fatalf("state after stop = %v", l.State())
		}
		_, rec2, _, _ := startLink(t, s, Config{})
		p := rec2.next(t, "alice's replayed presence", func(e *xmpp.Element) bool {
			return e.Name == "presence" && attr(e, "from") == alice.JID()
		})
		if child(p, "delay", "urn:xmpp:delay") == nil {
			t.Errorf("replayed presence has no delay: %s", mustMarshal(t, p))
		}
	})
}

func TestProsodyRestartReconnects(t *testing.T) {
	s := startProsody(t, ServerHeld, nil)
	l, rec, states, _ := startLink(t, s, Config{Backoff: Backoff{Min: 100 * time.Millisecond, Max: 500 * time.Millisecond}})
	p, _ := ParsePrivileges(rec.next(t, "privilege advertisement", isPrivilege))
	if p.Roster != AccessBoth || len(p.IQ) != 0 {
		t.Errorf("server-held privileges = %+v, want roster both and no iq permission", p)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rec.disconnected:
		if !errors.Is(err, ErrClosed) || IsPermanent(err) {
			t.Errorf("disconnect error = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no Disconnected after the restart")
	}
	select {
	case <-rec.connected:
	case <-time.After(15 * time.Second):
		t.Fatal("link did not reconnect")
	}
	rec.next(t, "privilege advertisement after reconnect", isPrivilege)
	if l.State() != Online {
		t.Errorf("state = %v", l.State())
	}
	var seen []State
	for len(states) > 0 {
		seen = append(seen, <-states)
	}
	want := []State{Connecting, Online, Down, Connecting}
	if len(seen) < len(want) {
		t.Fatalf("state changes %v, want at least %v then online", seen, want)
	}
	for i, st := range want {
		if seen[i] != st {
			t.Errorf("state changes %v, want %v first", seen, want)
			break
		}
	}
	if seen[len(seen)-1] != Online {
		t.Errorf("last state %v, want online", seen[len(seen)-1])
	}
}

func mustMarshal(t *testing.T, e *xmpp.Element) string {
	t.Helper()
	b, err := Marshal(e)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}
