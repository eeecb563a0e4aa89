package host

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSessionsRosterQueryAndPushes(t *testing.T) {
	rt, _ := newTestRuntime(t, `
storage = "memory"
VirtualHost "example.com"
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	laptop, err := rt.Login(ctx, "example.com", "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	phone, err := rt.Login(ctx, "example.com", "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	items, err := laptop.Roster(ctx)
	if err != nil || len(items) != 0 {
		t.Fatalf("roster = %v, %v", items, err)
	}
	if _, err := phone.Roster(ctx); err != nil {
		t.Fatal(err)
	}
	mark := len(phone.Received())
	if err := laptop.Send(ctx, `<iq type="set" id="s1"><query xmlns="jabber:iq:roster"><item jid="bob@example.com" name="Bob"><group>Friends</group></item></query></iq>`); err != nil {
		t.Fatal(err)
	}
	push, _, err := phone.Next(ctx, mark, func(x string) bool { return strings.Contains(x, "bob@example.com") })
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := RosterItems(push)
	if err != nil || len(pushed) != 1 || pushed[0].Name != "Bob" || pushed[0].Groups[0] != "Friends" {
		t.Fatalf("push %s → %v %v", push, pushed, err)
	}
	// A long-lived session forgets what it has read; indices go on.
	count := phone.Count()
	phone.Forget()
	if got := phone.Received(); len(got) != 0 || phone.Count() != count {
		t.Fatalf("after Forget: %d stanzas kept, count %d (was %d)", len(got), phone.Count(), count)
	}
	items, err = phone.Roster(ctx)
	if err != nil || len(items) != 1 || items[0].JID != "bob@example.com" || items[0].Subscription != "none" {
		t.Fatalf("roster after set = %+v, %v", items, err)
	}
	// An IQ nobody handles is answered with service-unavailable, as Prosody does.
	start := len(laptop.Received())
	if err := laptop.Send(ctx, `<iq type="get" id="u1"><query xmlns="urn:example:unknown"/></iq>`); err != nil {
		t.Fatal(err)
	}
	reply, _, err := laptop.Next(ctx, start, func(x string) bool { return strings.Contains(x, "u1") })
	if err != nil || !strings.Contains(reply, "service-unavailable") {
		t.Fatalf("unhandled iq reply = %q, %v", reply, err)
	}
	if err := laptop.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := laptop.Send(ctx, `<presence/>`); err != nil {
		t.Fatalf("a stanza after logout must be ignored, not fail: %v", err)
	}
	// A second login of the same full JID while bound is refused.
	if _, err := rt.Login(ctx, "example.com", "alice", "phone"); err == nil {
		t.Fatal("binding a bound resource again succeeded")
	}
}

func TestLoginNormalisesTheUsernameAsProsodyDoes(t *testing.T) {
	rt, _ := newTestRuntime(t, `
storage = "memory"
VirtualHost "example.com"
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := rt.Login(ctx, "example.com", "Alice", "Laptop")
	if err != nil {
		t.Fatal(err)
	}
	if s.FullJID() != "alice@example.com/Laptop" {
		t.Errorf("login as Alice/Laptop is %s, want alice@example.com/Laptop", s.FullJID())
	}
	if _, err := rt.Login(ctx, "example.com", "ALICE", "Laptop"); err == nil {
		t.Error("ALICE/Laptop bound again beside alice/Laptop")
	}
	for _, user := range []string{"a b", "a'b", "a:b"} {
		if _, err := rt.Login(ctx, "example.com", user, "r"); err == nil {
			t.Errorf("login as %q succeeded; nodeprep forbids it", user)
		}
	}
}
