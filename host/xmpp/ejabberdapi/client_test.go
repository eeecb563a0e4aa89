package ejabberdapi

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/internal/ejabberdtest"
	"github.com/modhost/modhost/internal/xmpptest"
)

const host = "example.com"

// startEjabberd runs ejabberd 23.01 configured by the ejabberd snippet only
// (APIFromConfig): the commands the client calls must be the ones the
// snippet's api_permissions grant.
func startEjabberd(t *testing.T, users ...string) (*ejabberdtest.Server, *Client) {
	t.Helper()
	accounts := map[string]string{}
	for _, u := range users {
		accounts[u] = "pw"
	}
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Host: host, Users: accounts, APIFromConfig: true,
		ConfigFor: func(s *ejabberdtest.Server) string {
			snippet, err := component.Snippet(component.SnippetOptions{Server: "ejabberd", Host: host,
				Component: "roster." + host, Secret: "s", Port: s.ComponentPort, APIPort: s.HTTPPort})
			if err != nil {
				t.Fatal(err)
			}
			return snippet
		},
	})
	c, err := New(Config{URL: strings.TrimSuffix(s.APIURL(""), "/")})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func login(ctx context.Context, t *testing.T, s *ejabberdtest.Server, user, resource string) *xmpptest.Client {
	t.Helper()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: host, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func isPush(contact string) func(xmpptest.Element) bool {
	return func(e xmpptest.Element) bool {
		items := xmpptest.RosterItems(e)
		return e.Is("iq", "set") && len(items) == 1 && items[0].JID == contact
	}
}

// One ejabberd for the whole file; each subtest has users of its own.
func TestClientAgainstEjabberd2301(t *testing.T) {
	s, c := startEjabberd(t, "a1", "b1", "a2", "a3", "b3", "a4")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("AddRosterItemStoresGroupsAndPushesEveryResource", func(t *testing.T) {
		laptop, phone := login(ctx, t, s, "a1", "laptop"), login(ctx, t, s, "a1", "phone")
		for _, cl := range []*xmpptest.Client{laptop, phone} {
			if _, err := cl.Roster(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := Item{JID: "b1@" + host, Name: "Bee", Subscription: "both", Groups: []string{"Work", "a;b", "Friends"}}
		if err := c.AddRosterItem(ctx, "a1", host, want); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []*xmpptest.Client{laptop, phone} {
			push, err := cl.Next(ctx, isPush(want.JID))
			if err != nil {
				t.Fatalf("%s got no push: %v", cl.JID(), err)
			}
			it := xmpptest.RosterItems(push)[0]
			if it.Subscription != "both" || len(it.Groups) != 3 {
				t.Errorf("%s push = %+v", cl.JID(), it)
			}
		}
		got, err := c.GetRoster(ctx, "a1", host)
		// A contact in three groups comes back once; the ';' inside a group
		// name was written as ',' (ejabberd would split it).
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], Item{JID: want.JID, Name: "Bee", Subscription: "both",
			Groups: []string{"Friends", "Work", "a,b"}}) {
			t.Fatalf("get_roster = %+v, %v", got, err)
		}
		// Again: a rename and regroup replaces the item.
		if err := c.AddRosterItem(ctx, "a1", host, Item{JID: want.JID, Name: "B", Subscription: "both"}); err != nil {
			t.Fatal(err)
		}
		got, err = c.GetRoster(ctx, "a1", host)
		if err != nil || len(got) != 1 || got[0].Name != "B" || len(got[0].Groups) != 0 {
			t.Errorf("after rename, get_roster = %+v, %v", got, err)
		}
		// The contact's roster is not touched.
		if other, err := c.GetRoster(ctx, "b1", host); err != nil || len(other) != 0 {
			t.Errorf("contact's roster = %+v, %v; want it untouched", other, err)
		}
	})

	t.Run("AddRosterItemRefusesAnUnknownSubscription", func(t *testing.T) {
		err := c.AddRosterItem(ctx, "a2", host, Item{JID: "x@" + host, Subscription: "bogus"})
		if err == nil || !strings.Contains(err.Error(), "bogus") {
			t.Errorf("bogus subscription: %v", err)
		}
		if got, _ := c.GetRoster(ctx, "a2", host); len(got) != 0 {
			t.Errorf("stored anyway: %+v", got)
		}
	})

	t.Run("DeleteRosterItemDowngradesTheContactsItem", func(t *testing.T) {
		for _, pair := range [][2]string{{"a3", "b3"}, {"b3", "a3"}} {
			if err := c.AddRosterItem(ctx, pair[0], host, Item{JID: pair[1] + "@" + host, Subscription: "both"}); err != nil {
				t.Fatal(err)
			}
		}
		b3 := login(ctx, t, s, "b3", "desk")
		if _, err := b3.Roster(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteRosterItem(ctx, "a3", host, "b3@"+host); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.GetRoster(ctx, "a3", host); len(got) != 0 {
			t.Errorf("owner's roster after delete = %+v", got)
		}
		// The trap the link must repair: the contact's item is kept as none,
		// and its client is told so.
		got, err := c.GetRoster(ctx, "b3", host)
		if err != nil || len(got) != 1 || got[0].Subscription != "none" {
			t.Errorf("contact's roster after delete = %+v, %v; 23.01 downgrades it to none", got, err)
		}
		push, err := b3.Next(ctx, func(e xmpptest.Element) bool {
			items := xmpptest.RosterItems(e)
			return e.Is("iq", "set") && len(items) == 1 && items[0].Subscription == "none"
		})
		if err != nil {
			t.Errorf("contact's client saw no downgrade push: %v", err)
		} else {
			t.Logf("contact's client got: %s", push)
		}
	})

	t.Run("ProbeGivesTheUserTheContactsPresenceAtOnce", func(t *testing.T) {
		// b1 already lists a4 and is online; a4 logs in, then is given b1.
		// add_rosteritem makes a4's session re-send its presence to b1, but
		// a4 hears nothing of b1 until it probes.
		if err := c.AddRosterItem(ctx, "b1", host, Item{JID: "a4@" + host, Subscription: "both"}); err != nil {
			t.Fatal(err)
		}
		// b1 is available before a4 logs in: b1's initial presence, which
		// goes to a4 as b1's contact, must find a4 offline. With both logged
		// in first, a4 now and then became available before b1's broadcast
		// reached its session, and got it.
		b1 := login(ctx, t, s, "b1", "probe")
		available := func(cl *xmpptest.Client) {
			t.Helper()
			if _, err := cl.Roster(ctx); err != nil {
				t.Fatal(err)
			}
			if err := cl.SendPresence(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		available(b1)
		b1.Collect(200 * time.Millisecond) // b1's presence has been broadcast
		a4 := login(ctx, t, s, "a4", "laptop")
		available(a4)
		if err := c.AddRosterItem(ctx, "a4", host, Item{JID: "b1@" + host, Subscription: "both"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b1.Next(ctx, func(e xmpptest.Element) bool {
			return e.Name() == "presence" && strings.HasPrefix(e.Attr("from"), "a4@"+host+"/")
		}); err != nil {
			t.Errorf("b1 did not get a4's presence re-sent at add_rosteritem: %v", err)
		}
		fromB1 := func(e xmpptest.Element) bool {
			return e.Name() == "presence" && e.Attr("type") == "" && strings.HasPrefix(e.Attr("from"), "b1@"+host+"/")
		}
		for _, e := range a4.Collect(300 * time.Millisecond) {
			if fromB1(e) {
				t.Fatalf("a4 got b1's presence without a probe (23.01 did not send one before): %s", e)
			}
		}
		if err := c.Probe(ctx, "a4@"+host, "b1@"+host); err != nil {
			t.Fatal(err)
		}
		if _, err := a4.Next(ctx, fromB1); err != nil {
			t.Errorf("a4 did not get b1's presence after the probe: %v", err)
		}
	})

	t.Run("ConnectedUsersDropsAClosedStreamAtOnce", func(t *testing.T) {
		cl := login(ctx, t, s, "a2", "gone")
		jids, err := c.ConnectedUsers(ctx, host)
		if err != nil || !contains(jids, cl.JID()) {
			t.Fatalf("connected_users_vhost = %v, %v; want %s", jids, err, cl.JID())
		}
		if res, err := c.UserResources(ctx, "a2", host); err != nil || !contains(res, "gone") {
			t.Errorf("user_resources = %v, %v", res, err)
		}
		cl.Close() // no unavailable presence sent
		deadline := time.Now().Add(2 * time.Second)
		for {
			jids, err = c.ConnectedUsers(ctx, host)
			if err == nil && !contains(jids, cl.JID()) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still listed 2 s after close: %v, %v", jids, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("ErrorsSayTheCommandStatusAndWhatToConfigure", func(t *testing.T) {
		// The snippet grants modhost's commands only.
		err := c.Call(ctx, "register", map[string]string{"user": "m", "host": host, "password": "x"}, nil)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != 32 ||
			!strings.Contains(err.Error(), "api_permissions") || !strings.Contains(err.Error(), "register") {
			t.Errorf("forbidden command: %v", err)
		}
		err = c.AddRosterItem(ctx, "a2", "no.such.host", Item{JID: "x@" + host, Subscription: "both"})
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusInternalServerError || !strings.Contains(err.Error(), "add_rosteritem") {
			t.Errorf("unknown host: %v", err)
		}
		short, cancelShort := context.WithTimeout(ctx, time.Nanosecond)
		defer cancelShort()
		if err := c.Status(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("expired context: %v", err)
		}
	})
}

func TestNewRefusesAnOffLoopbackURLWithoutCredentials(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{URL: "http://localhost:5281/api"}, true},
		{Config{URL: "http://[::1]:5281/api"}, true},
		{Config{URL: "http://10.0.0.5:5281/api"}, false},
		{Config{URL: "https://xmpp.example.com/api", Token: "t"}, true},
		{Config{URL: "https://xmpp.example.com/api", User: "admin@example.com", Password: "p"}, true},
		{Config{User: "admin@example.com"}, false},
		{Config{URL: "ftp://127.0.0.1/api"}, false},
	} {
		_, err := New(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("New(%+v) = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
}

func TestErrorOfReadsBothOfModHTTPAPIsErrorShapes(t *testing.T) {
	e := errorOf("get_roster", 403, []byte(`{"status":"error","code":32,"message":"AccessRules: Account does not have the right to perform the operation."}`))
	if e.Code != 32 || !strings.Contains(e.Message, "AccessRules") || !strings.Contains(e.Error(), "api_permissions") {
		t.Errorf("object error = %+v (%v)", e, e)
	}
	e = errorOf("add_rosteritem", 400, []byte(`"Request have missing argument: localhost"`))
	if e.Message != "Request have missing argument: localhost" || e.Code != 0 {
		t.Errorf("string error = %+v", e)
	}
	e = errorOf("status", 502, []byte("<html>bad gateway</html>"))
	if !strings.Contains(e.Error(), "HTTP 502") || !strings.Contains(e.Error(), "bad gateway") {
		t.Errorf("other body = %v", e)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
