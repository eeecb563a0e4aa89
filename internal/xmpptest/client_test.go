package xmpptest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/xmpptest"
)

func TestClientLogsInReadsRosterAndSeesPushesFromRealProsody(t *testing.T) {
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "pw", "bob": "pw"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "pw"}
	a1, err := xmpptest.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a1.Close()
	if a1.JID() != "alice@example.com/test" {
		t.Errorf("bound %q", a1.JID())
	}
	cfg.Resource = "phone"
	a2, err := xmpptest.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	for _, c := range []*xmpptest.Client{a1, a2} {
		items, err := c.Roster(ctx)
		if err != nil || len(items) != 0 {
			t.Fatalf("empty roster: %v, %v", items, err)
		}
	}
	res, err := a1.IQ(ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='Bob'><group>Friends</group><group>Work</group></item></query>`)
	if err != nil || res.Attr("type") != "result" {
		t.Fatalf("roster set: %v %v", res, err)
	}
	push, err := a2.Next(ctx, func(e xmpptest.Element) bool { return e.Is("iq", "set") })
	if err != nil {
		t.Fatal(err)
	}
	got := xmpptest.RosterItems(push)
	if len(got) != 1 || got[0].JID != "bob@example.com" || got[0].Name != "Bob" || len(got[0].Groups) != 2 || got[0].Subscription != "none" {
		t.Errorf("push items %+v", got)
	}
	items, err := a2.Roster(ctx)
	if err != nil || len(items) != 1 || !sameSet(items[0].Groups, []string{"Friends", "Work"}) {
		t.Errorf("roster after set: %+v %v", items, err)
	}
	if err := a1.SendPresence(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Next(ctx, func(e xmpptest.Element) bool { return e.Is("presence", "") && e.Attr("from") == a1.JID() }); err != nil {
		t.Errorf("own presence not reflected: %v", err)
	}
}

func TestDialFailsOnWrongPassword(t *testing.T) {
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "pw"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "nope"}); err == nil {
		c.Close()
		t.Fatal("login with a wrong password succeeded")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
