package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	laptop, phone := loginAlice(ctx, t, rt, "laptop"), loginAlice(ctx, t, rt, "phone")
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

// Roster versioning as Prosody 0.12's mod_roster answers it: every full
// result carries ver (tonumber of roster[false].version, 1 for a roster
// never saved); a get whose ver is that number is answered with an empty
// result; any other ver, or none, gets the whole roster; pushes carry the
// version they made. Both answers are checked: Go's from the roster it
// holds (before the roster set) and the Lua one (after it, the roster
// being a Lua table once the set has read it).
func TestRosterVersioningAsProsodysModRoster(t *testing.T) {
	rt, _ := newTestRuntime(t, `
storage = "memory"
VirtualHost "example.com"
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := rt.Login(ctx, "example.com", "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	get := func(ver string) string {
		t.Helper()
		n++
		id := fmt.Sprintf("ver-%d", n)
		verAttr := ""
		if ver != "" {
			verAttr = ` ver="` + ver + `"`
		}
		mark := s.Count()
		if err := s.Send(ctx, `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"`+verAttr+`/></iq>`); err != nil {
			t.Fatal(err)
		}
		reply, _, err := s.Next(ctx, mark, func(x string) bool { return strings.Contains(x, id) })
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reply, "result") {
			t.Fatalf("get with ver %q answered %s", ver, reply)
		}
		return reply
	}
	verOf := func(x string) string {
		m := regexp.MustCompile(`<query[^>]* ver=["']([^"']*)["']`).FindStringSubmatch(x)
		if m == nil {
			return ""
		}
		return m[1]
	}
	empty := func(x string) bool { return !strings.Contains(x, "<query") }

	for _, path := range []string{"held by Go", "a Lua table"} {
		full := get("")
		v := verOf(full)
		if v == "" || empty(full) {
			t.Fatalf("%s: a get without ver answered %s, want the roster with its ver", path, full)
		}
		if got := get(v); !empty(got) {
			t.Errorf("%s: a get with the current ver %s answered %s, want an empty result", path, v, got)
		}
		for _, stale := range []string{"0", "x", "9999"} {
			if got := get(stale); empty(got) || verOf(got) != v {
				t.Errorf("%s: a get with ver %q answered %s, want the roster with ver %s", path, stale, got, v)
			}
		}
		if path == "a Lua table" {
			break
		}
		// Roster sets: each push carries the version its save made,
		// (version or 0) + 1 as Prosody's save_roster counts. A roster
		// never saved reads as 1 and its first save makes it 1 too (so
		// the first push repeats it, as in Prosody); the second makes 2,
		// and a get with the old version then gets the roster at it.
		var pushed string
		for i, want := range []string{"1", "2"} {
			mark := s.Count()
			jid := fmt.Sprintf("bob%d@example.com", i)
			if err := s.Send(ctx, `<iq type="set" id="set-`+want+`"><query xmlns="jabber:iq:roster"><item jid="`+jid+`" name="Bob"/></query></iq>`); err != nil {
				t.Fatal(err)
			}
			push, _, err := s.Next(ctx, mark, func(x string) bool { return strings.Contains(x, jid) && strings.Contains(x, "type='set'") })
			if err != nil {
				t.Fatal(err)
			}
			if pushed = verOf(push); pushed != want {
				t.Fatalf("push of set %d: %s, want ver %s", i+1, push, want)
			}
		}
		if got := get(v); empty(got) || verOf(got) != pushed || !strings.Contains(got, "bob1@example.com") {
			t.Fatalf("a get with the version before the sets answered %s, want the roster at ver %s", got, pushed)
		}
	}
}

// A session's stanzas are handled one at a time, in order, even when a
// handler waits; an error in one is logged and the next goes on; and an idle
// session holds no runner (one per online user cost ~2 KiB in gopher-lua).
func TestSessionWorkWaitsInOrderAndIdleSessionsHoldNoRunner(t *testing.T) {
	dir := t.TempDir()
	plugin := `
local async = require "util.async";
local st = require "util.stanza";
local release;
local function answer(event, text)
	event.origin.send(st.reply(event.stanza):tag("query", { xmlns = "urn:test" }):text(text));
	return true;
end
module:hook("iq-get/self/urn:test:wait:query", function (event)
	local wait, done = async.waiter();
	release = done;
	wait();
	return answer(event, "waited");
end);
module:hook("iq-get/self/urn:test:echo:query", function (event) return answer(event, "echo"); end);
module:hook("iq-get/self/urn:test:fail:query", function () error("handler failed on purpose"); end);
module:hook("iq-get/self/urn:test:release:query", function (event)
	local r = release; release = nil;
	if r then r(); end
	return answer(event, "released");
end);
module:hook("iq-get/self/urn:test:runners:query", function (event)
	local laptop = prosody.full_sessions["alice@example.com/laptop"];
	return answer(event, laptop and tostring(rawget(laptop, "runner")) or "gone");
end);
`
	if err := os.WriteFile(filepath.Join(dir, "mod_session_work.lua"), []byte(plugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, _ := newTestRuntime(t, `
storage = "memory"
plugin_paths = { "`+dir+`" }
VirtualHost "example.com"
	modules_enabled = { "session_work" }
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	laptop, phone := loginAlice(ctx, t, rt, "laptop"), loginAlice(ctx, t, rt, "phone")
	ask := func(s *Session, id, ns string) {
		t.Helper()
		if err := s.Send(ctx, `<iq type="get" id="`+id+`"><query xmlns="urn:test:`+ns+`"/></iq>`); err != nil {
			t.Fatal(err)
		}
	}
	answerOf := func(s *Session, id string) string {
		t.Helper()
		reply, _, err := s.Next(ctx, 0, func(x string) bool { return strings.Contains(x, `id="`+id+`"`) || strings.Contains(x, `id='`+id+`'`) })
		if err != nil {
			t.Fatalf("no answer to %s: %v (received %q)", id, err, s.Received())
		}
		return reply
	}
	ask(laptop, "w1", "wait")
	ask(laptop, "f1", "fail")
	ask(laptop, "e1", "echo")
	ask(phone, "r1", "runners")
	if reply := answerOf(phone, "r1"); strings.Contains(reply, ">nil<") {
		t.Fatalf("a session waiting in a handler holds no runner: %s", reply)
	}
	for _, s := range laptop.Received() {
		if strings.Contains(s, "e1") {
			t.Fatalf("the stanza after a waiting one was handled before it: %s", s)
		}
	}
	ask(phone, "x1", "release")
	answerOf(phone, "x1")
	e1 := answerOf(laptop, "e1")
	got := laptop.Received()
	order := []string{}
	for _, s := range got {
		for _, id := range []string{"w1", "e1"} {
			if strings.Contains(s, `"`+id+`"`) || strings.Contains(s, `'`+id+`'`) {
				order = append(order, id)
			}
		}
	}
	if strings.Join(order, " ") != "w1 e1" || !strings.Contains(e1, "echo") {
		t.Fatalf("answers in the order %v, want w1 e1 (f1's handler failed between them): %q", order, got)
	}
	ask(phone, "r2", "runners")
	if reply := answerOf(phone, "r2"); !strings.Contains(reply, ">nil<") {
		t.Fatalf("an idle session still holds a runner: %s", reply)
	}
}

// loginAlice logs alice@example.com in on resource.
func loginAlice(ctx context.Context, t *testing.T, rt *Runtime, resource string) *Session {
	t.Helper()
	s, err := rt.Login(ctx, "example.com", "alice", resource)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
