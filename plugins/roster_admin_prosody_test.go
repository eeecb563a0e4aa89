package plugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/prosodytest"
	"github.com/modhost/modhost/host/xmpptest"
)

// The fetch timeout and request deadline are short so failure cases stay
// fast; the refused host has no backend at all and a shared secret.
const (
	fetchTimeout    = 1 * time.Second
	requestDeadline = 3 * time.Second
	refusedHost     = "refused.example.com"
	testSecret      = "s3cret"
)

// probePlugin customises through the plugin's events and records the
// updates, proving both events fire inside Prosody with what they promise.
const probePlugin = `
local log_path = module:get_option_string("probe_log");
module:hook("roster-admin/fetched", function (event)
	if event.username == "hooked" then
		event.roster["injected@example.com"] = { name = "Injected", groups = { Hooks = true }, subscription = "both" };
		-- entries carry the backend's fields beyond name and groups.
		local bob = event.entries["bob@example.com"];
		if bob and bob.vip == true then
			event.roster["bob@example.com"].groups.VIP = true;
		end
	elseif event.username == "rejected" then
		return true;
	elseif event.username == "exploding" then
		error("handler failure on purpose");
	end
end);
module:hook("roster-admin/updated", function (event)
	local f = assert(io.open(log_path, "a"));
	f:write(string.format("%s@%s +%d -%d ~%d\n", event.username, event.host, #event.added, #event.removed, #event.changed));
	f:close();
end);
`

type rosterAdminEnv struct {
	s   *prosodytest.Server
	b   *backend
	www string
}

func startRosterAdmin(t *testing.T) *rosterAdminEnv {
	b := newBackend(t)
	probeDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(probeDir, "mod_roster_admin_probe.lua"), []byte(probePlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	www := t.TempDir()
	writeFiles(t, www, map[string]string{
		"index.html":     "<h1>home</h1>",
		"notes.txt":      "plain notes",
		"style.css":      "body{}",
		"sub/inner.json": `{"ok":true}`,
	})
	s := prosodytest.Start(t, prosodytest.Options{
		PluginPaths: []string{probeDir},
		HostConfig: fmt.Sprintf(`
	modules_enabled = { "http_roster_admin"; "block_subscriptions"; "http_files"; "roster_admin_probe" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_deadline = %d
	http_roster_admin_max_body = 4096
	http_files_dir = %q
	probe_log = "{{DIR}}/updated.log"
`, b.url(), int(fetchTimeout/time.Second), int(requestDeadline/time.Second), www),
		Config: fmt.Sprintf(`
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = "http://127.0.0.1:1/contacts/%%s"
	http_roster_admin_refresh_offline = true
	http_roster_admin_secret = %q

Component "comp.example.com"
	component_secret = "compsecret"
`, refusedHost, testSecret),
	})
	return &rosterAdminEnv{s: s, b: b, www: www}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *rosterAdminEnv) login(t *testing.T, user, resource string) *xmpptest.Client {
	t.Helper()
	if err := e.s.AddUser(user, "pw"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: e.s.C2SAddr(), Domain: e.s.Host, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type refreshReply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Updated int    `json:"updated"`
	Errors  int    `json:"errors"`
}

// call sends one HTTP request to Prosody and decodes its JSON answer.
func (e *rosterAdminEnv) call(t *testing.T, method, host, path, body string, header map[string]string) (int, refreshReply, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestDeadline+3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.s.HTTPURL(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var reply refreshReply
	if method != http.MethodHead {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s answered %d with Content-Type %q: %s", method, path, resp.StatusCode, ct, raw)
		} else if err := json.Unmarshal(raw, &reply); err != nil {
			t.Errorf("%s %s answered %d with bad JSON %q: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, reply, resp.Header
}

func (e *rosterAdminEnv) refresh(t *testing.T, users ...string) refreshReply {
	t.Helper()
	body, _ := json.Marshal(users)
	code, reply, _ := e.call(t, "POST", "", "/roster_admin/refresh", string(body), nil)
	if code != 200 {
		t.Fatalf("refresh %v: status %d %+v", users, code, reply)
	}
	return reply
}

func roster(t *testing.T, c *xmpptest.Client) []xmpptest.RosterItem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	items, err := c.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return normalize(items)
}

// normalize sorts items and groups so rosters compare with slices.EqualFunc.
func normalize(items []xmpptest.RosterItem) []xmpptest.RosterItem {
	for i := range items {
		slices.Sort(items[i].Groups)
		if items[i].Groups == nil {
			items[i].Groups = []string{}
		}
	}
	slices.SortFunc(items, func(a, b xmpptest.RosterItem) int { return strings.Compare(a.JID, b.JID) })
	return items
}

func item(jid, name string, groups ...string) xmpptest.RosterItem {
	if groups == nil {
		groups = []string{}
	}
	return xmpptest.RosterItem{JID: jid, Name: name, Subscription: "both", Groups: groups}
}

func sameItems(a, b []xmpptest.RosterItem) bool {
	return slices.EqualFunc(normalize(a), normalize(b), func(x, y xmpptest.RosterItem) bool {
		return x.JID == y.JID && x.Name == y.Name && x.Subscription == y.Subscription && x.Ask == y.Ask && slices.Equal(x.Groups, y.Groups)
	})
}

func wantRoster(t *testing.T, c *xmpptest.Client, want ...xmpptest.RosterItem) {
	t.Helper()
	if got := roster(t, c); !sameItems(got, want) {
		t.Errorf("%s roster\n got %+v\nwant %+v", c.JID(), got, normalize(want))
	}
}

// pushes collects the roster pushes a client gets within d.
func pushes(c *xmpptest.Client, d time.Duration) []xmpptest.RosterItem {
	var items []xmpptest.RosterItem
	for _, e := range c.Collect(d) {
		if e.Is("iq", "set") {
			items = append(items, xmpptest.RosterItems(e)...)
		}
	}
	return normalize(items)
}

func TestRosterAdminInsideProsody(t *testing.T) {
	e := startRosterAdmin(t)
	t.Cleanup(func() { assertNoLuaErrors(t, e.s) })

	t.Run("login roster equals the backend's, groups from arrays, subscription both", func(t *testing.T) {
		e.b.set("alice", `{"bob@example.com":{"name":"Bob","groups":["Friends","Work"]},"carol@example.com":{},"alice@example.com":{"name":"Me"}}`)
		c := e.login(t, "alice", "laptop")
		wantRoster(t, c, item("bob@example.com", "Bob", "Friends", "Work"), item("carol@example.com", ""))
		hits := e.b.hitsFor("/contacts/alice")
		if len(hits) != 1 || hits[0].Accept != "application/json" {
			t.Errorf("backend saw %+v, want one GET with Accept: application/json", hits)
		}
		// Prosody loads rosters in rostermanager.load_roster: the fetch belongs there.
		if !strings.Contains(e.s.Log(), "Roster of alice fetched at roster-load") {
			t.Errorf("login fetch did not happen in roster-load")
		}
	})

	t.Run("refresh pushes add, remove, rename and regroup to every interested resource", func(t *testing.T) {
		e.b.set("dave", `{"bob@example.com":{"name":"Bob","groups":["Friends"]},"carol@example.com":{"name":"Carol"},"gone@example.com":{}}`)
		phone, laptop, idle := e.login(t, "dave", "phone"), e.login(t, "dave", "laptop"), e.login(t, "dave", "idle")
		roster(t, phone)
		roster(t, laptop) // idle never asks for its roster: not interested
		e.b.set("dave", `{"bob@example.com":{"name":"Robert","groups":["Friends"]},"carol@example.com":{"name":"Carol","groups":["Work","Chess"]},"erin@example.com":{"name":"Erin","groups":["New"]}}`)
		if r := e.refresh(t, "dave"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		want := []xmpptest.RosterItem{
			item("bob@example.com", "Robert", "Friends"),
			item("carol@example.com", "Carol", "Chess", "Work"),
			item("erin@example.com", "Erin", "New"),
			{JID: "gone@example.com", Subscription: "remove", Groups: []string{}},
		}
		for _, c := range []*xmpptest.Client{phone, laptop} {
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
		e.b.set("fay", `{"bob@example.com":{"name":"Bob","groups":["A"]}}`)
		c := e.login(t, "fay", "r")
		roster(t, c)
		if r := e.refresh(t, "fay"); r.Updated != 1 || r.Errors != 0 {
			t.Errorf("reply %+v", r)
		}
		if got := c.Collect(400 * time.Millisecond); len(got) != 0 {
			t.Errorf("no-change refresh sent %v", got)
		}
	})

	t.Run("bad bodies are answered 400 with a JSON reason", func(t *testing.T) {
		for _, body := range []string{"", "   ", "not json", "{}", `{"a":"b"}`, `"alice"`, `42`, `[1]`, `[null]`, `["ok", ["x"]]`, `["a@b"]`, `[""]`, `["x/y"]`, `[` + strings.Repeat(`"u",`, 2000) + `"u"]`} {
			code, reply, _ := e.call(t, "POST", "", "/roster_admin/refresh", body, nil)
			if code != 400 || reply.Status != "error" || reply.Message == "" {
				t.Errorf("body %.40q: %d %+v, want 400 with a message", body, code, reply)
			}
		}
	})

	t.Run("an empty array is answered at once", func(t *testing.T) {
		start := time.Now()
		code, reply, _ := e.call(t, "POST", "", "/roster_admin/refresh", "[]", nil)
		if code != 200 || reply != (refreshReply{"ok", "roster update complete", 0, 0}) || time.Since(start) > time.Second {
			t.Errorf("[] → %d %+v after %v", code, reply, time.Since(start))
		}
	})

	t.Run("duplicates are fetched and counted once", func(t *testing.T) {
		e.b.set("gus", `{}`)
		e.login(t, "gus", "r")
		before := len(e.b.hitsFor("/contacts/gus"))
		if r := e.refresh(t, "gus", "gus", "GUS"); r.Updated != 1 || r.Errors != 0 {
			t.Errorf("reply %+v", r)
		}
		if n := len(e.b.hitsFor("/contacts/gus")) - before; n != 1 {
			t.Errorf("backend fetched gus %d times", n)
		}
	})

	t.Run("offline users count as updated without a fetch", func(t *testing.T) {
		if r := e.refresh(t, "nobody-online"); r != (refreshReply{"ok", "roster update complete", 1, 0}) {
			t.Errorf("reply %+v", r)
		}
		if hits := e.b.hitsFor("/contacts/nobody-online"); len(hits) != 0 {
			t.Errorf("offline user fetched: %+v", hits)
		}
	})

	t.Run("wrong methods are answered 405", func(t *testing.T) {
		for _, mp := range [][2]string{{"GET", "/roster_admin/refresh"}, {"PUT", "/roster_admin/refresh"}, {"DELETE", "/roster_admin/refresh"}, {"POST", "/roster_admin/refresh/alice"}, {"PUT", "/roster_admin/refresh/alice"}, {"HEAD", "/roster_admin/refresh/alice"}} {
			code, reply, _ := e.call(t, mp[0], "", mp[1], "", nil)
			if code != 405 || (mp[0] != "HEAD" && reply.Status != "error") {
				t.Errorf("%s %s → %d %+v", mp[0], mp[1], code, reply)
			}
		}
	})

	t.Run("GET refresh of one user pushes the change", func(t *testing.T) {
		e.b.set("hal", `{}`)
		c := e.login(t, "hal", "r")
		roster(t, c)
		e.b.set("hal", `{"ivy@example.com":{"name":"Ivy"}}`)
		code, reply, _ := e.call(t, "GET", "", "/roster_admin/refresh/hal", "", nil)
		if code != 200 || reply.Updated != 1 {
			t.Errorf("GET refresh → %d %+v", code, reply)
		}
		if got := pushes(c, 300*time.Millisecond); !sameItems(got, []xmpptest.RosterItem{item("ivy@example.com", "Ivy")}) {
			t.Errorf("pushes %+v", got)
		}
		code, reply, _ = e.call(t, "GET", "", "/roster_admin/refresh/", "", nil)
		if code != 400 {
			t.Errorf("GET refresh without a user → %d %+v", code, reply)
		}
	})

	t.Run("failed fetches count as errors and leave the roster as it was", func(t *testing.T) {
		cases := []struct {
			user string
			fail func(http.ResponseWriter, *http.Request)
		}{
			{"e404", status(404)},
			{"e500", status(500)},
			{"einvalid", body(`{"bob@example.com":`)},
			{"earray", body(`[{"bob@example.com":{}}]`)},
			{"estring", body(`"bob@example.com"`)},
			{"ebadgroups", body(`{"bob@example.com":{"groups":"Friends"}}`)},
			// Found by FuzzBackendRoster: each was applied (or, for the
			// control character, applied half way).
			{"egroupsobject", body(`{"bob@example.com":{"groups":{}}}`)},
			{"econtactarray", body(`{"bob@example.com":[]}`)},
			{"emarker", body(`{"__array":[]}`)},
			{"econtrol", body(`{"bob@example.com":{"name":"\u0001"}}`)},
			{"eemptyresource", body(`{"bob@example.com/\u00ad":{}}`)},
			{"eclosed", closeConn},
			{"ehang", hang},
			{"rejected", body(`{}`)},  // rejected by the probe's roster-admin/fetched
			{"exploding", body(`{}`)}, // the probe's handler raises an error
		}
		for _, tc := range cases {
			t.Run(tc.user, func(t *testing.T) {
				e.b.set(tc.user, `{"kept@example.com":{"name":"Kept","groups":["G"]}}`)
				c := e.login(t, tc.user, "r")
				if tc.user != "rejected" && tc.user != "exploding" {
					wantRoster(t, c, item("kept@example.com", "Kept", "G"))
				}
				before := roster(t, c)
				e.b.fail(tc.user, tc.fail)
				start := time.Now()
				r := e.refresh(t, tc.user)
				if r.Status != "error" || r.Updated != 0 || r.Errors != 1 {
					t.Errorf("reply %+v", r)
				}
				if took := time.Since(start); took > fetchTimeout+time.Second {
					t.Errorf("answered after %v", took)
				}
				if got := pushes(c, 100*time.Millisecond); len(got) != 0 {
					t.Errorf("failed refresh pushed %+v", got)
				}
				wantRoster(t, c, before...)
			})
		}
	})

	t.Run("a hanging backend delays a login by the fetch timeout at most", func(t *testing.T) {
		e.b.fail("sam", hang)
		start := time.Now()
		c := e.login(t, "sam", "r")
		if took := time.Since(start); took > fetchTimeout+time.Second {
			t.Errorf("login took %v", took)
		}
		wantRoster(t, c)
	})

	t.Run("a partly failing request is ok with counts", func(t *testing.T) {
		e.b.set("jo", `{}`)
		e.login(t, "jo", "r")
		e.b.set("ken", `{}`)
		e.login(t, "ken", "r")
		e.b.fail("ken", status(500))
		if r := e.refresh(t, "jo", "ken"); r != (refreshReply{"ok", "roster update complete", 1, 1}) {
			t.Errorf("reply %+v", r)
		}
	})

	t.Run("a request outliving its deadline is answered 504 with counts so far", func(t *testing.T) {
		// 60 hanging fetches, 16 at a time, each given up after 1 s: four
		// rounds, so the 3 s deadline passes with the fourth round unfinished.
		var users []string
		for i := range 60 {
			u := fmt.Sprintf("slow%d", i)
			users = append(users, u)
			e.b.set(u, `{}`)
			e.login(t, u, "r")
			e.b.fail(u, hang)
		}
		body, _ := json.Marshal(users)
		start := time.Now()
		code, reply, _ := e.call(t, "POST", "", "/roster_admin/refresh", string(body), nil)
		took := time.Since(start)
		if code != 504 || reply.Status != "error" || reply.Updated != 0 || reply.Errors == 0 || reply.Errors >= len(users) {
			t.Errorf("reply %d %+v", code, reply)
		}
		if took < requestDeadline || took > requestDeadline+time.Second {
			t.Errorf("answered after %v, want about %v", took, requestDeadline)
		}
		time.Sleep(fetchTimeout + 200*time.Millisecond) // let the queue drain before later subtests
	})

	t.Run("added contacts exchange presence with online users", func(t *testing.T) {
		e.b.set("olga", `{}`)
		e.b.set("pat", `{}`)
		olga, pat := e.login(t, "olga", "r"), e.login(t, "pat", "r")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range []*xmpptest.Client{olga, pat} {
			roster(t, c)
			if err := c.SendPresence(ctx, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		olga.Collect(200 * time.Millisecond)
		pat.Collect(0)
		e.b.set("olga", `{"pat@example.com":{"name":"Pat"}}`)
		e.b.set("pat", `{"olga@example.com":{"name":"Olga"}}`)
		if r := e.refresh(t, "olga", "pat"); r.Updated != 2 {
			t.Errorf("reply %+v", r)
		}
		for _, pair := range [][2]*xmpptest.Client{{olga, pat}, {pat, olga}} {
			to, from := pair[0], pair[1]
			if _, err := to.Next(ctx, func(el xmpptest.Element) bool {
				return el.Is("presence", "") && el.Attr("type") == "" && el.Attr("from") == from.JID()
			}); err != nil {
				t.Errorf("%s never saw %s available: %v", to.JID(), from.JID(), err)
			}
		}
		e.b.set("olga", `{}`)
		if r := e.refresh(t, "olga"); r.Updated != 1 {
			t.Errorf("reply %+v", r)
		}
		if _, err := pat.Next(ctx, func(el xmpptest.Element) bool {
			return el.Is("presence", "unavailable") && el.Attr("from") == olga.JID()
		}); err != nil {
			t.Errorf("removed contact never saw olga go: %v", err)
		}
	})

	t.Run("clients cannot set their roster", func(t *testing.T) {
		e.b.set("liz", `{"bob@example.com":{}}`)
		c := e.login(t, "liz", "r")
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
		e.b.set("mia", `{"ned@example.com":{}}`)
		e.b.set("ned", `{"mia@example.com":{}}`)
		mia, ned := e.login(t, "mia", "r"), e.login(t, "ned", "r")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range []*xmpptest.Client{mia, ned} {
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
		for _, got := range ned.Collect(400 * time.Millisecond) {
			if got.Is("presence", "") && got.Attr("type") != "" && got.Attr("type") != "unavailable" {
				t.Errorf("subscription presence reached ned: %v", got)
			}
		}
		wantRoster(t, mia, item("ned@example.com", ""))
		wantRoster(t, ned, item("mia@example.com", ""))
		if err := mia.SendPresence(ctx, "", "ned@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := ned.Next(ctx, func(el xmpptest.Element) bool { return el.Is("presence", "") && el.Attr("from") == mia.JID() }); err != nil {
			t.Errorf("directed available presence blocked: %v", err)
		}

		// Inbound: from another server's entity (here a component), never
		// through ned's own c2s session's pre-presence events.
		comp, err := xmpptest.DialComponent(ctx, xmpptest.ComponentConfig{Addr: e.s.ComponentAddr(), Domain: "comp.example.com", Secret: "compsecret"})
		if err != nil {
			t.Fatal(err)
		}
		defer comp.Close()
		for _, typ := range []string{"subscribe", "subscribed", "unsubscribe", "unsubscribed"} {
			if err := comp.SendRaw(ctx, `<presence type='`+typ+`' from='stranger@comp.example.com' to='ned@example.com'/>`); err != nil {
				t.Fatal(err)
			}
		}
		if err := comp.SendRaw(ctx, `<presence from='stranger@comp.example.com/x' to='`+ned.JID()+`'/>`); err != nil {
			t.Fatal(err)
		}
		got, err := ned.Next(ctx, func(el xmpptest.Element) bool { return el.Is("presence", "") && el.Attr("from") != mia.JID() })
		if err != nil || got.Attr("type") != "" || got.Attr("from") != "stranger@comp.example.com/x" {
			t.Errorf("first presence from the component: %v %v, want only the available one", got, err)
		}
		wantRoster(t, ned, item("mia@example.com", ""))
	})

	t.Run("usernames needing percent-encoding reach the backend as their own path", func(t *testing.T) {
		for user, path := range map[string]string{"a%b": "/contacts/a%25b", "q?x": "/contacts/q%3Fx", "h#y": "/contacts/h%23y", "x+y": "/contacts/x%2By"} {
			c := e.login(t, user, "r")
			roster(t, c)
			hits := e.b.hitsFor(path)
			if len(hits) != 1 {
				t.Errorf("login of %q: backend saw %+v for %s", user, hits, path)
			}
		}
		code, reply, _ := e.call(t, "GET", "", "/roster_admin/refresh/a%25b", "", nil)
		if code != 200 || reply.Updated != 1 || reply.Errors != 0 || len(e.b.hitsFor("/contacts/a%25b")) != 2 {
			t.Errorf("GET refresh of a%%b: %d %+v, hits %+v", code, reply, e.b.hitsFor("/contacts/a"))
		}
	})

	t.Run("roster-admin events let a plugin change and reject fetches, and report updates", func(t *testing.T) {
		e.b.set("hooked", `{"bob@example.com":{"vip":true}}`)
		c := e.login(t, "hooked", "r")
		wantRoster(t, c, item("bob@example.com", "", "VIP"), item("injected@example.com", "Injected", "Hooks"))
		e.b.set("hooked", `{"zed@example.com":{}}`)
		e.refresh(t, "hooked")
		logged, _ := os.ReadFile(filepath.Join(e.s.Dir, "updated.log"))
		if !strings.Contains(string(logged), "hooked@example.com +1 -1 ~0\n") {
			t.Errorf("updated events:\n%s", logged)
		}
	})

	t.Run("refused backend, refresh of offline users and the shared secret", func(t *testing.T) {
		auth := map[string]string{"Authorization": "Bearer " + testSecret}
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong!"}, {"Authorization": testSecret}} {
			code, reply, _ := e.call(t, "POST", refusedHost, "/roster_admin/refresh", `["rita"]`, h)
			if code != 401 || reply.Status != "error" {
				t.Errorf("auth %v → %d %+v", h, code, reply)
			}
		}
		start := time.Now()
		code, reply, _ := e.call(t, "POST", refusedHost, "/roster_admin/refresh", `["rita","rob"]`, auth)
		if code != 200 || reply != (refreshReply{"error", reply.Message, 0, 2}) || time.Since(start) > fetchTimeout+time.Second {
			t.Errorf("refused backend → %d %+v after %v", code, reply, time.Since(start))
		}
	})
}

func TestHTTPFilesInsideProsody(t *testing.T) {
	www := t.TempDir()
	writeFiles(t, www, map[string]string{
		"index.html":        "<h1>home</h1>",
		"notes.txt":         "plain notes",
		"style.css":         "body{}",
		"sub/inner.json":    `{"ok":true}`,
		"../outside/secret": "do not serve",
	})
	s := prosodytest.Start(t, prosodytest.Options{
		HostConfig: fmt.Sprintf("\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n", www),
		// The same folder with listings on and no index files, on a second host.
		Config: fmt.Sprintf("VirtualHost \"list.example.com\"\n\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n\thttp_dir_listing = true\n\thttp_index_files = {}\n", www),
	})
	t.Cleanup(func() { assertNoLuaErrors(t, s) })
	cases := []struct {
		host, path, wantType, wantBody string
		wantCode                       int
	}{
		{"", "/files/notes.txt", "text/plain", "plain notes", 200},
		{"", "/files/style.css", "text/css", "body{}", 200},
		{"", "/files/", "text/html", "<h1>home</h1>", 200},
		{"", "/files/sub/inner.json", "application/json", `{"ok":true}`, 200},
		{"", "/files/missing.txt", "", "", 404},
		{"", "/files/sub", "", "", 301},
		{"", "/files/sub/", "", "", 403},
		{"", "/files/%252e%252e/outside/secret", "", "", 400},
		{"", "/files/sub/%252e%252e/%252e%252e/outside/secret", "", "", 400},
		{"list.example.com", "/files/", "text/html", "", 200},
		{"list.example.com", "/files/sub/", "text/html", "", 200},
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", s.HTTPURL(""), nil)
		req.URL.Opaque = tc.path // sent as written, no client-side cleaning
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode {
			t.Errorf("GET %s → %d, want %d", tc.path, resp.StatusCode, tc.wantCode)
			continue
		}
		if bytes.Contains(got, []byte("do not serve")) {
			t.Errorf("GET %s served a file outside http_files_dir", tc.path)
		}
		if tc.wantCode != 200 {
			continue
		}
		ct := resp.Header.Get("Content-Type")
		if tc.host == "" && (!strings.HasPrefix(ct, tc.wantType) || string(got) != tc.wantBody) {
			t.Errorf("GET %s → %q %q, want %q %q", tc.path, ct, got, tc.wantType, tc.wantBody)
		}
		if tc.host != "" && (!strings.HasPrefix(ct, "text/html") || !listsOnly(string(got), tc.path)) {
			t.Errorf("listing of %s → %q %s", tc.path, ct, got)
		}
	}
}

// listsOnly checks a directory listing names exactly that folder's entries.
func listsOnly(page, path string) bool {
	want := map[string][]string{
		"/files/":     {"index.html", "notes.txt", "style.css", "sub/"},
		"/files/sub/": {"inner.json"},
	}[path]
	for _, name := range want {
		if !strings.Contains(page, `href="`+name+`"`) {
			return false
		}
	}
	return strings.Count(page, "<li>") == len(want)
}

// assertNoLuaErrors fails on any error-level line or traceback in Prosody's
// log: a plugin that throws may still make the visible checks pass.
func assertNoLuaErrors(t *testing.T, s *prosodytest.Server) {
	t.Helper()
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "\terror\t") || strings.Contains(line, "traceback") || strings.Contains(line, "Traceback") {
			t.Errorf("prosody logged: %s", line)
		}
	}
}
