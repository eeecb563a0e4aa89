package rosteradmin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRosterAdminRefreshPrepsUsernamesAndCountsInvalidOnesWithoutFetching
// pins how the refresh API treats the usernames it is given: nodeprep
// decides, a string it refuses is an error in the counts and never reaches
// the backend, and valid ones are fetched once each under their prepped
// form, percent-encoded in the URL.
func TestRosterAdminRefreshPrepsUsernamesAndCountsInvalidOnesWithoutFetching(t *testing.T) {
	b := newScaledBackend(t, 1)
	s := startStandalone(t, b.URL(), "", "\thttp_roster_admin_refresh_offline = true\n")
	defer s.stop()

	cases := []struct {
		name           string
		users          []string
		status         string
		updated, errs  int
		fetched        map[string]int // escaped path → fetches, exactly
		neverRequested []string       // escaped paths that must not be fetched
	}{
		{
			name:  "case variants are one user, fetched once in lower case",
			users: []string{"Alice", "alice", "ALICE"}, status: "ok", updated: 1,
			fetched: map[string]int{"alice": 1}, neverRequested: []string{"Alice", "ALICE"},
		},
		{
			name:  "strings nodeprep refuses are errors, each distinct one counted once",
			users: []string{"", " ", "a b", "x/y", "a@b", "a\u0000b", strings.Repeat("a", 1024), "a b", "bob"}, status: "ok", updated: 1, errs: 7,
			fetched: map[string]int{"bob": 1}, neverRequested: []string{"", "a%20b", "x%2Fy", "x", "a%40b", "a", "a%00b", strings.Repeat("a", 1024)},
		},
		{
			name:  "1023 bytes is still a username",
			users: []string{strings.Repeat("z", 1023)}, status: "ok", updated: 1,
			fetched: map[string]int{strings.Repeat("z", 1023): 1},
		},
		{
			name:  "only invalid usernames: status error, nothing fetched",
			users: []string{"@", "a/b"}, status: "error", errs: 2,
			neverRequested: []string{"%40", "a%2Fb", "a"},
		},
		{
			name:  "usernames needing percent-encoding still reach the backend",
			users: []string{"a%b", "q?x", "h#y", "Ünï", "x+y"}, status: "ok", updated: 5,
			fetched: map[string]int{"a%25b": 1, "q%3Fx": 1, "h%23y": 1, "%C3%BCn%C3%AF": 1, "x%2By": 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := map[string]int{}
			for path := range c.fetched {
				before[path] = b.hitsOf(unescapedPath(t, path))
			}
			totalBefore := b.totalHits()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, reply, err := s.refresh(ctx, c.users)
			if err != nil {
				t.Fatal(err)
			}
			if code != 200 || reply.Status != c.status || reply.Updated != c.updated || reply.Errors != c.errs {
				t.Errorf("reply %d %+v, want 200 status %q updated %d errors %d", code, reply, c.status, c.updated, c.errs)
			}
			want := 0
			for path, n := range c.fetched {
				want += n
				if got := b.hitsOf(unescapedPath(t, path)) - before[path]; got != n {
					t.Errorf("%s fetched %d times, want %d", path, got, n)
				}
			}
			if got := b.totalHits() - totalBefore; got != want {
				t.Errorf("backend served %d fetches, want %d", got, want)
			}
			for _, path := range c.neverRequested {
				if b.hitsOf(unescapedPath(t, path)) != 0 {
					t.Errorf("%q was fetched", path)
				}
			}
		})
	}

	t.Run("GET of an invalid username is a counted error, not a fetch", func(t *testing.T) {
		totalBefore := b.totalHits()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, path := range []string{"/roster_admin/refresh/a%40b", "/roster_admin/refresh/a%20b"} {
			code, reply, err := s.get(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if code != 200 || reply.Status != "error" || reply.Updated != 0 || reply.Errors != 1 {
				t.Errorf("GET %s → %d %+v, want 200 with one error", path, code, reply)
			}
		}
		code, reply, err := s.get(ctx, "/roster_admin/refresh/Carol")
		if err != nil || code != 200 || reply.Updated != 1 || b.hitsOf("carol") != 1 {
			t.Errorf("GET of Carol → %d %+v %v, carol fetched %d times", code, reply, err, b.hitsOf("carol"))
		}
		if got := b.totalHits() - totalBefore; got != 1 {
			t.Errorf("backend served %d fetches, want 1 (carol)", got)
		}
	})

	t.Run("an element that is not a string still refuses the whole body", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/roster_admin/refresh", strings.NewReader(`["dave", 1]`))
		code, reply, err := s.do(req)
		if err != nil || code != 400 || reply.Status != "error" || b.hitsOf("dave") != 0 {
			t.Errorf(`["dave", 1] → %d %+v %v, dave fetched %d times`, code, reply, err, b.hitsOf("dave"))
		}
	})
}

// unescapedPath is the username the backend sees for an escaped path.
func unescapedPath(t *testing.T, escaped string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://x/contacts/"+escaped, nil)
	if err != nil {
		t.Fatalf("path %q: %v", escaped, err)
	}
	return strings.TrimPrefix(req.URL.Path, "/contacts/")
}

// usersRefreshed reads the plugin's users_refreshed counter from /metrics:
// it moves when a refresh request has been parsed, before any fetch, which
// tells the test its requests have reached the plugin.
func (s *standalone) usersRefreshed(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Host = "monitor.example"
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	const name = "prosody_mod_http_roster_admin__users_refreshed_total{"
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name) && strings.Contains(line, `host="example.com"`) {
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			return int(v), err
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return 0, sc.Err()
}

// waitUsersRefreshed waits until the counter reaches n.
func (s *standalone) waitUsersRefreshed(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, err := s.usersRefreshed(ctx)
		if err != nil {
			t.Fatalf("users_refreshed: %v", err)
		}
		if got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("users_refreshed stayed at %d, want %d", got, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type asyncReply struct {
	code  int
	reply refreshReplyBody
	err   error
}

// refreshAsync posts users and delivers the answer on the returned channel.
func (s *standalone) refreshAsync(users ...string) <-chan asyncReply {
	out := make(chan asyncReply, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code, reply, err := s.refresh(ctx, users)
		out <- asyncReply{code, reply, err}
	}()
	return out
}

func wantUpdatedOne(t *testing.T, label string, ch <-chan asyncReply) {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil || r.code != 200 || r.reply.Status != "ok" || r.reply.Updated != 1 || r.reply.Errors != 0 {
			t.Errorf("%s: %d %+v %v, want updated 1", label, r.code, r.reply, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer", label)
	}
}

// TestRosterAdminOverlappingRefreshesShareAFetchNotYetSent pins the
// coalescing of refreshes of one user: requests that ask while the user's
// fetch is still queued share it (one fetch, one apply, the same outcome);
// requests that ask once a fetch has been sent wait for one more fetch,
// which they all share, so no answer reflects a roster read before its
// request arrived.
func TestRosterAdminOverlappingRefreshesShareAFetchNotYetSent(t *testing.T) {
	b := newScaledBackend(t, 2)
	s := startStandalone(t, b.URL(), `modules_enabled = { "http_openmetrics" }`, `
	http_roster_admin_max_concurrent = 1
	http_roster_admin_timeout = 20
	http_roster_admin_deadline = 25
`)
	defer s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, err := s.rt.Login(ctx, "example.com", "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Roster(ctx); err != nil { // asks for pushes
		t.Fatal(err)
	}
	if _, err := s.rt.Login(ctx, "example.com", "blocker", "r"); err != nil {
		t.Fatal(err)
	}
	loginHits := b.hitsOf("alice")
	counted := 0

	t.Run("requests arriving while the fetch is queued share it", func(t *testing.T) {
		// blocker's fetch holds the only slot, so alice's waits in the queue.
		openBlocker := b.gate("blocker")
		defer openBlocker()
		blocked := s.refreshAsync("blocker")
		if err := b.waitHits(ctx, "blocker", 2); err != nil {
			t.Fatal(err)
		}
		first := s.refreshAsync("alice")
		second := s.refreshAsync("alice", "Alice")
		counted += 3
		s.waitUsersRefreshed(t, counted)
		b.generation.Add(1)
		start := len(alice.Received())
		openBlocker()
		wantUpdatedOne(t, "blocker", blocked)
		wantUpdatedOne(t, "first request", first)
		wantUpdatedOne(t, "second request", second)
		if got := b.hitsOf("alice") - loginHits; got != 1 {
			t.Errorf("alice fetched %d times, want once", got)
		}
		if pushes := rosterPushes(alice.Received()[start:]); pushes != 2 {
			t.Errorf("alice got %d roster pushes, want 2 (one apply: one removal, one addition)", pushes)
		}
	})

	t.Run("requests arriving once the fetch is sent share the next one", func(t *testing.T) {
		hits := b.hitsOf("alice")
		openAlice := b.gate("alice")
		defer openAlice()
		early := s.refreshAsync("alice")
		if err := b.waitHits(ctx, "alice", hits+1); err != nil {
			t.Fatal(err)
		}
		// The application changes alice's roster while her fetch is out,
		// then asks twice more: those answers must reflect the change.
		b.generation.Add(1)
		late1 := s.refreshAsync("alice")
		late2 := s.refreshAsync("ALICE")
		counted += 3
		s.waitUsersRefreshed(t, counted)
		openAlice()
		wantUpdatedOne(t, "request whose fetch was out", early)
		wantUpdatedOne(t, "first later request", late1)
		wantUpdatedOne(t, "second later request", late2)
		if got := b.hitsOf("alice") - hits; got != 2 {
			t.Errorf("alice fetched %d times, want 2 (the one out, then one for both later requests)", got)
		}
		items, err := alice.Roster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("v%d@contacts.example", b.generation.Load())
		found := false
		for _, it := range items {
			found = found || it.JID == want
		}
		if !found {
			t.Errorf("alice's roster %+v lacks %s, the contact added while the first fetch was out", items, want)
		}
	})
}

// rosterPushes counts roster pushes among stanzas a session received.
func rosterPushes(stanzas []string) int {
	n := 0
	for _, x := range stanzas {
		if (strings.Contains(x, "type='set'") || strings.Contains(x, `type="set"`)) && strings.Contains(x, "jabber:iq:roster") {
			n++
		}
	}
	return n
}

// TestRosterAdminFetchFailingAtOnceFreesTheUser points the plugin at a URL
// net.http refuses on the spot (its callback runs before http.request
// returns): every refresh must fail, counted, and free its fetch slot and
// the user's coalescing state, so the next requests are answered as fast.
func TestRosterAdminFetchFailingAtOnceFreesTheUser(t *testing.T) {
	s := startStandalone(t, "http://[::1/%s", "", `
	http_roster_admin_refresh_offline = true
	http_roster_admin_max_concurrent = 1
	http_roster_admin_deadline = 20
`)
	defer s.stop()
	for round := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code, reply, err := s.refresh(ctx, []string{"alice", "bob"})
		cancel()
		if err != nil || code != 200 || reply.Status != "error" || reply.Updated != 0 || reply.Errors != 2 {
			t.Fatalf("round %d: %d %+v %v, want 200 with 2 errors at once", round, code, reply, err)
		}
	}
}
