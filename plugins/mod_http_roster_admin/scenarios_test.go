package rosteradmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// runRosterAdminScenarios is the roster-admin contract (the contract in plugins/mod_http_roster_admin/README.md), scenario
// by scenario, against one target. Users are distinct per scenario, so the
// scenarios share one server and run in order.
func runRosterAdminScenarios(t *testing.T, tg rosterAdminTarget) {
	b := tg.backend()
	_, standalone := tg.(*modhostTarget)

	t.Run("login roster equals the backend's, groups from arrays, subscription both", func(t *testing.T) {
		b.Set("alice", `{"bob@example.com":{"name":"Bob","groups":["Friends","Work"]},"carol@example.com":{},"alice@example.com":{"name":"Me"}}`)
		c := tg.login(t, "", "alice", "laptop")
		wantRoster(t, c, item("bob@example.com", "Bob", "Friends", "Work"), item("carol@example.com", ""))
		hits := b.Hits("/contacts/alice")
		if len(hits) != 1 || hits[0].Accept != "application/json" {
			t.Errorf("backend saw %+v, want one GET with Accept: application/json", hits)
		}
		// Prosody loads rosters in rostermanager.load_roster: the fetch belongs there.
		if !strings.Contains(tg.log(), "Roster of alice fetched at roster-load") {
			t.Errorf("login fetch did not happen in roster-load")
		}
	})

	t.Run("groups as the original module reads them: an object's keys, whatever the values", func(t *testing.T) {
		// Web apps written for the original send this shape; {} is no groups.
		b.Set("olga", `{"bob@example.com":{"name":"Bob","groups":{"Friends":true,"Work":true}},"carol@example.com":{"groups":{}},"dan@example.com":{"groups":{"Chess":1,"Go":null,"":true}}}`)
		c := tg.login(t, "", "olga", "r")
		wantRoster(t, c, item("bob@example.com", "Bob", "Friends", "Work"), item("carol@example.com", ""), item("dan@example.com", "", "Chess", "Go"))
		// A regroup and a rename in the object shape, and an array beside it.
		b.Set("olga", `{"bob@example.com":{"name":"Robert","groups":{"Work":true}},"carol@example.com":{"groups":{"Family":true}},"dan@example.com":{"groups":["Chess","Go"]}}`)
		if r := refresh(t, tg, "olga"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		want := []xmpptest.RosterItem{item("bob@example.com", "Robert", "Work"), item("carol@example.com", "", "Family")}
		if got := pushes(c, 500*time.Millisecond); !sameItems(got, want) {
			t.Errorf("pushes\n got %+v\nwant %+v", got, want)
		}
		wantRoster(t, c, append(want, item("dan@example.com", "", "Chess", "Go"))...)
	})

	// Logins with a slow web app (1.5 s): resources logging in together
	// share one fetch, and none is left with the roster stored before it.
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprintf("%d resources logging in together during a slow fetch all end with the new roster", n), func(t *testing.T) {
			waitsOnTimeouts(t)
			user := fmt.Sprintf("burst%d", n)
			b.Set(user, `{"old@example.com":{"name":"Old"}}`)
			first := tg.login(t, loginHost, user, "first")
			wantRoster(t, first, item("old@example.com", "Old"))
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // the logout is processed
			hitsBefore := len(b.Hits("/contacts/" + user))
			newRoster := []xmpptest.RosterItem{item("new@example.com", "New", "Friends")}
			b.Set(user, `{"new@example.com":{"name":"New","groups":{"Friends":true}}}`)
			b.Fail(user, testkit.Slow(1500*time.Millisecond, `{"new@example.com":{"name":"New","groups":{"Friends":true}}}`))
			// Each resource asks for its roster as soon as its login is
			// through, as clients do, while the first login's fetch may
			// still be out; what it shows is that answer plus the pushes
			// that follow.
			views := make([][]xmpptest.RosterItem, n)
			jids := make([]string, n)
			var wg sync.WaitGroup
			for i := range views {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(i) * 150 * time.Millisecond) // the first one's fetch is out
					c := tg.login(t, loginHost, user, fmt.Sprintf("r%d", i))
					jids[i] = c.JID()
					views[i] = clientView(t, c, 2500*time.Millisecond)
				}()
			}
			wg.Wait()
			for i, got := range views {
				if !sameItems(got, newRoster) {
					t.Errorf("%s shows %+v, want %+v", jids[i], got, newRoster)
				}
			}
			if got := len(b.Hits("/contacts/"+user)) - hitsBefore; got != 1 {
				t.Errorf("%d logins together fetched %d times, want once", n, got)
			}
		})
	}

	t.Run("a second resource's login repairs a change the web app never notified", func(t *testing.T) {
		waitsOnTimeouts(t)
		b.Set("rita", `{"a@example.com":{"name":"A"}}`)
		laptop := tg.login(t, loginHost, "rita", "laptop")
		wantRoster(t, laptop, item("a@example.com", "A"))
		time.Sleep(1200 * time.Millisecond)                                                  // past the window in which a login shares a fetch just back
		b.Set("rita", `{"a@example.com":{"name":"Ann"},"b@example.com":{"groups":["New"]}}`) // no refresh sent
		phone := tg.login(t, loginHost, "rita", "phone")
		want := []xmpptest.RosterItem{item("a@example.com", "Ann"), item("b@example.com", "", "New")}
		wantRoster(t, phone, want...)
		if got := pushes(laptop, time.Second); !sameItems(got, want) {
			t.Errorf("laptop pushes %+v, want %+v", got, want)
		}
	})

	t.Run("a hanging web app holds a login only for the login timeout, then the roster follows as pushes", func(t *testing.T) {
		waitsOnTimeouts(t)
		b.Fail("hana", testkit.Slow(4*time.Second, `{"late@example.com":{"name":"Late"}}`))
		start := time.Now()
		c := tg.login(t, loginHost, "hana", "r")
		took := time.Since(start)
		if took > 3800*time.Millisecond {
			t.Errorf("login took %v; the login timeout is 3 s", took)
		}
		want := []xmpptest.RosterItem{item("late@example.com", "Late")}
		if got := clientView(t, c, 3*time.Second); !sameItems(got, want) {
			t.Errorf("client shows %+v after the late answer, want %+v", got, want)
		}
	})

	t.Run("contact JIDs are normalised, names and groups kept as text", func(t *testing.T) {
		b.Set("ada", `{"Bob@Example.COM":{"name":"A & B <c> 'd' \"e\"","groups":["Ünï & <x>",""]},"ZOË@example.com":{"name":null,"groups":null},"carl@example.com":{"name":""}}`)
		c := tg.login(t, "", "ada", "r")
		wantRoster(t, c, item("bob@example.com", `A & B <c> 'd' "e"`, "Ünï & <x>"), item("zoë@example.com", ""), item("carl@example.com", ""))
	})

	t.Run("one invalid contact fails the whole fetch", func(t *testing.T) {
		for i, bad := range []string{
			`{"ok@example.com":{},"bad@@example.com":{}}`,
			`{"ok@example.com":{},"full@example.com/res":{}}`,
			`{"ok@example.com":{},"x@example.com":{"name":42}}`,
			`{"ok@example.com":{},"x@example.com":{"groups":[1]}}`,
			`{"ok@example.com":{},"x@example.com":{"groups":["a",null]}}`,
			`{"ok@example.com":{},"x@example.com":"friend"}`,
			`{"ok@example.com":{},"x@example.com":{"groups":"Friends"}}`,
			`{"ok@example.com":{},"x@example.com":{"groups":7}}`,
		} {
			user := fmt.Sprintf("badjid%d", i)
			b.Set(user, `{"kept@example.com":{}}`)
			c := tg.login(t, "", user, "r")
			roster(t, c)
			b.Set(user, bad)
			if r := refresh(t, tg, user); r.Errors != 1 {
				t.Errorf("backend %s: reply %+v", bad, r)
			}
			wantRoster(t, c, item("kept@example.com", ""))
		}
	})

	t.Run("usernames that are dot segments are never fetched", func(t *testing.T) {
		// A proxy resolving dot segments would turn /contacts/.. into
		// another resource.
		before := len(b.Hits("/"))
		if r := refreshOn(t, tg, offlineHost, ".", ".."); r.Errors != 2 || r.Updated != 0 {
			t.Errorf("refresh of . and .. → %+v, want 2 errors", r)
		}
		if got := len(b.Hits("/")) - before; got != 0 {
			t.Errorf("%d requests reached the web app", got)
		}
		// Each refresh fails once: the failed batch is not run again (it
		// was, for ever, on a host refreshing offline users: 1.5 million
		// times in a minute under modhost).
		time.Sleep(300 * time.Millisecond)
		for _, u := range []string{".", ".."} {
			if n := strings.Count(tg.log(), "username "+u+" cannot be a URL path segment"); n != 1 {
				t.Errorf("the refresh of %q failed %d times, want once", u, n)
			}
		}
	})

	t.Run("a login is known by its normalised username", func(t *testing.T) {
		b.Set("vic", `{}`)
		c := tg.login(t, "", "Vic", "r")
		roster(t, c)
		if c.JID() != "vic@example.com/r" || len(b.Hits("/contacts/vic")) != 1 {
			t.Errorf("login as Vic is %s, backend saw %+v", c.JID(), b.Hits("/contacts/"))
		}
		b.Set("vic", `{"v@example.com":{}}`)
		if r := refresh(t, tg, "VIC"); r.Updated != 1 || len(b.Hits("/contacts/vic")) != 2 {
			t.Errorf("refresh of VIC: %+v, backend saw %+v", r, b.Hits("/contacts/"))
		}
		if got := pushes(c, 300*time.Millisecond); !sameItems(got, []xmpptest.RosterItem{item("v@example.com", "")}) {
			t.Errorf("pushes %+v", got)
		}
	})

	t.Run("refresh pushes add, remove, rename and regroup to every interested resource", func(t *testing.T) {
		b.Set("dave", `{"bob@example.com":{"name":"Bob","groups":["Friends"]},"carol@example.com":{"name":"Carol"},"gone@example.com":{}}`)
		phone, laptop, idle := tg.login(t, "", "dave", "phone"), tg.login(t, "", "dave", "laptop"), tg.login(t, "", "dave", "idle")
		roster(t, phone)
		roster(t, laptop) // idle never asks for its roster: not interested
		if n := len(b.Hits("/contacts/dave")); n != 1 {
			t.Errorf("three resources' logins fetched %d times, want once", n)
		}
		b.Set("dave", `{"bob@example.com":{"name":"Robert","groups":["Friends"]},"carol@example.com":{"name":"Carol","groups":["Work","Chess"]},"erin@example.com":{"name":"Erin","groups":["New"]}}`)
		if r := refresh(t, tg, "dave"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		want := []xmpptest.RosterItem{
			item("bob@example.com", "Robert", "Friends"),
			item("carol@example.com", "Carol", "Chess", "Work"),
			item("erin@example.com", "Erin", "New"),
			{JID: "gone@example.com", Subscription: "remove", Groups: []string{}},
		}
		for _, c := range []rosterClient{phone, laptop} {
			if got := pushes(c, 500*time.Millisecond); !sameItems(got, want) {
				t.Errorf("%s pushes\n got %+v\nwant %+v", c.JID(), got, want)
			}
		}
		if got := pushes(idle, 0); len(got) != 0 {
			t.Errorf("uninterested resource got pushes %+v", got)
		}
		wantRoster(t, phone, want[:3]...)
	})

	t.Run("a refresh with no change pushes nothing", func(t *testing.T) {
		b.Set("fay", `{"bob@example.com":{"name":"Bob","groups":["A"]}}`)
		c := tg.login(t, "", "fay", "r")
		roster(t, c)
		if r := refresh(t, tg, "fay"); r.Updated != 1 || r.Errors != 0 {
			t.Errorf("reply %+v", r)
		}
		if got := c.Collect(400 * time.Millisecond); len(got) != 0 {
			t.Errorf("no-change refresh sent %v", got)
		}
	})

	t.Run("bad bodies are answered 400 with a JSON reason, invalid usernames are counted errors, and neither refreshes anything", func(t *testing.T) {
		b.Set("bea", `{}`)
		c := tg.login(t, "", "bea", "r")
		roster(t, c)
		b.Set("bea", `{"new@example.com":{}}`)
		before := len(b.Hits("/contacts/"))
		for _, body := range []string{
			"", "   ", "not json", `["bea"`, "null", "false", "{}", `{"a":"b"}`, `"bea"`, `42`,
			`[1]`, `[null]`, `[true]`, `["bea", {}]`, `["bea", ["x"]]`, `[["bea"]]`,
			strings.Repeat("[", 2000) + strings.Repeat("]", 2000), // deep nesting, within max_body
			`["bea"] trailing`, "\xef\xbb\xbf[\"bea\"]", "[\"\xff\"]", `{"0":"bea"}`,
			`[` + strings.Repeat(`"bea",`, 2000) + `"bea"]`, // over http_roster_admin_max_body
		} {
			code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", body, nil)
			if code != 400 || reply.Status != "error" || reply.Message == "" {
				t.Errorf("body %.40q: %d %+v, want 400 with a message", body, code, reply)
			}
		}
		// Strings nodeprep refuses are not usernames: each is an error in
		// the counts, never a fetch.
		for _, body := range []string{`["a@b"]`, `[""]`, `["x/y"]`, `["x y"]`, `["a'b"]`, `["a&b"]`, `["a:b"]`, `["be\u0000a"]`} {
			code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", body, nil)
			if code != 200 || reply != (refreshReply{"error", reply.Message, 0, 1}) {
				t.Errorf("body %q: %d %+v, want 200 with one error", body, code, reply)
			}
		}
		if n := len(b.Hits("/contacts/")) - before; n != 0 {
			t.Errorf("bad bodies caused %d fetches", n)
		}
		if got := pushes(c, 100*time.Millisecond); len(got) != 0 {
			t.Errorf("bad bodies refreshed bea: %+v", got)
		}
	})

	t.Run("a body over the HTTP server's limit is refused as JSON", func(t *testing.T) {
		// modhost's HTTP server stops bodies over 1 MiB (http_max_content_size)
		// with 413 before the plugin; Prosody's limit is 10 MiB, so there the
		// plugin's own limit answers 400.
		body := `["` + strings.Repeat("u", 2<<20) + `"]`
		code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", body, nil)
		if code != 400 && code != 413 {
			t.Errorf("2 MiB body → %d", code)
		}
		if code == 400 && reply.Message == "" {
			t.Errorf("2 MiB body → 400 without a reason")
		}
	})

	t.Run("an internal failure is answered 500 with a JSON reason", func(t *testing.T) {
		for _, req := range [][3]string{{"POST", "/roster_admin/refresh", `["` + brokenUser + `"]`}, {"GET", "/roster_admin/refresh/" + brokenUser, ""}} {
			code, reply, _ := call(t, tg, req[0], "", req[1], req[2], nil)
			if code != 500 || reply.Status != "error" || reply.Message == "" {
				t.Errorf("%s %s → %d %+v, want 500 with a message", req[0], req[1], code, reply)
			}
		}
	})

	t.Run("an empty array is answered at once", func(t *testing.T) {
		start := time.Now()
		code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", "[]", nil)
		if code != 200 || reply != (refreshReply{"ok", "roster update complete", 0, 0}) || time.Since(start) > time.Second {
			t.Errorf("[] → %d %+v after %v", code, reply, time.Since(start))
		}
	})

	t.Run("duplicates are fetched, refreshed and counted once", func(t *testing.T) {
		b.Set("gus", `{}`)
		c := tg.login(t, "", "gus", "r")
		roster(t, c)
		b.Set("gus", `{"dup@example.com":{"name":"Dup"}}`)
		before := len(b.Hits("/contacts/gus"))
		if r := refresh(t, tg, "gus", "gus", "GUS"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if n := len(b.Hits("/contacts/gus")) - before; n != 1 {
			t.Errorf("backend fetched gus %d times", n)
		}
		if got := pushes(c, 300*time.Millisecond); !sameItems(got, []xmpptest.RosterItem{item("dup@example.com", "Dup")}) {
			t.Errorf("pushes %+v, want one", got)
		}
	})

	t.Run("offline users count as updated without a fetch", func(t *testing.T) {
		if r := refresh(t, tg, "nobody-online"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if hits := b.Hits("/contacts/nobody-online"); len(hits) != 0 {
			t.Errorf("offline user fetched: %+v", hits)
		}
	})

	t.Run("a user who logged out is offline, and the next login fetches again", func(t *testing.T) {
		b.Set("una", `{"a@example.com":{"name":"A"}}`)
		c := tg.login(t, "", "una", "r")
		wantRoster(t, c, item("a@example.com", "A"))
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		b.Set("una", `{"b@example.com":{"name":"B"}}`)
		if r := refresh(t, tg, "una"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if n := len(b.Hits("/contacts/una")); n != 1 {
			t.Errorf("backend fetched una %d times, want only at the first login", n)
		}
		wantRoster(t, tg.login(t, "", "una", "r"), item("b@example.com", "B"))
	})

	t.Run("offline refresh stores the roster the next login starts from", func(t *testing.T) {
		b.Set("otto", `{"x@example.com":{"name":"X","groups":["G"]}}`)
		tg.addUser(t, offlineHost, "otto") // rosters of accounts that do not exist are not stored
		if r := refreshOn(t, tg, offlineHost, "otto"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if n := len(b.Hits("/contacts/otto")); n != 1 {
			t.Errorf("offline refresh fetched otto %d times", n)
		}
		// The login's own fetch fails, so the login shows what is stored.
		b.Fail("otto", testkit.Status(500))
		wantRoster(t, tg.login(t, offlineHost, "otto", "r"), item("x@example.com", "X", "G"))
	})

	t.Run("wrong methods are answered 405", func(t *testing.T) {
		for _, mp := range [][2]string{{"GET", "/roster_admin/refresh"}, {"PUT", "/roster_admin/refresh"}, {"PATCH", "/roster_admin/refresh"}, {"DELETE", "/roster_admin/refresh"}, {"POST", "/roster_admin/refresh/alice"}, {"PUT", "/roster_admin/refresh/alice"}, {"DELETE", "/roster_admin/refresh/alice"}, {"HEAD", "/roster_admin/refresh/alice"}, {"HEAD", "/roster_admin/refresh"}} {
			code, reply, header := call(t, tg, mp[0], "", mp[1], "", nil)
			if code != 405 || (mp[0] != "HEAD" && reply.Status != "error") {
				t.Errorf("%s %s → %d %+v", mp[0], mp[1], code, reply)
			}
			allow := "POST"
			if strings.Count(mp[1], "/") > 2 {
				allow = "GET"
			}
			if header.Get("Allow") != allow {
				t.Errorf("%s %s → Allow %q, want %q", mp[0], mp[1], header.Get("Allow"), allow)
			}
		}
	})

	t.Run("GET refresh of one user pushes the change", func(t *testing.T) {
		b.Set("hal", `{}`)
		c := tg.login(t, "", "hal", "r")
		roster(t, c)
		b.Set("hal", `{"ivy@example.com":{"name":"Ivy"}}`)
		code, reply, _ := call(t, tg, "GET", "", "/roster_admin/refresh/hal", "", nil)
		if code != 200 || reply != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("GET refresh → %d %+v", code, reply)
		}
		if got := pushes(c, 300*time.Millisecond); !sameItems(got, []xmpptest.RosterItem{item("ivy@example.com", "Ivy")}) {
			t.Errorf("pushes %+v", got)
		}
		code, reply, _ = call(t, tg, "GET", "", "/roster_admin/refresh/", "", nil)
		if code != 400 {
			t.Errorf("GET refresh without a user → %d %+v", code, reply)
		}
	})

	t.Run("failed fetches count as errors and leave the roster as it was", func(t *testing.T) {
		waitsOnTimeouts(t)
		cases := []struct {
			user string
			fail testkit.Answer
		}{
			{"e404", testkit.Status(404)},
			{"e500", testkit.Status(500)},
			{"einvalid", testkit.Body(`{"bob@example.com":`)},
			{"earray", testkit.Body(`[{"bob@example.com":{}}]`)},
			{"estring", testkit.Body(`"bob@example.com"`)},
			{"enull", testkit.Body(`null`)},
			{"ebadgroups", testkit.Body(`{"bob@example.com":{"groups":"Friends"}}`)},
			{"egroupsnumber", testkit.Body(`{"bob@example.com":{"groups":1}}`)},
			// Found by FuzzBackendRoster: each was applied (or, for the
			// control character, applied half way).
			{"econtactarray", testkit.Body(`{"bob@example.com":[]}`)},
			{"emarker", testkit.Body(`{"__array":[]}`)},
			{"econtrol", testkit.Body(`{"bob@example.com":{"name":"\u0001"}}`)},
			{"eemptyresource", testkit.Body(`{"bob@example.com/\u00ad":{}}`)},
			{"edeep", testkit.Body(`{"x@example.com":{"groups":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}}`)},
			{"eclosed", testkit.CloseConn},
			{"ehalf", testkit.HalfBody(`{"new@example.com":{"name":"Half"}}`)},
			{"ehang", testkit.Hang},
			{"eslow", testkit.Slow(fetchTimeout+300*time.Millisecond, `{"late@example.com":{"name":"Late"}}`)},
			{"rejected", testkit.Body(`{}`)},  // rejected by the probe's roster-admin/fetched
			{"exploding", testkit.Body(`{}`)}, // the probe's handler raises an error
		}
		for _, tc := range cases {
			t.Run(tc.user, func(t *testing.T) {
				b.Set(tc.user, `{"kept@example.com":{"name":"Kept","groups":["G"]}}`)
				c := tg.login(t, "", tc.user, "r")
				if tc.user != "rejected" && tc.user != "exploding" {
					wantRoster(t, c, item("kept@example.com", "Kept", "G"))
				}
				before := roster(t, c)
				b.Fail(tc.user, tc.fail)
				start := time.Now()
				r := refresh(t, tg, tc.user)
				if r.Status != "error" || r.Updated != 0 || r.Errors != 1 {
					t.Errorf("reply %+v", r)
				}
				if took := time.Since(start); took > fetchTimeout+time.Second {
					t.Errorf("answered after %v", took)
				}
				wait := 100 * time.Millisecond
				if tc.user == "eslow" {
					wait = 600 * time.Millisecond // the late answer arrives and must be ignored
				}
				if got := pushes(c, wait); len(got) != 0 {
					t.Errorf("failed refresh pushed %+v", got)
				}
				wantRoster(t, c, before...)
			})
		}
	})

	t.Run("a hanging backend delays a login by the fetch timeout at most", func(t *testing.T) {
		waitsOnTimeouts(t)
		b.Fail("sam", testkit.Hang)
		start := time.Now()
		c := tg.login(t, "", "sam", "r")
		if took := time.Since(start); took > fetchTimeout+time.Second {
			t.Errorf("login took %v", took)
		}
		wantRoster(t, c)
	})

	t.Run("failing users do not hold up the others in one request", func(t *testing.T) {
		waitsOnTimeouts(t)
		for _, u := range []string{"jo", "ken", "kit"} {
			b.Set(u, `{}`)
			roster(t, tg.login(t, "", u, "r"))
		}
		jo := tg.login(t, "", "jo", "second")
		roster(t, jo)
		b.Set("jo", `{"new@example.com":{"name":"New"}}`)
		b.Fail("ken", testkit.Status(500))
		b.Fail("kit", testkit.Hang)
		start := time.Now()
		// The request runs beside the test goroutine, which watches jo; it
		// reports back rather than failing from another goroutine.
		replies := make(chan refreshReply, 1)
		go func() {
			var r refreshReply
			resp, err := http.Post(tg.url("", "/roster_admin/refresh"), "application/json", strings.NewReader(`["kit","ken","jo"]`))
			if err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
			}
			replies <- r
		}()
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout/2)
		defer cancel()
		if _, err := jo.Next(ctx, func(el xmpptest.Element) bool { return el.Is("iq", "set") }); err != nil {
			t.Errorf("jo's push waited for the hanging fetch: %v", err)
		}
		if r := <-replies; r != (refreshReply{"ok", "roster update complete", 1, 2}) {
			t.Errorf("reply %+v", r)
		}
		// The reply above (ok, jo updated) already proves kit's hang was
		// given up at the fetch timeout, not at the request deadline, which
		// answers 504; the time only has to stay short of that deadline
		// (a loaded CI machine has been seen a second late).
		if took := time.Since(start); took > requestDeadline-250*time.Millisecond {
			t.Errorf("answered after %v, want before the %v deadline", took, requestDeadline)
		}
	})

	t.Run("a request outliving its deadline is answered 504 with counts so far", func(t *testing.T) {
		waitsOnTimeouts(t)
		// 60 hanging fetches, 16 at a time, each given up after 1 s: four
		// rounds, so the 3 s deadline passes with the fourth round unfinished.
		var users []string
		for i := range 60 {
			u := fmt.Sprintf("slow%d", i)
			users = append(users, u)
			b.Set(u, `{}`)
			tg.login(t, "", u, "r")
			b.Fail(u, testkit.Hang)
		}
		body, _ := json.Marshal(users)
		start := time.Now()
		code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", string(body), nil)
		took := time.Since(start)
		if code != 504 || reply.Status != "error" || reply.Updated != 0 || reply.Errors == 0 || reply.Errors >= len(users) {
			t.Errorf("reply %d %+v", code, reply)
		}
		if took < requestDeadline || took > requestDeadline+time.Second {
			t.Errorf("answered after %v, want about %v", took, requestDeadline)
		}
		time.Sleep(fetchTimeout + 200*time.Millisecond) // let the queue drain before later subtests
	})

	t.Run("fetches a request queued are dropped at its deadline, and requests take turns", func(t *testing.T) {
		waitsOnTimeouts(t)
		// busyHost: 2 slots, fetches given up after 1 s, a 2 s deadline.
		// The first request's 12 hanging fetches need six rounds.
		var hung []string
		for i := range 12 {
			u := fmt.Sprintf("hung%d", i)
			hung = append(hung, u)
			b.Fail(u, testkit.Hang)
		}
		b.Set("quick", `{"bob@example.com":{}}`)
		hitsOf := func(users ...string) int {
			n := 0
			for _, u := range users {
				n += len(b.Hits("/contacts/" + u))
			}
			return n
		}
		body, _ := json.Marshal(hung)
		big := make(chan int, 1)
		go func() {
			code, _, _ := call(t, tg, "POST", busyHost, "/roster_admin/refresh", string(body), nil)
			big <- code
		}()
		time.Sleep(200 * time.Millisecond) // its first two fetches are out, ten queued
		start := time.Now()
		code, reply, _ := call(t, tg, "POST", busyHost, "/roster_admin/refresh", `["quick"]`, nil)
		if code != 200 || reply.Updated != 1 {
			t.Errorf("a one-user request behind a 12-user one: %d %+v after %v, want 200 with updated 1 (its turn comes at the next free slot)", code, reply, time.Since(start))
		}
		if code := <-big; code != 504 {
			t.Errorf("the 12-user request answered %d, want 504 at its deadline", code)
		}
		time.Sleep(300 * time.Millisecond) // fetches sent just before the deadline arrive
		sent := hitsOf(hung...)
		time.Sleep(fetchTimeout + 500*time.Millisecond)
		if later := hitsOf(hung...); later != sent || sent >= len(hung) {
			t.Errorf("fetches of the expired request: %d sent by its deadline, %d a second later, of %d (want none after the deadline)", sent, later, len(hung))
		}
		// Wanted again, they are fetched again.
		for _, u := range hung[len(hung)-2:] {
			b.Set(u, `{}`)
			b.Fail(u, nil)
		}
		if r := refreshOn(t, tg, busyHost, hung[len(hung)-2:]...); r.Updated != 2 {
			t.Errorf("refresh of two users whose fetches were dropped: %+v", r)
		}
	})

	t.Run("a request naming more users than the cap is refused with 413", func(t *testing.T) {
		var users []string
		for i := range busyMaxUsers + 1 {
			users = append(users, fmt.Sprintf("many%d", i))
		}
		body, _ := json.Marshal(users)
		code, reply, _ := call(t, tg, "POST", busyHost, "/roster_admin/refresh", string(body), nil)
		if code != 413 || reply.Status != "error" || !strings.Contains(reply.Message, "http_roster_admin_max_users") {
			t.Errorf("%d usernames → %d %+v, want 413 naming the option", len(users), code, reply)
		}
		if n := len(b.Hits("/contacts/many")); n != 0 {
			t.Errorf("%d fetches for a refused request", n)
		}
		// The cap itself is accepted: its 20 fetches run, two at a time, so
		// on a loaded machine the 2 s deadline may pass first (504 with the
		// counts so far); refused for its size it must not be.
		body, _ = json.Marshal(users[:busyMaxUsers])
		code, reply, _ = call(t, tg, "POST", busyHost, "/roster_admin/refresh", string(body), nil)
		if code != 200 && (code != 504 || reply.Updated == 0) {
			t.Errorf("%d usernames (the cap) → %d %+v, want them refreshed", busyMaxUsers, code, reply)
		}
		if n := len(b.Hits("/contacts/many")); n == 0 {
			t.Errorf("no fetches for a request of the cap's size")
		}
	})

	t.Run("added contacts exchange presence with online users", func(t *testing.T) {
		// Inside Prosody each client sees the other's presence. Standalone
		// there is no server to route presence between users: the same
		// stanzas (directed presence from the user's available resource, a
		// probe from the bare JID, unavailable to removed contacts) reach the
		// stanza sink, where the XMPP link would send them.
		b.Set("olga", `{}`)
		b.Set("pat", `{}`)
		olga, pat := tg.login(t, "", "olga", "r"), tg.login(t, "", "pat", "r")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range []rosterClient{olga, pat} {
			roster(t, c)
			if err := c.SendPresence(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		olga.Collect(200 * time.Millisecond)
		pat.Collect(0)
		b.Set("olga", `{"pat@example.com":{"name":"Pat"}}`)
		b.Set("pat", `{"olga@example.com":{"name":"Olga"}}`)
		if r := refresh(t, tg, "olga", "pat"); r.Updated != 2 {
			t.Errorf("reply %+v", r)
		}
		for _, pair := range [][2]rosterClient{{olga, pat}, {pat, olga}} {
			to, from := pair[0], pair[1]
			if _, err := tg.nextPresence(ctx, to, func(el xmpptest.Element) bool {
				return el.Attr("type") == "" && el.Attr("from") == from.JID()
			}); err != nil {
				t.Errorf("%s never saw %s available: %v", to.JID(), from.JID(), err)
			}
			if standalone {
				if _, err := tg.nextPresence(ctx, to, func(el xmpptest.Element) bool {
					return el.Attr("type") == "probe" && el.Attr("from") == bareJID(from.JID())
				}); err != nil {
					t.Errorf("%s never probed %s: %v", from.JID(), to.JID(), err)
				}
			}
		}
		b.Set("olga", `{}`)
		if r := refresh(t, tg, "olga"); r.Updated != 1 {
			t.Errorf("reply %+v", r)
		}
		if _, err := tg.nextPresence(ctx, pat, func(el xmpptest.Element) bool {
			return el.Attr("type") == "unavailable" && el.Attr("from") == olga.JID()
		}); err != nil {
			t.Errorf("removed contact never saw olga go: %v", err)
		}
	})

	t.Run("an online user without initial presence is refreshed without presence", func(t *testing.T) {
		b.Set("quiet", `{}`)
		c := tg.login(t, "", "quiet", "r")
		roster(t, c)
		b.Set("quiet", `{"loud@example.com":{"name":"Loud"}}`)
		if r := refresh(t, tg, "quiet"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if got := pushes(c, 300*time.Millisecond); !sameItems(got, []xmpptest.RosterItem{item("loud@example.com", "Loud")}) {
			t.Errorf("pushes %+v", got)
		}
	})

	t.Run("clients cannot set their roster", func(t *testing.T) {
		b.Set("liz", `{"bob@example.com":{}}`)
		c := tg.login(t, "", "liz", "r")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, q := range []string{
			`<query xmlns='jabber:iq:roster'><item jid='new@example.com' name='New'/></query>`,
			`<query xmlns='jabber:iq:roster'><item jid='bob@example.com' subscription='remove'/></query>`,
		} {
			res, err := c.IQ(ctx, "set", "", q)
			if err != nil {
				t.Fatal(err)
			}
			errEl, _ := res.Child("error", "")
			_, unavailable := errEl.Child("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas")
			if res.Attr("type") != "error" || errEl.Attr("type") != "cancel" || !unavailable {
				t.Errorf("roster set answered %s", res)
			}
		}
		wantRoster(t, c, item("bob@example.com", ""))
	})

	t.Run("subscription presences are dropped, available presence passes", func(t *testing.T) {
		b.Set("mia", `{"ned@example.com":{}}`)
		b.Set("ned", `{"mia@example.com":{}}`)
		mia, ned := tg.login(t, "", "mia", "r"), tg.login(t, "", "ned", "r")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range []rosterClient{mia, ned} {
			roster(t, c)
			if err := c.SendPresence(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		mia.Collect(300 * time.Millisecond) // the presence exchange of the login settles
		ned.Collect(100 * time.Millisecond)
		for _, typ := range []string{"subscribe", "subscribed", "unsubscribe", "unsubscribed"} {
			if err := mia.SendPresence(ctx, typ, "ned@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		for _, got := range tg.presencesFor(ned, 400*time.Millisecond) {
			if got.Attr("type") != "" && got.Attr("type") != "unavailable" && got.Attr("type") != "probe" {
				t.Errorf("subscription presence reached ned: %v", got)
			}
		}
		wantRoster(t, mia, item("ned@example.com", ""))
		wantRoster(t, ned, item("mia@example.com", ""))
		if err := mia.SendPresence(ctx, "", "ned@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.nextPresence(ctx, ned, func(el xmpptest.Element) bool { return el.Attr("from") == mia.JID() && el.Attr("type") == "" }); err != nil {
			t.Errorf("directed available presence blocked: %v", err)
		}

		// Inbound: from another server's entity, never through ned's own
		// session's pre-presence events.
		for _, typ := range []string{"subscribe", "subscribed", "unsubscribe", "unsubscribed"} {
			if tg.inboundPresence(t, ctx, typ, "stranger@comp.example.com", ned) {
				t.Errorf("inbound %s presence reached ned", typ)
			}
		}
		if !tg.inboundPresence(t, ctx, "", "stranger@comp.example.com/x", ned) {
			t.Errorf("inbound available presence did not reach ned")
		}
		wantRoster(t, ned, item("mia@example.com", ""))
	})

	t.Run("usernames needing percent-encoding reach the backend as their own path", func(t *testing.T) {
		// A space or '/' cannot be in a JID's localpart, so no such user
		// logs in and refreshing one is a 400 (see the bad bodies above).
		for user, path := range map[string]string{"a%b": "/contacts/a%25b", "q?x": "/contacts/q%3Fx", "h#y": "/contacts/h%23y", "x+y": "/contacts/x%2By", "zoë": "/contacts/zo%C3%AB"} {
			c := tg.login(t, "", user, "r")
			roster(t, c)
			hits := b.Hits(path)
			if len(hits) != 1 {
				t.Errorf("login of %q: backend saw %+v for %s", user, hits, path)
			}
		}
		code, reply, _ := call(t, tg, "GET", "", "/roster_admin/refresh/a%25b", "", nil)
		if code != 200 || reply.Updated != 1 || reply.Errors != 0 || len(b.Hits("/contacts/a%25b")) != 2 {
			t.Errorf("GET refresh of a%%b: %d %+v, hits %+v", code, reply, b.Hits("/contacts/a"))
		}
		if r := refresh(t, tg, "q?x", "h#y", "ZOË"); r.Updated != 3 || len(b.Hits("/contacts/q%3Fx")) != 2 || len(b.Hits("/contacts/h%23y")) != 2 || len(b.Hits("/contacts/zo%C3%AB")) != 2 {
			t.Errorf("POST refresh: %+v, hits %+v", r, b.Hits("/contacts/"))
		}
	})

	t.Run("roster-admin events let a plugin change and reject fetches, and report updates", func(t *testing.T) {
		b.Set("hooked", `{"bob@example.com":{"vip":true}}`)
		c := tg.login(t, "", "hooked", "r")
		wantRoster(t, c, item("bob@example.com", "", "VIP"), item("injected@example.com", "Injected", "Hooks"))
		b.Set("hooked", `{"zed@example.com":{}}`)
		refresh(t, tg, "hooked")
		if logged := tg.updatedLog(); !strings.Contains(logged, "hooked@example.com +1 -1 ~0\n") {
			t.Errorf("updated events:\n%s", logged)
		}
	})

	t.Run("refused backend, refresh of offline users and the shared secret", func(t *testing.T) {
		// example.com has no secret: any Authorization header is ignored.
		if code, reply, _ := call(t, tg, "POST", "", "/roster_admin/refresh", `["nobody-online"]`, map[string]string{"Authorization": "Bearer wrong!"}); code != 200 || reply.Updated != 1 {
			t.Errorf("without a secret → %d %+v", code, reply)
		}
		auth := map[string]string{"Authorization": "Bearer " + testSecret}
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong!"}, {"Authorization": testSecret}} {
			code, reply, _ := call(t, tg, "POST", refusedHost, "/roster_admin/refresh", `["rita"]`, h)
			if code != 401 || reply.Status != "error" {
				t.Errorf("auth %v → %d %+v", h, code, reply)
			}
			if code, _, _ := call(t, tg, "GET", refusedHost, "/roster_admin/refresh/rita", "", h); code != 401 {
				t.Errorf("GET with auth %v → %d", h, code)
			}
		}
		// The scheme is case-insensitive, the token exact.
		for _, value := range []string{"bearer " + testSecret, "BEARER  " + testSecret, "Bearer\t" + testSecret} {
			if code, _, _ := call(t, tg, "GET", refusedHost, "/roster_admin/refresh/rita", "", map[string]string{"Authorization": value}); code == 401 {
				t.Errorf("Authorization %q refused", value)
			}
		}
		for _, value := range []string{"Bearer", "Basic " + testSecret, "Bearer " + testSecret + "x", "Bearer" + testSecret} {
			if code, _, _ := call(t, tg, "GET", refusedHost, "/roster_admin/refresh/rita", "", map[string]string{"Authorization": value}); code != 401 {
				t.Errorf("Authorization %q → %d, want 401", value, code)
			}
		}
		start := time.Now()
		code, reply, _ := call(t, tg, "POST", refusedHost, "/roster_admin/refresh", `["rita","rob"]`, auth)
		if code != 200 || reply != (refreshReply{"error", reply.Message, 0, 2}) || time.Since(start) > fetchTimeout+time.Second {
			t.Errorf("refused backend → %d %+v after %v", code, reply, time.Since(start))
		}
	})
}

// waitsOnTimeouts skips, under -short (make unit), a scenario that spends
// seconds waiting for fetch timeouts, login timeouts and deadlines to pass;
// make test runs every one of them, on both targets.
func waitsOnTimeouts(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("waits for timeouts to pass; make test runs it")
	}
}
