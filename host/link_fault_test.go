package host_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/component"
)

// Fault tests of the XMPP link (issue #6): whatever the server does, every
// refresh request is answered within its deadline with honest counts, no
// roster is lost or corrupted, and the link recovers by itself.

func (b *rosterBackend) slow(d time.Duration) {
	b.mu.Lock()
	b.delay = d
	b.mu.Unlock()
}

func (b *rosterBackend) answered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.served
}

// refreshSummary is the refresh API's answer (DESIGN §1).
type refreshSummary struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Updated int    `json:"updated"`
	Errors  int    `json:"errors"`
}

type timedRefresh struct {
	code    int
	summary refreshSummary
	body    string
	took    time.Duration
	err     error
}

// startRefresh posts a refresh of users and delivers its answer, timed, on
// the returned channel: the test does something else meanwhile.
func (e *linkEnv) startRefresh(users []string) <-chan timedRefresh {
	body, _ := json.Marshal(users)
	url := e.rt.HTTPURLs()[0] + "/roster_admin/refresh"
	out := make(chan timedRefresh, 1)
	go func() {
		var r timedRefresh
		start := time.Now()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		resp, err := client.Post(url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			r.err = err
			out <- r
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r.took, r.code, r.body = time.Since(start), resp.StatusCode, string(b)
		r.err = json.Unmarshal(b, &r.summary)
		out <- r
	}()
	return out
}

// faultUsers are the accounts of the kill test: a refresh of all of them
// takes several rounds of http_roster_admin_max_concurrent fetches.
func faultUsers(n int) []string {
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("u%02d", i)
	}
	return users
}

// Before the fault each user has a friend and the boss; after it the friend is
// renamed and regrouped, u00 removed and a new contact added, so a lost
// write of any kind shows.
func rosterBefore(user string) (body, want string) {
	return fmt.Sprintf(`{"friend-%s@example.com":{"name":"Friend"},"boss@example.com":{"groups":["Team"]}}`, user),
		lines(line("friend-"+user+"@example.com", "Friend", "both"), line("boss@example.com", "", "both", "Team"))
}

func rosterAfter(user string) (body, want string) {
	return fmt.Sprintf(`{"friend-%s@example.com":{"name":"Friend Two","groups":["Old","New"]},"new-%s@example.com":{}}`, user, user),
		lines(line("friend-"+user+"@example.com", "Friend Two", "both", "New", "Old"), line("new-"+user+"@example.com", "", "both"))
}

// Prosody is SIGKILLed while a refresh of 40 users (5 online) is fetching
// from a slow backend. The request is answered before its deadline and
// counts every user as updated: each one's roster is the backend's latest
// in modhost, and what the dead server did not take is written when it is
// back. Proven here: once Prosody restarts on the same data, the link comes
// back by itself and the server's stored rosters become the backend's
// latest without any client logging in or any further refresh.
func TestLinkServerKilledMidRefreshAnswersAndResyncsOnReturn(t *testing.T) {
	forBothModes(t, func(t *testing.T, mode component.RosterMode) {
		const deadline = 5 * time.Second
		users := faultUsers(40)
		rosters := map[string]string{}
		for _, u := range users {
			rosters[u], _ = rosterBefore(u)
		}
		e := newLinkEnvWith(t, mode, rosters, linkSetup{options: fmt.Sprintf("http_roster_admin_deadline = %d", int(deadline/time.Second))})
		e.logs.expect(`component link down, retrying`)
		for _, u := range users {
			if err := e.s.AddUser(u, "pw"); err != nil {
				t.Fatal(err)
			}
		}
		// Every goroutine modhost starts must end with it: count without it.
		e.stopModhost()
		time.Sleep(200 * time.Millisecond)
		goroutinesBefore := runtime.NumGoroutine()
		e.startModhost()

		for _, u := range users[:5] {
			e.online(u, "desk", true)
		}
		// Logged in (and their login fetch applied) before the refresh:
		// a login racing a refresh is another scenario.
		for _, u := range users[:5] {
			_, want := rosterBefore(u)
			e.waitServerRoster(u, want)
		}
		if got := e.refresh(`["` + strings.Join(users, `","`) + `"]`); !strings.Contains(got, `"updated":40`) {
			t.Fatalf("first refresh answered %s", got)
		}
		for _, u := range users {
			_, want := rosterBefore(u)
			e.waitServerRoster(u, want)
		}

		for _, u := range users {
			body, _ := rosterAfter(u)
			e.backend.set(u, body)
		}
		// 40 fetches of 150 ms, 16 at a time: about half a second in flight.
		e.backend.slow(150 * time.Millisecond)
		servedBefore := e.backend.answered()
		answer := e.startRefresh(users)
		eventually(t, 5*time.Second, func() (bool, string) {
			n := e.backend.answered() - servedBefore
			return n >= 8, fmt.Sprintf("%d fetches answered", n)
		})
		if err := e.s.Kill(); err != nil {
			t.Fatal(err)
		}
		if n := e.backend.answered() - servedBefore; n == len(users) {
			t.Fatalf("every fetch was answered before the kill: not a kill mid-refresh")
		}
		r := <-answer
		if r.err != nil {
			t.Fatalf("refresh: %v (%s)", r.err, r.body)
		}
		t.Logf("refresh answered in %v: %s", r.took.Round(time.Millisecond), r.body)
		if r.took > deadline {
			t.Errorf("answered after %v, past the %v deadline", r.took, deadline)
		}
		if r.code != 200 || r.summary.Status != "ok" || r.summary.Updated+r.summary.Errors != len(users) {
			t.Fatalf("refresh answered %d %s: want 200, status ok, updated+errors = %d", r.code, r.body, len(users))
		}
		// The backend answered every fetch: every user is updated in modhost,
		// and "updated" is honest only if the server gets it too (below).
		if r.summary.Updated != len(users) {
			t.Errorf("updated %d of %d with a working backend", r.summary.Updated, len(users))
		}

		if err := e.s.StartAgain(); err != nil {
			t.Fatal(err)
		}
		e.waitLinkOnline()
		for _, u := range users {
			_, want := rosterAfter(u)
			e.waitServerRoster(u, want)
		}
		// A client logging in now sees the same (from modhost in delegated
		// mode, from the server in server-held mode).
		c := e.online(users[1], "phone", true)
		_, want := rosterAfter(users[1])
		e.waitClientRoster(c, want)
		c.Close()

		e.stopModhost()
		eventually(t, 5*time.Second, func() (bool, string) {
			n := runtime.NumGoroutine()
			if n <= goroutinesBefore+2 {
				return true, ""
			}
			buf := make([]byte, 1<<16)
			return false, fmt.Sprintf("%d goroutines after Stop, %d before:\n%s", n, goroutinesBefore, buf[:runtime.Stack(buf, true)])
		})
	})
}
