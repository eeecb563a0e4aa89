package rosteradmin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// The roster-admin scenarios (roster_admin_scenarios_test.go) run against two
// targets: mod_http_roster_admin inside a real Prosody 0.12, driven by real
// XMPP clients, and the same file inside modhost standalone, driven by
// host.Runtime's sessions. Both sit behind rosterAdminTarget, so one list of
// scenarios proves the plugin and proves modhost behaves as Prosody does.

// The fetch timeout and request deadline are short so failure cases stay
// fast; the refused host has no backend at all and a shared secret.
const (
	fetchTimeout    = 1 * time.Second
	requestDeadline = 3 * time.Second
	refusedHost     = "refused.example.com"
	offlineHost     = "offline.example.com"
	// loginHost keeps the plugin's default timeouts (fetch 5 s, login 3 s)
	// for the login scenarios' slow web app.
	loginHost = "login.example.com"
	// busyHost refreshes offline users with busySlots fetches at once,
	// a deadline of busyDeadline and at most busyMaxUsers per request.
	busyHost     = "busy.example.com"
	busySlots    = 2
	busyDeadline = 2 * time.Second
	busyMaxUsers = 20
	testSecret   = "s3cret"
	// brokenUser makes the probe plugin raise inside the refresh handler;
	// the error it logs is expected.
	brokenUser = "crash500"
)

// probePlugin customises through the plugin's events and records the
// updates, proving both events fire with what they promise.
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
-- A plugin that breaks what the refresh handler relies on, for one user
-- only: looking up crash500's sessions raises.
setmetatable(prosody.hosts[module.host].sessions, { __index = function (_, username)
	if username == "crash500" then error("session table broken on purpose for crash500"); end
end });
module:hook("roster-admin/updated", function (event)
	local f = assert(io.open(log_path, "a"));
	f:write(string.format("%s@%s +%d -%d ~%d\n", event.username, event.host, #event.added, #event.removed, #event.changed));
	f:close();
end);
`

// rosterAdminTarget is a server running mod_http_roster_admin on example.com
// (backend b, no secret), on refusedHost (a backend that refuses
// connections, a secret, offline refresh on) and on offlineHost (backend b,
// offline refresh on).
type rosterAdminTarget interface {
	backend() *testkit.Backend
	// login logs user@host/resource in (host "" is example.com); the roster
	// is fetched as part of the login, which returns when it is done.
	login(t *testing.T, host, user, resource string) rosterClient
	// addUser creates an account (login creates one too).
	addUser(t *testing.T, host, user string)
	// url is the address of an HTTP path on one of the target's hosts
	// ("" is example.com).
	url(host, path string) string
	// log is everything the target has logged so far.
	log() string
	// updatedLog is what the probe plugin wrote for roster-admin/updated.
	updatedLog() string
	// nextPresence waits for a presence stanza that reaches to's user and
	// matches match. Inside Prosody that is what to's client receives; a
	// standalone modhost has no other users' clients to route presence to,
	// so it is what the plugin handed to the stanza sink addressed to to.
	nextPresence(ctx context.Context, to rosterClient, match func(xmpptest.Element) bool) (xmpptest.Element, error)
	// presencesFor returns the presences that reached to's user within d,
	// by the same rule as nextPresence.
	presencesFor(to rosterClient, d time.Duration) []xmpptest.Element
	// inboundPresence delivers a presence from another server to a local
	// user and reports whether it reached the user.
	inboundPresence(t *testing.T, ctx context.Context, typ, from string, to rosterClient) bool
}

// rosterClient is one logged-in resource. *xmpptest.Client is one; the
// standalone modhost session is adapted to the same methods.
type rosterClient interface {
	JID() string
	Roster(ctx context.Context) ([]xmpptest.RosterItem, error)
	// Collect returns the stanzas (not answers to own IQs) arriving within d.
	Collect(d time.Duration) []xmpptest.Element
	Next(ctx context.Context, match func(xmpptest.Element) bool) (xmpptest.Element, error)
	SendPresence(ctx context.Context, typ, to string) error
	IQ(ctx context.Context, typ, to, payload string) (xmpptest.Element, error)
	// Close logs the resource out.
	Close() error
}

type refreshReply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Updated int    `json:"updated"`
	Errors  int    `json:"errors"`
}

// call sends one HTTP request to the target and decodes its JSON answer.
func call(t *testing.T, tg rosterAdminTarget, method, host, path, body string, header map[string]string) (int, refreshReply, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestDeadline+3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, tg.url(host, path), strings.NewReader(body))
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
			t.Errorf("%s %s answered %d with Content-Type %q: %.200s", method, path, resp.StatusCode, ct, raw)
		} else if err := json.Unmarshal(raw, &reply); err != nil {
			t.Errorf("%s %s answered %d with bad JSON %q: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, reply, resp.Header
}

func refresh(t *testing.T, tg rosterAdminTarget, users ...string) refreshReply {
	t.Helper()
	return refreshOn(t, tg, "", users...)
}

func refreshOn(t *testing.T, tg rosterAdminTarget, host string, users ...string) refreshReply {
	t.Helper()
	body, _ := json.Marshal(users)
	code, reply, _ := call(t, tg, "POST", host, "/roster_admin/refresh", string(body), nil)
	if code != 200 {
		t.Fatalf("refresh %v: status %d %+v", users, code, reply)
	}
	return reply
}

func roster(t *testing.T, c rosterClient) []xmpptest.RosterItem {
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

func wantRoster(t *testing.T, c rosterClient, want ...xmpptest.RosterItem) {
	t.Helper()
	if got := roster(t, c); !sameItems(got, want) {
		t.Errorf("%s roster\n got %+v\nwant %+v", c.JID(), got, normalize(want))
	}
}

// pushes collects the roster pushes a client gets within d.
func pushes(c rosterClient, d time.Duration) []xmpptest.RosterItem {
	var items []xmpptest.RosterItem
	for _, e := range c.Collect(d) {
		if e.Is("iq", "set") {
			items = append(items, xmpptest.RosterItems(e)...)
		}
	}
	return normalize(items)
}

func bareJID(full string) string {
	bare, _, _ := strings.Cut(full, "/")
	return bare
}

// clientView is what a client shows: the roster it was answered, then
// every push that followed within d.
func clientView(t *testing.T, c rosterClient, d time.Duration) []xmpptest.RosterItem {
	t.Helper()
	return normalize(xmpptest.ApplyPushes(roster(t, c), pushes(c, d)))
}
