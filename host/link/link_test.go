package link_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// The link's scenarios run against real Prosody in both roster modes
// (host/link/README.md): delegated (modhost answers clients' roster queries and pushes
// itself) and server-held (the server's mod_roster answers and pushes what
// modhost writes into it).

var bothModes = []component.RosterMode{component.Delegated, component.ServerHeld}

const (
	linkDomain = "example.com"
	linkComp   = "roster.example.com"
	linkSecret = "s3cret"
	// fetchTimeout is http_roster_admin_timeout in these tests: short, so a
	// hanging backend costs one second.
	fetchTimeout = time.Second
)

// logCheck fails the test on any modhost log line at WARN or above that the
// test did not declare as expected: every such line must be understood, as
// plugins/ tests fail on Prosody tracebacks.
type logCheck struct {
	t        *testing.T
	mu       sync.Mutex
	expected []*regexp.Regexp
	lines    []string // WARN and above, as text
	// recent holds the last recentLines lines at every level, printed when
	// the test fails: a rare failure under CI's load is explained by them.
	recent []string
	next   int
}

const recentLines = 400

func newLogCheck(t *testing.T) *logCheck {
	c := &logCheck{t: t}
	t.Cleanup(c.verify)
	return c
}

func (c *logCheck) remember(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recent) < recentLines {
		c.recent = append(c.recent, line)
		return
	}
	c.recent[c.next] = line
	c.next = (c.next + 1) % recentLines
}

// expect declares that lines matching pattern are part of the scenario.
func (c *logCheck) expect(patterns ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range patterns {
		c.expected = append(c.expected, regexp.MustCompile(p))
	}
}

// count is how many WARN-or-above lines so far match pattern.
func (c *logCheck) count(pattern string) int {
	re := regexp.MustCompile(pattern)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, line := range c.lines {
		if re.MatchString(line) {
			n++
		}
	}
	return n
}

func (c *logCheck) verify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range c.lines {
		understood := false
		for _, re := range c.expected {
			if re.MatchString(line) {
				understood = true
				break
			}
		}
		if !understood {
			c.t.Errorf("unexpected modhost log line: %s", line)
		}
	}
	if c.t.Failed() && len(c.recent) > 0 {
		ordered := append(append([]string{}, c.recent[c.next:]...), c.recent[:c.next]...)
		c.t.Logf("modhost's last %d log lines, every level:\n%s", len(ordered), strings.Join(ordered, "\n"))
	}
}

func (c *logCheck) logger() *slog.Logger {
	debug := os.Getenv("MODHOST_TEST_DEBUG") != ""
	return slog.New(&logCheckHandler{c: c, debug: debug})
}

type logCheckHandler struct {
	c     *logCheck
	attrs []slog.Attr
	debug bool
}

func (h *logCheckHandler) Enabled(context.Context, slog.Level) bool {
	return true // debug lines are kept for a failure's report (remember)
}

func (h *logCheckHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := b.String()
	h.c.remember(time.Now().Format("15:04:05.000") + " " + line)
	if h.debug {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), line)
	}
	if r.Level >= slog.LevelWarn {
		h.c.mu.Lock()
		h.c.lines = append(h.c.lines, line)
		h.c.mu.Unlock()
	}
	return nil
}

func (h *logCheckHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logCheckHandler{c: h.c, debug: h.debug, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h *logCheckHandler) WithGroup(string) slog.Handler { return h }

// linkEnv is real Prosody set up for mode, a roster backend, and a modhost
// runtime linked to Prosody with mod_http_roster_admin.
type linkEnv struct {
	t       *testing.T
	mode    component.RosterMode
	s       *prosodytest.Server
	backend *testkit.Backend
	logs    *logCheck
	config  string
	rt      *host.Runtime
	ctx     context.Context
}

// linkSetup adds to modhost's config: Lua inside component_client's table,
// modules besides http_roster_admin, and plugin folders.
type linkSetup struct {
	client      string
	modules     []string
	pluginPaths []string
	// grants adds to the server's privileged_entities entry for modhost.
	grants string
	// withhold removes a line of the snippet (a grant the server then lacks).
	withhold string
	// options are Lua lines added to modhost's VirtualHost section.
	options string
	// withoutRosterAdmin leaves http_roster_admin out of the modules.
	withoutRosterAdmin bool
	// fetchTimeout is http_roster_admin_timeout (default: fetchTimeout).
	fetchTimeout time.Duration
}

func newLinkEnv(t *testing.T, mode component.RosterMode, rosters map[string]string) *linkEnv {
	t.Helper()
	return newLinkEnvWith(t, mode, rosters, linkSetup{})
}

func newLinkEnvWith(t *testing.T, mode component.RosterMode, rosters map[string]string, setup linkSetup) *linkEnv {
	t.Helper()
	prosodytest.Require(t)
	e := &linkEnv{t: t, mode: mode, logs: newLogCheck(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	snippet, err := component.Snippet(component.SnippetOptions{Host: linkDomain, Component: linkComp, Secret: linkSecret, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	// The snippet's global lines (plugin_paths, ports) are the harness's
	// business; from VirtualHost on it is used as printed, which loads
	// modhost's block_subscriptions plugin into Prosody from plugins/.
	if setup.withhold != "" {
		lines := strings.Split(snippet, "\n")
		kept := lines[:0]
		for _, l := range lines {
			if !strings.Contains(l, setup.withhold) {
				kept = append(kept, l)
			}
		}
		snippet = strings.Join(kept, "\n")
	}
	if setup.grants != "" {
		snippet = strings.Replace(snippet, `presence = "managed_entity";`, `presence = "managed_entity"; `+setup.grants, 1)
	}
	e.s = prosodytest.Start(t, prosodytest.Options{
		Host:   linkDomain,
		Users:  map[string]string{"alice": "pw", "bob": "pw", "carol": "pw"},
		Config: snippet[strings.Index(snippet, "VirtualHost"):],
	})
	var url string
	e.backend = testkit.NewBackend(t, rosters)
	url = e.backend.URL()
	var paths, modules []string
	for _, p := range setup.pluginPaths {
		paths = append(paths, fmt.Sprintf("%q", p))
	}
	base := []string{"http_roster_admin"}
	if setup.withoutRosterAdmin {
		base = nil
	}
	for _, m := range append(base, setup.modules...) {
		modules = append(modules, fmt.Sprintf("%q", m))
	}
	e.config = fmt.Sprintf(`
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
plugin_paths = { %s }
VirtualHost %q
	modules_enabled = { %s }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	component_client = { host = "127.0.0.1"; port = %d; jid = %q; secret = %q; %s }
%s
`, strings.Join(paths, "; "), linkDomain, strings.Join(modules, "; "), url, int(cmp.Or(setup.fetchTimeout, fetchTimeout)/time.Second), e.s.ComponentPort, linkComp, linkSecret, setup.client, setup.options)
	e.startModhost()
	return e
}

// startModhost starts a runtime on the env's config and waits until the
// link is online and the server's grants have arrived.
func (e *linkEnv) startModhost() {
	e.t.Helper()
	e.startModhostOffline()
	e.waitLinkOnline()
}

// startModhostOffline starts a runtime on the env's config without waiting
// for its link.
func (e *linkEnv) startModhostOffline() {
	e.t.Helper()
	rt, err := host.New(host.Options{Logger: e.logs.logger(), ConfigName: e.t.TempDir() + "/modhost.cfg.lua", ConfigSource: e.config})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := rt.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { rt.Stop(context.Background()) })
	e.rt = rt
}

func (e *linkEnv) stopModhost() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.Stop(ctx); err != nil {
		e.t.Fatalf("stop: %v", err)
	}
}

func (e *linkEnv) waitLinkOnline() {
	e.t.Helper()
	testkit.Eventually(e.t, 15*time.Second, func() (bool, string) {
		st := e.rt.LinkStates()[linkDomain]
		return st == "online", "link " + st
	})
	time.Sleep(300 * time.Millisecond) // the privilege and delegation advertisements follow the handshake
}

func (e *linkEnv) dial(user, resource string) *xmpptest.Client {
	e.t.Helper()
	c, err := xmpptest.Dial(e.ctx, xmpptest.Config{Addr: e.s.C2SAddr(), Domain: linkDomain, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		e.t.Fatalf("log in %s/%s: %v", user, resource, err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// aliceInSync logs alice/laptop in (her roster from the web app being
// aliceRoster) and waits until her client and the server both show it.
func (e *linkEnv) aliceInSync() *xmpptest.Client {
	e.t.Helper()
	alice := e.online("alice", "laptop", true)
	e.waitClientRoster(alice, aliceLines)
	e.waitServerRoster("alice", aliceLines)
	return alice
}

// online logs a resource in, optionally fetches its roster, and sends
// initial presence, as a client does.
func (e *linkEnv) online(user, resource string, fetchRoster bool) *xmpptest.Client {
	e.t.Helper()
	c := e.dial(user, resource)
	if fetchRoster {
		if _, err := c.Roster(e.ctx); err != nil {
			e.t.Fatalf("roster of %s: %v", c.JID(), err)
		}
	}
	if err := c.SendPresence(e.ctx, "", ""); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *linkEnv) refresh(users string) string {
	e.t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := client.Post(e.rt.HTTPURLs()[0]+"/roster_admin/refresh", "application/json", strings.NewReader(users))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("refresh %s: %d %s", users, resp.StatusCode, b)
	}
	return string(b)
}

// modhostResources lists the resources modhost holds a session for.
func (e *linkEnv) modhostResources(user string) []string {
	e.t.Helper()
	var out []string
	err := e.rt.Loop().Do(e.ctx, func(L *glua.LState) error {
		u, ok := L.GetField(L.GetField(L.GetField(L.GetGlobal("hosts"), linkDomain), "sessions"), user).(*glua.LTable)
		if !ok {
			return nil
		}
		if s, ok := L.GetField(u, "sessions").(*glua.LTable); ok {
			s.ForEach(func(k, _ glua.LValue) { out = append(out, k.String()) })
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// canonical writes roster items one per line, sorted, comparable across
// sources: "jid name=… sub=… groups=a,b".
func canonical(items []xmpptest.RosterItem) string {
	var lines []string
	for _, it := range items {
		g := append([]string{}, it.Groups...)
		sort.Strings(g)
		line := fmt.Sprintf("%s name=%s sub=%s groups=%s", it.JID, it.Name, it.Subscription, strings.Join(g, ","))
		if it.Ask != "" {
			line += " ask=" + it.Ask
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// serverRoster reads user's roster as Prosody stored it (internal storage:
// a Lua data file), so the server's side is checked without going through
// modhost.
func (e *linkEnv) serverRoster(user string) string {
	e.t.Helper()
	path := filepath.Join(e.s.DataPath, "example%2ecom", "roster", user+".dat")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return ""
	}
	L := glua.NewState()
	defer L.Close()
	if err := L.DoFile(path); err != nil {
		e.t.Fatalf("read %s: %v", path, err)
	}
	roster, _ := L.Get(-1).(*glua.LTable)
	return canonical(luaRosterItems(L, roster))
}

// luaRosterItems reads a roster table in Prosody's shape (contact JID →
// { subscription, name, ask, groups = set }), skipping other keys.
func luaRosterItems(L *glua.LState, roster *glua.LTable) []xmpptest.RosterItem {
	var items []xmpptest.RosterItem
	if roster == nil {
		return nil
	}
	roster.ForEach(func(k, v glua.LValue) {
		jid, ok := k.(glua.LString)
		t, isTable := v.(*glua.LTable)
		if !ok || !isTable {
			return
		}
		it := xmpptest.RosterItem{JID: string(jid), Subscription: L.GetField(t, "subscription").String()}
		if n, ok := L.GetField(t, "name").(glua.LString); ok {
			it.Name = string(n)
		}
		if a, ok := L.GetField(t, "ask").(glua.LString); ok {
			it.Ask = string(a)
		}
		if g, ok := L.GetField(t, "groups").(*glua.LTable); ok {
			g.ForEach(func(k, _ glua.LValue) { it.Groups = append(it.Groups, k.String()) })
		}
		items = append(items, it)
	})
	return items
}

// waitServerRoster waits until the server holds want for user.
func (e *linkEnv) waitServerRoster(user, want string) {
	e.t.Helper()
	testkit.Eventually(e.t, 10*time.Second, func() (bool, string) {
		got := e.serverRoster(user)
		return got == want, "server's roster of " + user + ":\n" + got + "\nwant:\n" + want
	})
}

// waitClientRoster waits until c's roster query answers want. In
// delegated mode modhost answers; in server-held mode the server does,
// from what modhost wrote.
func (e *linkEnv) waitClientRoster(c *xmpptest.Client, want string) {
	e.t.Helper()
	testkit.Eventually(e.t, 10*time.Second, func() (bool, string) {
		items, err := c.Roster(e.ctx)
		if err != nil {
			return false, err.Error()
		}
		got := canonical(items)
		return got == want, "roster of " + c.JID() + ":\n" + got + "\nwant:\n" + want
	})
}

func isPush(e xmpptest.Element) bool {
	_, ok := e.Child("query", xmpptest.NSRoster)
	return e.Is("iq", "set") && ok
}

// waitPushes reads pushes on c until the last push of each wanted contact
// is the wanted line (subscription "remove" for removals).
func (e *linkEnv) waitPushes(c *xmpptest.Client, want map[string]string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	last := map[string]string{}
	done := func() bool {
		for jid, w := range want {
			if last[jid] != w {
				return false
			}
		}
		return true
	}
	for !done() {
		push, err := c.Next(ctx, isPush)
		if err != nil {
			e.t.Fatalf("pushes to %s so far %v, want %v: %v", c.JID(), last, want, err)
		}
		if from := push.Attr("from"); from != "" && from != c.Bare() {
			e.t.Errorf("push from %q, want the user's bare JID", from)
		}
		for _, it := range xmpptest.RosterItems(push) {
			last[it.JID] = canonical([]xmpptest.RosterItem{it})
		}
	}
}

// noPushes asserts c receives no roster push within d.
func noPushes(t *testing.T, c *xmpptest.Client, d time.Duration) {
	t.Helper()
	for _, e := range c.Collect(d) {
		if isPush(e) {
			t.Errorf("%s got a roster push it never asked for: %s", c.JID(), e)
		}
	}
}

func line(jid, name, sub string, groups ...string) string {
	return canonical([]xmpptest.RosterItem{{JID: jid, Name: name, Subscription: sub, Groups: groups}})
}

func lines(ls ...string) string {
	sort.Strings(ls)
	return strings.Join(ls, "\n")
}

const aliceRoster = `{"bob@example.com":{"name":"Bob","groups":["Friends","Work"]},"carol@example.com":{}}`

var aliceLines = lines(
	line("bob@example.com", "Bob", "both", "Friends", "Work"),
	line("carol@example.com", "", "both"),
)

func forBothModes(t *testing.T, f func(t *testing.T, mode component.RosterMode)) {
	for _, mode := range bothModes {
		t.Run(mode.String(), func(t *testing.T) { f(t, mode) })
	}
}

// 1. The roster a client sees at login, and the server's copy, are the
// backend's.
func TestLinkLoginRosterEqualsTheBackend(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		alice := e.dial("alice", "laptop")
		if mode == component.Delegated {
			// modhost answers the very first query, after fetching.
			items, err := alice.Roster(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := canonical(items); got != aliceLines {
				t.Fatalf("first roster:\n%s\nwant:\n%s", got, aliceLines)
			}
		} else {
			// The server answers the first query from what it holds; modhost
			// writes the backend's roster when it sees the presence.
			if _, err := alice.Roster(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := alice.SendPresence(e.ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		e.waitClientRoster(alice, aliceLines)
		e.waitServerRoster("alice", aliceLines)
	})
}

// 2. A refresh pushes additions, removals, renames and regroupings to
// every resource that asked for its roster, and to no other.
func TestLinkRefreshPushesEveryChangeToEveryInterestedResource(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{
			"alice": `{"bob@example.com":{"name":"Bob","groups":["Friends"]},"carol@example.com":{"name":"Carol","groups":["Work"]},"dave@example.com":{"name":"Dave"}}`,
		})
		laptop := e.online("alice", "laptop", true)
		e.waitClientRoster(laptop, lines(
			line("bob@example.com", "Bob", "both", "Friends"),
			line("carol@example.com", "Carol", "both", "Work"),
			line("dave@example.com", "Dave", "both")))
		phone := e.online("alice", "phone", true)
		watch := e.online("alice", "watch", false) // never asks for its roster
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			got := e.modhostResources("alice")
			return len(got) == 3, fmt.Sprintf("modhost's sessions of alice: %v", got)
		})
		laptop.Drain()
		phone.Drain()

		// bob renamed, carol regrouped, dave removed, erin added.
		e.backend.Set("alice", `{"bob@example.com":{"name":"Robert","groups":["Friends"]},"carol@example.com":{"name":"Carol","groups":["Home","Work"]},"erin@example.com":{"name":"Erin"}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		want := map[string]string{
			"bob@example.com":   line("bob@example.com", "Robert", "both", "Friends"),
			"carol@example.com": line("carol@example.com", "Carol", "both", "Home", "Work"),
			"dave@example.com":  line("dave@example.com", "", "remove"),
			"erin@example.com":  line("erin@example.com", "Erin", "both"),
		}
		e.waitPushes(laptop, want)
		e.waitPushes(phone, want)
		noPushes(t, watch, 300*time.Millisecond)
		final := lines(want["bob@example.com"], want["carol@example.com"], want["erin@example.com"])
		e.waitClientRoster(phone, final)
		e.waitServerRoster("alice", final)
	})
}

// 2b. Groups in the shape the original module reads (an object's keys,
// whatever the values; {} is none) reach the client and the server's roster
// at login and as regroup pushes.
func TestLinkGroupsAsObjectsAtLoginAndRefresh(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{
			"alice": `{"bob@example.com":{"name":"Bob","groups":{"Friends":true,"Work":true}},"carol@example.com":{"groups":{}}}`,
		})
		laptop := e.online("alice", "laptop", true)
		e.waitClientRoster(laptop, aliceLines)
		e.waitServerRoster("alice", aliceLines)
		laptop.Drain()
		e.backend.Set("alice", `{"bob@example.com":{"name":"Bob","groups":{"Work":1}},"carol@example.com":{"groups":{"Family":true}}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		want := map[string]string{
			"bob@example.com":   line("bob@example.com", "Bob", "both", "Work"),
			"carol@example.com": line("carol@example.com", "", "both", "Family"),
		}
		e.waitPushes(laptop, want)
		final := lines(want["bob@example.com"], want["carol@example.com"])
		e.waitClientRoster(laptop, final)
		e.waitServerRoster("alice", final)
	})
}

// 3. With a link, offline users are refreshed too (on by default): the
// server's roster follows at once, and the next login sees it even if the
// backend is down by then.
func TestLinkOfflineRefreshReachesTheNextLogin(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		first := e.online("alice", "laptop", true)
		e.waitServerRoster("alice", aliceLines)
		first.Close()
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			got := e.modhostResources("alice")
			return len(got) == 0, fmt.Sprintf("modhost's sessions of alice: %v", got)
		})

		e.backend.Set("alice", `{"carol@example.com":{"name":"Carol","groups":["Work"]},"dave@example.com":{}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		want := lines(line("carol@example.com", "Carol", "both", "Work"), line("dave@example.com", "", "both"))
		e.waitServerRoster("alice", want)

		// A new runtime knows nothing of alice's roster (memory storage): the
		// refresh compares with what the server holds, so removals still
		// reach it.
		e.stopModhost()
		e.startModhost()
		e.backend.Set("alice", `{"dave@example.com":{"name":"Dave"}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		want = line("dave@example.com", "Dave", "both")
		e.waitServerRoster("alice", want)

		// The backend is down at the next login: what the offline refresh
		// wrote is what the user gets.
		e.backend.Fail("alice", testkit.Status(500))
		e.logs.expect(`Roster of alice not fetched at login`)
		again := e.online("alice", "phone", true)
		e.waitClientRoster(again, want)
	})
}

// 4. Clients cannot edit the roster the backend owns. Delegated: modhost
// refuses the set. Server-held: the server's mod_roster stores it (modhost
// never sees it) with subscription none, so no presence flows; it is gone
// at the user's next login, when modhost writes the backend's roster over
// the server's.
func TestLinkClientRosterSet(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		alice := e.online("alice", "laptop", true)
		e.waitServerRoster("alice", aliceLines)
		res, err := alice.IQ(e.ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='mallory@example.com' name='Mallory'/></query>`)
		if err != nil {
			t.Fatal(err)
		}
		if mode == component.Delegated {
			if !res.Is("iq", "error") || !strings.Contains(res.String(), "service-unavailable") || !strings.Contains(res.String(), "cancel") {
				t.Fatalf("roster set answered %s", res)
			}
			time.Sleep(200 * time.Millisecond)
			if got := e.serverRoster("alice"); got != aliceLines {
				t.Fatalf("server's roster changed by a refused set:\n%s", got)
			}
			return
		}
		if !res.Is("iq", "result") {
			t.Fatalf("server-held: the server's mod_roster answered %s", res)
		}
		stray := line("mallory@example.com", "Mallory", "none")
		e.waitServerRoster("alice", lines(append(strings.Split(aliceLines, "\n"), stray)...))
		alice.Close()
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			got := e.modhostResources("alice")
			return len(got) == 0, fmt.Sprintf("modhost's sessions of alice: %v", got)
		})
		e.online("alice", "phone", false)
		e.waitServerRoster("alice", aliceLines)
	})
}

// 5. Subscription presences never reach the other user and change no
// stored subscription: the server runs modhost's block_subscriptions.
func TestLinkSubscriptionRequestsAreBlocked(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster, "bob": `{}`})
		alice := e.online("alice", "laptop", true)
		e.waitServerRoster("alice", aliceLines)
		bob := e.online("bob", "desk", true)
		e.waitServerRoster("bob", "")
		alice.Drain()
		for _, typ := range []string{"subscribe", "subscribed", "unsubscribe", "unsubscribed"} {
			if err := bob.SendPresence(e.ctx, typ, "alice@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range alice.Collect(700 * time.Millisecond) {
			if st.Name() == "presence" && st.Attr("type") != "" && st.Attr("type") != "unavailable" && st.Attr("type") != "error" {
				t.Errorf("alice received %s", st)
			}
			if isPush(st) {
				t.Errorf("alice's roster changed: %s", st)
			}
		}
		if got := e.serverRoster("alice"); got != aliceLines {
			t.Errorf("alice's stored roster changed:\n%s", got)
		}
		if got := e.serverRoster("bob"); got != "" {
			t.Errorf("bob's stored roster changed:\n%s", got)
		}
	})
}

// 6. A failed fetch leaves the roster as it was, on the client and in the
// server's roster.
func TestLinkBackendFailureLeavesTheRosterIntact(t *testing.T) {
	failures := []struct {
		name string
		f    testkit.Answer
	}{{"500", testkit.Status(500)}, {"hang", testkit.Hang}, {"invalid JSON", testkit.InvalidJSON}}
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		e.logs.expect(`Roster of alice not refreshed`)
		alice := e.aliceInSync()
		for _, tc := range failures {
			t.Run(tc.name, func(t *testing.T) {
				alice.Drain()
				e.backend.Set("alice", `{"mallory@example.com":{"name":"Mallory"}}`)
				e.backend.Fail("alice", tc.f)
				if got := e.refresh(`["alice"]`); !strings.Contains(got, `"errors":1`) || !strings.Contains(got, `"status":"error"`) {
					t.Fatalf("refresh answered %s", got)
				}
				noPushes(t, alice, 200*time.Millisecond)
				items, err := alice.Roster(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := canonical(items); got != aliceLines {
					t.Errorf("client's roster:\n%s", got)
				}
				if got := e.serverRoster("alice"); got != aliceLines {
					t.Errorf("server's roster:\n%s", got)
				}
			})
		}
	})
}

// 7. Prosody restarts under modhost: the link comes back by itself, who is
// online is rebuilt from the server's presence replay, and refreshes and
// logins work again.
func TestLinkSurvivesAProsodyRestart(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster, "bob": `{"alice@example.com":{"name":"Alice"}}`})
		e.logs.expect(`component link down, retrying`)
		alice := e.online("alice", "laptop", true)
		e.waitServerRoster("alice", aliceLines)
		if err := e.s.Restart(); err != nil {
			t.Fatal(err)
		}
		alice.Close()
		// bob logs in while the link is still down (its first retry waits at
		// least half a second): modhost learns of him from the replay.
		bob := e.dial("bob", "desk")
		if err := bob.SendPresence(e.ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		e.waitLinkOnline()
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			a, b := e.modhostResources("alice"), e.modhostResources("bob")
			return len(a) == 0 && len(b) == 1 && b[0] == "desk", fmt.Sprintf("modhost's sessions: alice %v, bob %v", a, b)
		})
		e.waitServerRoster("bob", line("alice@example.com", "Alice", "both"))

		alice = e.online("alice", "phone", true)
		e.waitClientRoster(alice, aliceLines)
		alice.Drain()
		e.backend.Set("alice", `{"bob@example.com":{"name":"Bobby","groups":["Friends"]}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		e.waitPushes(alice, map[string]string{
			"bob@example.com":   line("bob@example.com", "Bobby", "both", "Friends"),
			"carol@example.com": line("carol@example.com", "", "remove"),
		})
		e.waitServerRoster("alice", line("bob@example.com", "Bobby", "both", "Friends"))
	})
}

// 8. modhost restarts under Prosody: the new runtime rebuilds who is online
// from the presence replay, and clients that stayed online keep getting
// pushes.
func TestLinkSurvivesAModhostRestart(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		alice := e.aliceInSync()
		e.stopModhost()
		e.startModhost()
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			got := e.modhostResources("alice")
			return len(got) == 1 && got[0] == "laptop", fmt.Sprintf("modhost's sessions of alice: %v", got)
		})
		alice.Drain()
		e.backend.Set("alice", `{"bob@example.com":{"name":"Bob","groups":["Friends"]},"dave@example.com":{"name":"Dave"}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		e.waitPushes(alice, map[string]string{
			"bob@example.com":   line("bob@example.com", "Bob", "both", "Friends"),
			"carol@example.com": line("carol@example.com", "", "remove"),
			"dave@example.com":  line("dave@example.com", "Dave", "both"),
		})
		e.waitServerRoster("alice", lines(line("bob@example.com", "Bob", "both", "Friends"), line("dave@example.com", "Dave", "both")))
	})
}

// unansweringPlugin takes roster queries carrying a test marker and never
// answers them: one it swallows, one it fails on.
const unansweringPlugin = `
module:hook("iq-get/self/jabber:iq:roster:query", function (event)
	local query = event.stanza.tags[1]
	if query:get_child("swallow", "urn:test") then return true end
	if query:get_child("explode", "urn:test") then error("plugin failure on purpose") end
end, 100)
`

// 9. Delegated IQs are always answered, never from another user's roster.
func TestLinkDelegatedIQsAreAlwaysAnswered(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_unanswering.lua"), []byte(unansweringPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newLinkEnvWith(t, component.Delegated, map[string]string{"alice": aliceRoster, "bob": `{"carol@example.com":{"name":"Secret"}}`},
		linkSetup{client: "delegation_timeout = 1", modules: []string{"unanswering"}, pluginPaths: []string{dir}})
	e.logs.expect(`error while processing a stanza.*plugin failure on purpose`)
	alice := e.online("alice", "laptop", true)
	e.online("bob", "desk", true)
	cases := []struct {
		name, typ, to, payload, want string
	}{
		{"another user's roster", "get", "bob@example.com", `<query xmlns='jabber:iq:roster'/>`, "forbidden"},
		{"another user's roster set", "set", "bob@example.com", `<query xmlns='jabber:iq:roster'><item jid='x@example.com'/></query>`, "forbidden"},
		{"an element no plugin handles", "get", "", `<item xmlns='jabber:iq:roster'/>`, "service-unavailable"},
		{"a query a plugin swallows", "get", "", `<query xmlns='jabber:iq:roster'><swallow xmlns='urn:test'/></query>`, "remote-server-timeout"},
		{"a query a plugin fails on", "get", "", `<query xmlns='jabber:iq:roster'><explode xmlns='urn:test'/></query>`, "remote-server-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			defer cancel()
			res, err := alice.IQ(ctx, tc.typ, tc.to, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Is("iq", "error") || !strings.Contains(res.String(), tc.want) || strings.Contains(res.String(), "Secret") {
				t.Fatalf("answered %s, want an error %s", res, tc.want)
			}
		})
	}
}

// Stopping a linked runtime ends every goroutine it started.
func TestLinkStopLeaksNoGoroutines(t *testing.T) {
	prosodytest.Require(t)
	e := newLinkEnv(t, component.Delegated, map[string]string{"alice": aliceRoster})
	e.stopModhost()
	time.Sleep(200 * time.Millisecond)
	before := runtime.NumGoroutine()
	e.startModhost()
	alice := e.online("alice", "laptop", true)
	e.waitServerRoster("alice", aliceLines)
	e.backend.Set("alice", `{}`)
	e.refresh(`["alice"]`)
	e.waitServerRoster("alice", "")
	alice.Close()
	e.stopModhost()
	waitGoroutinesBackTo(t, before)
}

// waitGoroutinesBackTo waits until no more than two goroutines (the test's
// own helpers) run beyond before, and fails with every stack if that does
// not happen within five seconds.
func waitGoroutinesBackTo(t *testing.T, before int) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			return true, ""
		}
		buf := make([]byte, 1<<16)
		return false, fmt.Sprintf("%d goroutines after Stop, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	})
}

func TestLinkSendsUsersMessagesWithTheMessagePrivilege(t *testing.T) {
	dir := t.TempDir()
	plugin := `module:hook("test/say", function (event)
	module:send(require "util.stanza".message({ from = event.from, to = event.to, type = "chat" }):body(event.body));
	return true;
end);
module:hook("test/presence-as-user", function (event)
	module:send(require "util.stanza".presence({ from = event.from, to = event.to }));
	return true;
end);`
	if err := os.WriteFile(dir+"/mod_say.lua", []byte(plugin), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newLinkEnvWith(t, component.Delegated, map[string]string{}, linkSetup{
		modules: []string{"say"}, pluginPaths: []string{dir}, grants: `message = "outgoing";`})
	bob := e.online("bob", "phone", false)
	// Presence on a user's behalf cannot be sent by a component (the server
	// would end the stream with invalid-from): it is dropped, and the link
	// stays up for what follows.
	if _, err := e.rt.FireEvent(e.ctx, linkDomain, "test/presence-as-user", map[string]any{"from": "alice@example.com", "to": "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.FireEvent(e.ctx, linkDomain, "test/say", map[string]any{"from": "alice@example.com", "to": "bob@example.com", "body": "hello from alice"}); err != nil {
		t.Fatal(err)
	}
	msg, err := bob.Next(e.ctx, func(el xmpptest.Element) bool {
		return el.Name() == "message" && strings.Contains(el.String(), "hello from alice")
	})
	if err != nil {
		t.Fatalf("no message: %v\n%s", err, e.s.Log())
	}
	if from := msg.Attr("from"); from != "alice@example.com" {
		t.Errorf("message from %q, want alice's bare JID", from)
	}
	if st := e.rt.LinkStates()[linkDomain]; st != "online" {
		t.Errorf("link %s after the dropped presence", st)
	}
}

// A server that did not grant the roster permission: modhost says at connect
// which server option grants it, and refreshes are still answered and pushed
// (only the mirror into the server's roster is missing).
func TestLinkMissingRosterGrantIsNamedAndRefreshesGoOn(t *testing.T) {
	e := newLinkEnvWith(t, component.Delegated, map[string]string{
		"alice": `{"bob@example.com":{"name":"Bob"}}`,
	}, linkSetup{withhold: `roster = "both";`})
	e.logs.expect(`no roster write permission: .*roster = "both"`)
	alice := e.online("alice", "laptop", true)
	e.backend.Set("alice", `{"bob@example.com":{"name":"Bobby"}}`)
	if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
		t.Fatalf("refresh answered %s", got)
	}
	e.waitPushes(alice, map[string]string{"bob@example.com": "bob@example.com name=Bobby sub=both groups="})
	found := false
	e.logs.mu.Lock()
	for _, l := range e.logs.lines {
		if strings.Contains(l, "no roster write permission") {
			found = true
		}
	}
	e.logs.mu.Unlock()
	if !found {
		t.Error("the missing grant was not logged at connect")
	}
}

// originalStylePlugin is written the way plugins made for Prosody alone
// often are: it writes session.roster itself (no rostermanager, so no
// roster-saved), builds pushes with util.stanza and sends them with
// session.send, and refuses clients' roster sets.
const originalStylePlugin = `
local st = require "util.stanza";

local function push(session, jid, item)
	local query = st.iq({ type = "set", id = "push-" .. jid }):tag("query", { xmlns = "jabber:iq:roster" });
	local attr = { jid = jid, subscription = item and item.subscription or "remove", name = item and item.name };
	query:tag("item", attr);
	for group in pairs(item and item.groups or {}) do query:tag("group"):text(group):up(); end
	session.send(query);
end

-- Alice and Bob have each other, as a web app would say.
local contacts = {
	alice = { jid = "bob@example.com", name = "Bob", group = "Friends" };
	bob = { jid = "alice@example.com", name = "Alice", group = "Friends" };
};

module:hook("resource-bind", function (event)
	local roster, contact = event.session.roster, contacts[event.session.username];
	if contact then
		roster[contact.jid] = { subscription = "both", name = contact.name, groups = { [contact.group] = true } };
	end
end);

module:hook("iq-set/self/jabber:iq:roster:query", function (event)
	event.origin.send(st.error_reply(event.stanza, "cancel", "not-allowed", "contacts are managed elsewhere"));
	return true;
end, 10);

module:hook("test/add-contact", function (event)
	local user = prosody.hosts[module.host].sessions[event.user];
	for _, session in pairs(user and user.sessions or {}) do
		local item = { subscription = "both", name = event.name, groups = { [event.group] = true } };
		session.roster[event.jid] = item;
		push(session, event.jid, item);
	end
	return true;
end);
`

// 6. What an unmodified plugin tells a client reaches the server's roster,
// whatever API it used: the roster answered at login (written into
// session.roster directly) and the pushes it sends itself.
func TestLinkMirrorsWhatAnOriginalStylePluginTellsClients(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "mod_original_style.lua"), []byte(originalStylePlugin), 0o644); err != nil {
			t.Fatal(err)
		}
		e := newLinkEnvWith(t, mode, map[string]string{}, linkSetup{
			withoutRosterAdmin: true, modules: []string{"original_style"}, pluginPaths: []string{dir},
		})
		bob := e.online("bob", "desk", true)
		e.waitServerRoster("bob", line("alice@example.com", "Alice", "both", "Friends"))
		bob.Drain()

		// Presence both ways: the server routes it by the rosters modhost
		// wrote. seen are stanzas c already read.
		available := func(from string) func(xmpptest.Element) bool {
			return func(el xmpptest.Element) bool {
				f := el.Attr("from")
				return el.Name() == "presence" && el.Attr("type") == "" && (f == from || strings.HasPrefix(f, from+"/"))
			}
		}
		next := func(c *xmpptest.Client, seen []xmpptest.Element, from string) error {
			if slices.ContainsFunc(seen, available(from)) {
				return nil
			}
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			defer cancel()
			_, err := c.Next(ctx, available(from))
			return err
		}
		seeEachOther := func(c *xmpptest.Client, seen []xmpptest.Element) {
			t.Helper()
			if err := next(bob, nil, c.JID()); err != nil {
				t.Errorf("bob never saw %s come online: %v", c.JID(), err)
			}
			if err := next(c, seen, "bob@example.com"); err != nil {
				t.Errorf("%s never saw bob's presence: %v", c.JID(), err)
			}
		}

		// A client asks for its roster, then sends its initial presence.
		alice := e.dial("alice", "laptop")
		first, err := alice.Roster(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.SendPresence(e.ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		bobLines := lines(line("bob@example.com", "Bob", "both", "Friends"))
		seen := e.waitView(alice, first, bobLines, 10*time.Second)
		e.waitServerRoster("alice", bobLines)
		if mode == component.Delegated {
			// modhost answers the roster query and writes what it told
			// before the answer, so the initial presence finds the contact.
			// (Server-held: the server answers, and modhost learns of the
			// login from that presence, after it was routed.)
			seeEachOther(alice, seen)
		}
		phone := e.online("alice", "phone", true)
		seeEachOther(phone, nil)
		phone.Close()

		alice.Drain()
		if _, err := e.rt.FireEvent(e.ctx, linkDomain, "test/add-contact", map[string]any{"user": "alice", "jid": "carol@example.com", "name": "Carol", "group": "Work"}); err != nil {
			t.Fatal(err)
		}
		carol := line("carol@example.com", "Carol", "both", "Work")
		e.waitPushes(alice, map[string]string{"carol@example.com": carol})
		withCarol := lines(line("bob@example.com", "Bob", "both", "Friends"), carol)
		e.waitServerRoster("alice", withCarol)

		// A client's own roster set: delegated, the plugin refuses it and
		// nothing changes; server-held, the server's mod_roster answers and
		// stores it with subscription none, so no presence flows (see
		// TestLinkClientRosterSet).
		answer, err := alice.IQ(e.ctx, "set", "", `<query xmlns="jabber:iq:roster"><item jid="mallory@example.com"/></query>`)
		if err != nil {
			t.Fatal(err)
		}
		if mode == component.ServerHeld {
			e.waitServerRoster("alice", lines(line("bob@example.com", "Bob", "both", "Friends"), carol, line("mallory@example.com", "", "none")))
			return
		}
		if !answer.Is("iq", "error") {
			t.Errorf("a client's roster set was accepted: %+v", answer)
		}
		time.Sleep(300 * time.Millisecond)
		e.waitServerRoster("alice", withCarol)
		e.waitClientRoster(alice, withCarol)
	})
}

// 7. A second resource logging in while its user's fetch is slow (1.5 s),
// after a change the web app never notified, ends with the web app's
// roster: what it was first answered plus the pushes that follow, in both
// modes; the first resource gets the differences as pushes.
func TestLinkSecondResourceLoginDuringASlowFetchEndsWithTheNewRoster(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnvWith(t, mode, map[string]string{"alice": aliceRoster}, linkSetup{fetchTimeout: 5 * time.Second})
		laptop := e.online("alice", "laptop", true)
		e.waitClientRoster(laptop, aliceLines)
		e.waitServerRoster("alice", aliceLines)
		laptop.Drain()
		time.Sleep(1200 * time.Millisecond)                                                                          // past the window in which a login shares a fetch just back
		e.backend.Set("alice", `{"bob@example.com":{"name":"Robert","groups":{"Work":true}},"dave@example.com":{}}`) // not notified
		e.backend.SetDelay(1500 * time.Millisecond)
		phone := e.dial("alice", "phone")
		first, err := phone.Roster(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := phone.SendPresence(e.ctx, "", ""); err != nil {
			t.Fatal(err)
		}
		want := lines(line("bob@example.com", "Robert", "both", "Work"), line("dave@example.com", "", "both"))
		e.waitView(phone, first, want, 10*time.Second)
		e.waitPushes(laptop, map[string]string{
			"bob@example.com":   line("bob@example.com", "Robert", "both", "Work"),
			"carol@example.com": line("carol@example.com", "", "remove"),
			"dave@example.com":  line("dave@example.com", "", "both"),
		})
		e.waitServerRoster("alice", want)
	})
}

// Roster versioning (XEP-0237) the same whoever answers: Prosody's
// mod_roster with the server's roster, modhost with the delegated query.
// A full result carries ver; a get with that ver is answered with an
// empty result; an old one gets the whole roster; a push carries the
// version it made.
func TestLinkRosterVersioningAnswersAsProsodysModRoster(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		e := newLinkEnv(t, mode, map[string]string{"alice": aliceRoster})
		alice := e.aliceInSync()
		get := func(ver string) xmpptest.Element {
			t.Helper()
			verAttr := ""
			if ver != "" {
				verAttr = ` ver='` + ver + `'`
			}
			res, err := alice.IQ(e.ctx, "get", "", `<query xmlns='jabber:iq:roster'`+verAttr+`/>`)
			if err != nil || res.Attr("type") != "result" {
				t.Fatalf("get with ver %q: %v, %v", ver, res, err)
			}
			return res
		}
		verOf := func(res xmpptest.Element) (string, bool) {
			q, ok := res.Child("query", xmpptest.NSRoster)
			if !ok {
				return "", false
			}
			return q.Attr("ver"), true
		}
		v, ok := verOf(get(""))
		if !ok || v == "" {
			t.Fatalf("a get without ver: query %v, ver %q; want the roster with its ver", ok, v)
		}
		if _, ok := verOf(get(v)); ok {
			t.Errorf("a get with the current ver %s was answered with the roster, want an empty result", v)
		}
		if got, ok := verOf(get("0")); !ok || got != v {
			t.Errorf("a get with ver 0: query %v, ver %q; want the roster at %s", ok, got, v)
		}

		alice.Drain()
		e.backend.Set("alice", `{"bob@example.com":{"name":"Robert","groups":["Friends","Work"]},"carol@example.com":{}}`)
		if got := e.refresh(`["alice"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		push, err := alice.Next(e.ctx, func(el xmpptest.Element) bool {
			return el.Name() == "iq" && el.Attr("type") == "set" && len(xmpptest.RosterItems(el)) == 1
		})
		if err != nil {
			t.Fatal(err)
		}
		pushed, _ := verOf(push)
		if pushed == "" || pushed == v {
			t.Fatalf("push %v: ver %q, want a new one (was %s)", push, pushed, v)
		}
		testkit.Eventually(t, 5*time.Second, func() (bool, string) {
			got, ok := verOf(get(v))
			return ok && got == pushed, fmt.Sprintf("a get with the old ver %s: query %v, ver %q; want the roster at %s", v, ok, got, pushed)
		})
		if _, ok := verOf(get(pushed)); ok {
			t.Errorf("a get with the pushed ver %s was answered with the roster, want an empty result", pushed)
		}
	})
}
