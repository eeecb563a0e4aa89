package link_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
	"github.com/modhost/modhost/internal/ejabberdtest"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/internal/xmpptest"
)

// The link against Debian's ejabberd 23.01, server-held, rosters written
// through its admin API (ejabberd_api). One ejabberd and one modhost serve
// every subtest of a test; each subtest has users of its own.

// ejabberdPrivileges is the snippet's mod_privilege part: presence tells
// modhost who logs in; the API carries rosters.
const ejabberdPrivileges = `
acl:
  modhost:
    server: "roster.example.com"
access_rules:
  modhost:
    allow: modhost
modules:
  mod_privilege:
    roster:
      both: modhost
    presence:
      managed_entity: modhost
`

func delegation(on bool) string {
	if !on {
		return ""
	}
	return `
  mod_delegation:
    namespaces:
      "jabber:iq:roster":
        access: modhost
`
}

// ejabberdEnv is ejabberd, a backend, and modhost linked to ejabberd: the
// embedded linkEnv runs modhost (its Prosody is unused).
type ejabberdEnv struct {
	*linkEnv
	ej  *ejabberdtest.Server
	api *ejabberdapi.Client
}

// ejabberdSetup says how ejabberd and modhost are set up.
type ejabberdSetup struct {
	api           string // Lua inside modhost's ejabberd_api table
	noAPI         bool   // no ejabberd_api: XEP-0356 only
	rosterOptions string // mod_roster's options
	yaml          string // added to ejabberd's config
	delegated     bool   // jabber:iq:roster delegated to modhost
	// apiURL, when set, gives the URL modhost is told ejabberd's API is at
	// (a proxy in front of it) from the real one.
	apiURL func(real string) string
	// resyncDelay is component_client's resync_delay (default 1 s).
	resyncDelay int
}

// newEjabberdEnv starts ejabberd with users, a backend and modhost linked to
// it with ejabberd_api; api is Lua added inside ejabberd_api's table.
func newEjabberdEnv(t *testing.T, users []string, api string) *ejabberdEnv {
	t.Helper()
	return newEjabberdEnvWith(t, users, ejabberdSetup{api: api})
}

func newEjabberdEnvWith(t *testing.T, users []string, setup ejabberdSetup) *ejabberdEnv {
	t.Helper()
	accounts := map[string]string{}
	for _, u := range users {
		accounts[u] = "pw"
	}
	e := &ejabberdEnv{linkEnv: &linkEnv{t: t, logs: newLogCheck(t)}}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	e.ej = ejabberdtest.Start(t, ejabberdtest.Options{Host: linkDomain, Users: accounts,
		Components: map[string]string{linkComp: linkSecret}, Config: ejabberdPrivileges + setup.yaml + delegation(setup.delegated), RosterOptions: setup.rosterOptions})
	apiURL := strings.TrimSuffix(e.ej.APIURL(""), "/")
	var err error
	if e.api, err = ejabberdapi.New(ejabberdapi.Config{URL: apiURL}); err != nil {
		t.Fatal(err)
	}
	e.backend = testkit.NewBackend(t, nil)
	modhostAPI := apiURL
	if setup.apiURL != nil {
		modhostAPI = setup.apiURL(apiURL)
	}
	apiOption := fmt.Sprintf("ejabberd_api = { url = %q; %s }", modhostAPI, setup.api)
	if setup.noAPI {
		apiOption = ""
	}
	e.config = fmt.Sprintf(`
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	component_client = { host = "127.0.0.1"; port = %d; jid = %q; secret = %q; resync_delay = %d }
	%s
`, linkDomain, e.backend.URL(), int(fetchTimeout/time.Second), e.ej.ComponentPort, linkComp, linkSecret, max(setup.resyncDelay, 1), apiOption)
	e.startModhost()
	return e
}

func (e *ejabberdEnv) online(t *testing.T, user, resource string) *xmpptest.Client {
	t.Helper()
	c, err := xmpptest.Dial(e.ctx, xmpptest.Config{Addr: e.ej.C2SAddr(), Domain: linkDomain, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		t.Fatalf("log in %s/%s: %v", user, resource, err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Roster(e.ctx); err != nil {
		t.Fatalf("roster of %s: %v", c.JID(), err)
	}
	if err := c.SendPresence(e.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *ejabberdEnv) refresh(t *testing.T, users string) string {
	t.Helper()
	le := &linkEnv{t: t, rt: e.rt}
	return le.refresh(users)
}

// serverRoster reads user's roster from ejabberd (get_roster), canonical.
func (e *ejabberdEnv) serverRoster(t *testing.T, user string) string {
	t.Helper()
	items, err := e.api.GetRoster(e.ctx, user, linkDomain)
	if err != nil {
		t.Fatalf("get_roster %s: %v", user, err)
	}
	var out []xmpptest.RosterItem
	for _, it := range items {
		out = append(out, xmpptest.RosterItem{JID: it.JID, Name: it.Name, Subscription: it.Subscription, Ask: it.Ask, Groups: it.Groups})
	}
	return canonical(out)
}

func (e *ejabberdEnv) waitServerRoster(t *testing.T, user, want string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() (bool, string) {
		got := e.serverRoster(t, user)
		return got == want, "ejabberd's roster of " + user + ":\n" + got + "\nwant:\n" + want
	})
}

func (e *ejabberdEnv) waitClientRoster(t *testing.T, c *xmpptest.Client, want string) {
	t.Helper()
	(&linkEnv{t: t, ctx: e.ctx}).waitClientRoster(c, want)
}

func (e *ejabberdEnv) waitPushes(t *testing.T, c *xmpptest.Client, want map[string]string) {
	t.Helper()
	(&linkEnv{t: t, ctx: e.ctx}).waitPushes(c, want)
}

func presenceFrom(bare string) func(xmpptest.Element) bool {
	return func(e xmpptest.Element) bool {
		return e.Name() == "presence" && e.Attr("type") == "" && strings.HasPrefix(e.Attr("from"), bare+"/")
	}
}

func TestLinkOnEjabberd2301WritesRostersThroughItsAPI(t *testing.T) {
	e := newEjabberdEnv(t, []string{"al1", "bo1", "al2", "bo2", "al3", "bo3", "al4", "bo4", "al5", "al6", "bo6", "se1", "se2", "cr1", "rs1", "rs2", "mx1", "my1", "of1", "of2", "gr1", "gs1"}, "sessions_interval = 0.5")

	t.Run("LoginRosterEqualsTheBackend", func(t *testing.T) {
		e.backend.Set("al1", `{"bo1@example.com":{"name":"Bo","groups":{"Friends":true,"Work":true}},"zed@example.com":{}}`)
		c := e.online(t, "al1", "laptop")
		want := lines(line("bo1@example.com", "Bo", "both", "Friends", "Work"), line("zed@example.com", "", "both"))
		e.waitClientRoster(t, c, want)
		e.waitServerRoster(t, "al1", want)
	})

	t.Run("RefreshPushesEveryChangeToEveryResource", func(t *testing.T) {
		e.backend.Set("al2", `{"bo2@example.com":{"name":"Bo","groups":["Friends"]},"cy@example.com":{"name":"Cy"},"dee@example.com":{"name":"Dee"}}`)
		laptop := e.online(t, "al2", "laptop")
		e.waitClientRoster(t, laptop, lines(line("bo2@example.com", "Bo", "both", "Friends"), line("cy@example.com", "Cy", "both"), line("dee@example.com", "Dee", "both")))
		phone := e.online(t, "al2", "phone")
		laptop.Drain()
		phone.Drain()
		e.backend.Set("al2", `{"bo2@example.com":{"name":"Robert","groups":["Friends"]},"cy@example.com":{"name":"Cy","groups":["Home","Work"]},"erin@example.com":{"name":"Erin"}}`)
		if got := e.refresh(t, `["al2"]`); !strings.Contains(got, `"updated":1`) {
			t.Fatalf("refresh answered %s", got)
		}
		want := map[string]string{
			"bo2@example.com":  line("bo2@example.com", "Robert", "both", "Friends"),
			"cy@example.com":   line("cy@example.com", "Cy", "both", "Home", "Work"),
			"dee@example.com":  line("dee@example.com", "", "remove"),
			"erin@example.com": line("erin@example.com", "Erin", "both"),
		}
		e.waitPushes(t, laptop, want)
		e.waitPushes(t, phone, want)
		e.waitServerRoster(t, "al2", lines(want["bo2@example.com"], want["cy@example.com"], want["erin@example.com"]))
	})

	t.Run("RemovalLeavesTheContactsItemAsTheWebAppHasIt", func(t *testing.T) {
		e.backend.Set("al3", `{"bo3@example.com":{"name":"Bo"}}`)
		e.backend.Set("bo3", `{"al3@example.com":{"name":"Al","groups":["Team"]}}`)
		e.refresh(t, `["al3","bo3"]`)
		e.waitServerRoster(t, "bo3", line("al3@example.com", "Al", "both", "Team"))
		bo := e.online(t, "bo3", "desk")
		bo.Drain()
		// The web app drops bo3 from al3's roster only.
		e.backend.Set("al3", `{}`)
		e.refresh(t, `["al3"]`)
		e.waitServerRoster(t, "al3", "")
		// al3's item is set to none before delete_rosteritem: bo3's item
		// stays as the web app has it, and bo3's client is told nothing.
		e.waitServerRoster(t, "bo3", line("al3@example.com", "Al", "both", "Team"))
		var seen []string
		for _, st := range bo.Collect(500 * time.Millisecond) {
			if items := xmpptest.RosterItems(st); len(items) == 1 {
				seen = append(seen, "push "+items[0].Subscription)
			} else if st.Name() == "presence" && st.Attr("type") != "" {
				seen = append(seen, "presence "+st.Attr("type"))
			}
		}
		if len(seen) != 0 {
			t.Errorf("contact's client saw %v; want no push and no unsubscribe/unsubscribed", seen)
		}
	})

	t.Run("AMutualRemovalLeavesNeitherWithTheOther", func(t *testing.T) {
		e.backend.Set("mx1", `{"my1@example.com":{}}`)
		e.backend.Set("my1", `{"mx1@example.com":{}}`)
		e.refresh(t, `["mx1","my1"]`)
		e.waitServerRoster(t, "mx1", line("my1@example.com", "", "both"))
		e.waitServerRoster(t, "my1", line("mx1@example.com", "", "both"))
		e.online(t, "my1", "desk")
		e.backend.Set("mx1", `{}`)
		e.backend.Set("my1", `{}`)
		e.refresh(t, `["mx1","my1"]`)
		e.waitServerRoster(t, "mx1", "")
		e.waitServerRoster(t, "my1", "")
		time.Sleep(300 * time.Millisecond) // nothing comes back
		if a, b := e.serverRoster(t, "mx1"), e.serverRoster(t, "my1"); a != "" || b != "" {
			t.Errorf("after both removals: mx1 %q, my1 %q", a, b)
		}
	})

	t.Run("AGroupNameWithASemicolonIsStoredWithACommaAndNotRewrittenAtLogin", func(t *testing.T) {
		e.backend.Set("gr1", `{"al1@example.com":{"name":"Al","groups":["x;y","Z"]}}`)
		e.refresh(t, `["gr1"]`)
		stored := line("al1@example.com", "Al", "both", "Z", "x,y")
		e.waitServerRoster(t, "gr1", stored)
		c := e.online(t, "gr1", "laptop")
		e.waitClientRoster(t, c, stored)
		// At login modhost compared ejabberd's roster with the web app's:
		// equal once ';' is ','. Nothing was written, so no push came; nor
		// at a refresh that changes another contact.
		e.backend.Set("gr1", `{"al1@example.com":{"name":"Al","groups":["x;y","Z"]},"bo1@example.com":{}}`)
		e.refresh(t, `["gr1"]`)
		e.waitServerRoster(t, "gr1", lines(stored, line("bo1@example.com", "", "both")))
		for _, st := range c.Collect(500 * time.Millisecond) {
			if items := xmpptest.RosterItems(st); isPush(st) && (len(items) != 1 || items[0].JID != "bo1@example.com") {
				t.Errorf("push of an unchanged item: %s", st)
			}
		}
	})

	t.Run("OfflineRefreshThenLogin", func(t *testing.T) {
		e.backend.Set("of1", `{"of2@example.com":{"name":"Two","groups":["G"]}}`)
		e.refresh(t, `["of1"]`)
		e.waitServerRoster(t, "of1", line("of2@example.com", "Two", "both", "G"))
		e.backend.Set("of1", `{"of2@example.com":{"name":"Deux","groups":["G","H"]}}`)
		e.refresh(t, `["of1"]`)
		e.waitServerRoster(t, "of1", line("of2@example.com", "Deux", "both", "G", "H"))
		c := e.online(t, "of1", "laptop")
		e.waitClientRoster(t, c, line("of2@example.com", "Deux", "both", "G", "H"))
	})

	t.Run("ContactsSeeEachOthersPresenceAtOnceAfterARefresh", func(t *testing.T) {
		// Both online first, contacts of nobody; then the web app makes
		// them contacts.
		al := e.online(t, "al4", "laptop")
		bo := e.online(t, "bo4", "laptop")
		e.backend.Set("al4", `{"bo4@example.com":{}}`)
		e.backend.Set("bo4", `{"al4@example.com":{}}`)
		al.Drain()
		bo.Drain()
		e.refresh(t, `["al4","bo4"]`)
		for _, pair := range []struct {
			c    *xmpptest.Client
			from string
		}{{al, "bo4@example.com"}, {bo, "al4@example.com"}} {
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			_, err := pair.c.Next(ctx, presenceFrom(pair.from))
			cancel()
			if err != nil {
				t.Errorf("%s did not see %s's presence after the refresh: %v", pair.c.JID(), pair.from, err)
			}
		}
	})

	t.Run("AUserGivenAContactOnlineSeesItsPresenceAtOnce", func(t *testing.T) {
		// bo6 already lists al6 and is online before al6 logs in; then the
		// web app gives al6 bo6. add_rosteritem sends no probe: modhost's
		// does (without it al6 would wait for bo6's next broadcast).
		e.backend.Set("bo6", `{"al6@example.com":{}}`)
		e.refresh(t, `["bo6"]`)
		e.waitServerRoster(t, "bo6", line("al6@example.com", "", "both"))
		bo := e.online(t, "bo6", "desk")
		e.backend.Set("al6", `{}`)
		al := e.online(t, "al6", "laptop")
		time.Sleep(300 * time.Millisecond) // al6's login (an empty roster) is over
		for _, st := range al.Collect(200 * time.Millisecond) {
			if presenceFrom("bo6@example.com")(st) {
				t.Fatalf("al6 saw bo6 before being given it: %s", st)
			}
		}
		e.backend.Set("al6", `{"bo6@example.com":{}}`)
		e.refresh(t, `["al6"]`)
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		if _, err := al.Next(ctx, presenceFrom("bo6@example.com")); err != nil {
			t.Errorf("al6 did not see bo6's presence after the refresh: %v", err)
		}
		_ = bo
	})

	t.Run("BackendFailureLeavesTheRosterUntouched", func(t *testing.T) {
		e.backend.Set("al5", `{"bo5@example.com":{"name":"Bo"}}`)
		e.refresh(t, `["al5"]`)
		e.waitServerRoster(t, "al5", line("bo5@example.com", "Bo", "both"))
		e.backend.Fail("al5", testkit.Status(500))
		e.logs.expect(`roster fetch|fetch.*al5|al5.*500`)
		e.refresh(t, `["al5"]`)
		time.Sleep(300 * time.Millisecond)
		if got := e.serverRoster(t, "al5"); got != line("bo5@example.com", "Bo", "both") {
			t.Errorf("after a failed fetch, ejabberd's roster = %s", got)
		}
	})

	t.Run("AClientGoneWithoutUnavailableStopsCountingAsOnline", func(t *testing.T) {
		c := e.online(t, "se1", "laptop")
		e.waitModhostResources(t, "se1", "laptop")
		c.Close() // the stream ends; no unavailable reaches modhost
		// sessions_interval = 0.5 s here; the default is 5 s.
		e.waitModhostResources(t, "se1")
	})

	t.Run("AClientsOwnRosterSetStandsUntilItsNextLogin", func(t *testing.T) {
		e.backend.Set("cr1", `{"al1@example.com":{"name":"Al"}}`)
		c := e.online(t, "cr1", "laptop")
		e.waitServerRoster(t, "cr1", line("al1@example.com", "Al", "both"))
		// Without mod_roster's access rule ejabberd takes the set (stored
		// as none: no presence flows); modhost does not see it.
		res, err := c.IQ(e.ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='mallory@example.com' name='M'/></query>`)
		if err != nil || res.Attr("type") != "result" {
			t.Fatalf("client roster set = %v, %v", res, err)
		}
		e.waitServerRoster(t, "cr1", lines(line("al1@example.com", "Al", "both"), line("mallory@example.com", "M", "none")))
		// At the next login modhost compares ejabberd's roster with the web
		// app's and removes it.
		c.Close()
		e.waitModhostResources(t, "cr1")
		again := e.online(t, "cr1", "phone")
		e.waitServerRoster(t, "cr1", line("al1@example.com", "Al", "both"))
		e.waitClientRoster(t, again, line("al1@example.com", "Al", "both"))
	})

	t.Run("EjabberdRestartedMidRefreshEveryRequestAnsweredRostersRightAfter", func(t *testing.T) {
		e.logs.expect(`a roster write did not reach the server`, `could not be read`, `not read at login`, `component link`)
		roster := func(n int, name string) (string, string) {
			var js, ls []string
			for i := range n {
				jid := fmt.Sprintf("c%02d@example.com", i)
				js = append(js, fmt.Sprintf("%q:{\"name\":%q}", jid, name))
				ls = append(ls, line(jid, name, "both"))
			}
			return "{" + strings.Join(js, ",") + "}", lines(ls...)
		}
		body, _ := roster(40, "before")
		e.backend.Set("rs1", body)
		e.backend.Set("rs2", body)
		e.refresh(t, `["rs1","rs2"]`)
		_, want := roster(40, "before")
		e.waitServerRoster(t, "rs1", want)
		body, want = roster(40, "after")
		e.backend.Set("rs1", body)
		e.backend.Set("rs2", body)
		answered := make(chan string, 4)
		for range 4 {
			go func() {
				le := &linkEnv{t: t, rt: e.rt}
				answered <- le.refresh(`["rs1","rs2"]`)
			}()
		}
		if err := e.ej.Restart(); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			select {
			case got := <-answered:
				if !strings.Contains(got, `"status":"ok"`) {
					t.Errorf("refresh answered %s", got)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a refresh was not answered")
			}
		}
		e.waitServerRoster(t, "rs1", want)
		e.waitServerRoster(t, "rs2", want)
		c := e.online(t, "rs1", "after")
		e.waitClientRoster(t, c, want)
	})

	// Last: the env's modhost is replaced.
	t.Run("ARestartedModhostLearnsWhoIsOnlineWithoutPresence", func(t *testing.T) {
		e.backend.Set("se2", `{"al1@example.com":{"name":"Al"}}`)
		c := e.online(t, "se2", "phone")
		e.waitModhostResources(t, "se2", "phone")
		e.stopModhost()
		e.startModhost()
		e.waitModhostResources(t, "se2", "phone")
		// The rebuilt session counts as online: a refresh reaches its client.
		c.Drain()
		e.backend.Set("se2", `{"al1@example.com":{"name":"Al"},"bo1@example.com":{}}`)
		e.refresh(t, `["se2"]`)
		e.waitPushes(t, c, map[string]string{"bo1@example.com": line("bo1@example.com", "", "both")})
	})

	t.Run("StopLeaksNoGoroutines", func(t *testing.T) {
		e.stopModhost()
		time.Sleep(200 * time.Millisecond)
		before := runtime.NumGoroutine()
		e.startModhost()
		e.backend.Set("gs1", `{"al1@example.com":{}}`)
		c := e.online(t, "gs1", "laptop")
		e.waitClientRoster(t, c, line("al1@example.com", "", "both"))
		e.backend.Set("gs1", `{}`)
		e.refresh(t, `["gs1"]`)
		e.waitServerRoster(t, "gs1", "")
		c.Close()
		e.stopModhost()
		waitGoroutinesBackTo(t, before)
	})
}

func (e *ejabberdEnv) waitModhostResources(t *testing.T, user string, want ...string) {
	t.Helper()
	le := &linkEnv{t: t, rt: e.rt, ctx: e.ctx}
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		got := le.modhostResources(user)
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprintf("modhost's sessions of %s: %v, want %v", user, got, want)
	})
}

// ejabberd has no block_subscriptions, and cannot load modhost's Lua plugin;
// what it offers is mod_roster's access option: users it denies cannot set
// their own roster (not-allowed), while the admin API (and so modhost) still
// writes it. Subscription presences are not covered: modhost repairs what
// they changed at the user's next login.
func TestEjabberdRosterAccessKeepsClientsOffAWebAppOwnedRoster(t *testing.T) {
	e := newEjabberdEnvWith(t, []string{"ra1", "rb1"}, ejabberdSetup{api: "sessions_interval = 0.5", rosterOptions: "{ access: modhost_rosters }", yaml: `
access_rules:
  modhost_rosters:
    deny: all
`})
	e.backend.Set("ra1", `{"rb1@example.com":{"name":"B"}}`)
	e.backend.Set("rb1", `{"ra1@example.com":{"name":"A"}}`)
	ra := e.online(t, "ra1", "laptop")
	rb := e.online(t, "rb1", "laptop")
	e.waitServerRoster(t, "ra1", line("rb1@example.com", "B", "both"))
	e.waitServerRoster(t, "rb1", line("ra1@example.com", "A", "both"))

	// A client's own roster set is refused.
	res, err := ra.IQ(e.ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='mallory@example.com' name='M'/></query>`)
	if err != nil || res.Attr("type") != "error" {
		t.Errorf("client roster set = %v, %v; want an error", res, err)
	} else {
		t.Logf("client roster set answered: %s", res)
	}
	// Subscription presences are not covered by mod_roster's access: ra1's
	// unsubscribed reaches rb1 and downgrades rb1's item (ra1's own stays:
	// the rule keeps ra1's roster as it is). modhost writes it back at
	// rb1's next login, when it compares ejabberd's roster with the web
	// app's.
	rb.Drain()
	if err := ra.SendPresence(e.ctx, "unsubscribed", "rb1@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Next(e.ctx, func(st xmpptest.Element) bool {
		return st.Name() == "presence" && st.Attr("type") == "unsubscribed"
	}); err != nil {
		t.Errorf("rb1 did not get ra1's unsubscribed (ejabberd changed?): %v", err)
	}
	e.waitServerRoster(t, "rb1", line("ra1@example.com", "A", "from"))
	e.waitServerRoster(t, "ra1", line("rb1@example.com", "B", "both"))
	rb.Close()
	e.waitModhostResources(t, "rb1")
	e.online(t, "rb1", "laptop")
	e.waitServerRoster(t, "rb1", line("ra1@example.com", "A", "both"))
	// modhost's writes still go through.
	e.backend.Set("ra1", `{"rb1@example.com":{"name":"Bee"}}`)
	e.refresh(t, `["ra1"]`)
	e.waitServerRoster(t, "ra1", line("rb1@example.com", "Bee", "both"))
}

// Without ejabberd_api, on 23.01, the first privileged roster request shows
// XEP-0356 cannot carry rosters there; modhost says what to configure, in
// ejabberd's terms, once, and stops trying rather than retrying every
// resync_delay.
func TestLinkOnEjabberd2301WithoutTheAPISaysWhatToConfigure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delegated bool
		said      string
	}{
		{"server-held", false, `refuses every privileged roster set.*ejabberd_api = \{ url = "http://127.0.0.1:5281/api" \}.*api_permissions`},
		{"delegated", true, `sends modhost's own privileged roster requests back.*remove jabber:iq:roster from mod_delegation's namespaces.*ejabberd_api`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEjabberdEnvWith(t, []string{"nx1", "nx2"}, ejabberdSetup{noAPI: true, delegated: tc.delegated})
			e.logs.expect(tc.said, `delegated roster on an ejabberd`, `did not reach the server|could not be read|not read at login`)
			e.backend.Set("nx1", `{"nx2@example.com":{}}`)
			e.refresh(t, `["nx1"]`)
			testkit.Eventually(t, 10*time.Second, func() (bool, string) {
				return e.logs.count(tc.said) == 1, fmt.Sprintf("%d lines matching %q", e.logs.count(tc.said), tc.said)
			})
			// resync_delay is 1 s here: nothing is retried after it.
			if !tc.delegated {
				// ejabberd's logger writes its file a little later.
				testkit.Eventually(t, 3*time.Second, func() (bool, string) {
					return strings.Contains(e.ej.Log(), "module_not_loaded"), "ejabberd did not log module_not_loaded"
				})
			}
			attempts := strings.Count(e.ej.Log(), "module_not_loaded")
			e.backend.Set("nx1", `{"nx2@example.com":{"name":"again"}}`)
			e.refresh(t, `["nx1"]`)
			time.Sleep(2500 * time.Millisecond)
			if got := strings.Count(e.ej.Log(), "module_not_loaded"); got != attempts {
				t.Errorf("privileged sets went on after the advice: %d failures, then %d", attempts, got)
			}
			if n := e.logs.count(tc.said); n != 1 {
				t.Errorf("advice said %d times, want once", n)
			}
		})
	}
}
