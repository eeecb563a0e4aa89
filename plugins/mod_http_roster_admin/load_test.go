package rosteradmin_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/internal/testkit"
)

// Load tests of the refresh path on a standalone runtime, run by `make test`
// at sizes that take seconds on two cores; MODHOST_LOAD_FULL=1 runs the
// issue's full sizes. Every request must be answered with honest counts,
// and once the runtime stops its goroutines must be gone.

// loadOptions are the global options of the load runtimes: the per-client
// limit raised so that every request of the test (one client IP) is in
// flight at once, and deadlines far above what the load needs, so a slow
// shared machine shows up as latency, not as 504s.
const loadOptions = `
http_max_requests_per_client = 2000
http_request_deadline = 110
`

const loadHostOptions = `
	http_roster_admin_deadline = 100
	http_roster_admin_timeout = 60
`

// TestRosterAdminLoadConcurrentRefreshRequests sends 1000 refresh requests
// of 10 distinct users each, all in flight at once over loopback, with
// offline refresh on (each user fetched, diffed and stored): every request
// must be answered 200 with 10 updated, every user fetched exactly once.
func TestRosterAdminLoadConcurrentRefreshRequests(t *testing.T) {
	testkit.SkipInShort(t, "load")
	const requests, perRequest = 1000, 10 // the sizes, fast enough for CI
	t.Logf("size: %d concurrent requests × %d users (full and default sizes are the same)", requests, perRequest)
	baseline := runtime.NumGoroutine()
	rssBefore := rssKiB()

	b := newScaledBackend(t, 10)
	s := startStandalone(t, b.URL(), loadOptions, loadHostOptions+"\thttp_roster_admin_refresh_offline = true\n")
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		took     = make(latencies, 0, requests)
		failures []string
	)
	start := make(chan struct{})
	for i := range requests {
		users := make([]string, perRequest)
		for j := range users {
			users[j] = fmt.Sprintf("u%d-%d", i, j)
		}
		wg.Go(func() {
			<-start
			began := time.Now()
			code, reply, err := s.refresh(ctx, users)
			elapsed := time.Since(began)
			mu.Lock()
			defer mu.Unlock()
			took = append(took, elapsed)
			if err != nil || code != 200 || reply.Status != "ok" || reply.Updated != perRequest || reply.Errors != 0 {
				failures = append(failures, fmt.Sprintf("request %d: %d %+v %v", i, code, reply, err))
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(began)
	rssLoaded := rssKiB()

	if len(failures) > 0 {
		t.Errorf("%d of %d requests not answered as wanted; first: %s", len(failures), requests, failures[0])
	}
	if got, want := b.totalHits(), requests*perRequest; got != want {
		t.Errorf("backend served %d fetches, want %d (one per user)", got, want)
	}
	t.Logf("%d requests (%d users) in %v: %.0f requests/s, %.0f users/s; latency p50 %v p99 %v max %v",
		requests, requests*perRequest, wall.Round(time.Millisecond),
		float64(requests)/wall.Seconds(), float64(requests*perRequest)/wall.Seconds(),
		took.percentile(0.50).Round(time.Millisecond), took.percentile(0.99).Round(time.Millisecond),
		took.percentile(1).Round(time.Millisecond))

	s.stop()
	stopped = true
	b.close()
	after := settledGoroutines(baseline)
	t.Logf("RSS %d MiB before, %d MiB after the load; goroutines %d before, %d after stop",
		rssBefore>>10, rssLoaded>>10, baseline, after)
	if after > baseline+goroutineSlack {
		t.Errorf("goroutines: %d after stop, baseline %d (+%d allowed)\n%s", after, baseline, goroutineSlack, goroutineDump())
	}
}

// TestRosterAdminLoadOnlineSessionsRefreshedTogether logs thousands of
// standalone sessions in (each fetched at login), has each ask for its
// roster (so it gets pushes), changes every roster at the backend and
// refreshes all users in one request: every user counted updated, every
// session pushed exactly the one removal and one addition, one presence
// probe per user for the added contact.
func TestRosterAdminLoadOnlineSessionsRefreshedTogether(t *testing.T) {
	testkit.SkipInShort(t, "load")
	users := 2000
	if loadFull() {
		users = 10000
	}
	t.Logf("size: %d online sessions (MODHOST_LOAD_FULL=1 for 10000)", users)
	baseline := runtime.NumGoroutine()
	rssBefore := rssKiB()
	heapBefore := heapAfterGC()

	b := newScaledBackend(t, 10)
	s := startStandalone(t, b.URL(), loadOptions, loadHostOptions)
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("user%d", i)
	}
	sessions := make([]*host.Session, users)
	began := time.Now()
	if err := forEachConcurrently(ctx, users, 64, func(i int) error {
		sess, err := s.rt.Login(ctx, "example.com", names[i], "r")
		if err != nil {
			return err
		}
		if _, err := sess.Roster(ctx); err != nil {
			return fmt.Errorf("roster of %s: %w", names[i], err)
		}
		sessions[i] = sess
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	loginTook := time.Since(began)
	rssOnline := rssKiB()
	heapOnline := heapAfterGC()
	t.Logf("%d logins with roster fetch and query in %v (%.0f/s)", users, loginTook.Round(time.Millisecond), float64(users)/loginTook.Seconds())

	marks := make([]int, users)
	for i, sess := range sessions {
		marks[i] = len(sess.Received())
	}
	probesBefore := s.sink.probes.Load()
	b.generation.Add(1)
	hitsBefore := b.totalHits()
	began = time.Now()
	code, reply, err := s.refresh(ctx, names)
	took := time.Since(began)
	if err != nil || code != 200 || reply.Status != "ok" || reply.Updated != users || reply.Errors != 0 {
		t.Fatalf("refresh of %d online users: %d %+v %v", users, code, reply, err)
	}
	t.Logf("refresh of %d online users in %v: %.0f users/s", users, took.Round(time.Millisecond), float64(users)/took.Seconds())
	if got := b.totalHits() - hitsBefore; got != users {
		t.Errorf("backend served %d fetches for the refresh, want %d", got, users)
	}
	badPushes := 0
	for i, sess := range sessions {
		if n := rosterPushes(sess.Received()[marks[i]:]); n != 2 {
			if badPushes == 0 {
				t.Errorf("%s got %d roster pushes, want 2: %q", names[i], n, sess.Received()[marks[i]:])
			}
			badPushes++
		}
	}
	if badPushes > 0 {
		t.Errorf("%d of %d sessions did not get exactly 2 pushes", badPushes, users)
	}
	if got := s.sink.probes.Load() - probesBefore; got != int64(users) {
		t.Errorf("%d presence probes sent, want %d (one per added contact)", got, users)
	}
	rssRefreshed := rssKiB()

	if err := forEachConcurrently(ctx, users, 64, func(i int) error { return sessions[i].Logout(ctx) }); err != nil {
		t.Error(err)
	}
	sessions = nil
	s.stop()
	stopped = true
	b.close()
	after := settledGoroutines(baseline)
	t.Logf("RSS (the whole test process) %d MiB before, %d MiB with %d online, %d MiB after the refresh; Go heap %.1f KiB per online user (11-contact rosters); goroutines %d before, %d after stop",
		rssBefore>>10, rssOnline>>10, users, rssRefreshed>>10, float64(int64(heapOnline)-int64(heapBefore))/1024/float64(users), baseline, after)
	if after > baseline+goroutineSlack {
		t.Errorf("goroutines: %d after stop, baseline %d (+%d allowed)\n%s", after, baseline, goroutineSlack, goroutineDump())
	}
}

// forEachConcurrently runs f(0..n-1) on at most workers goroutines and
// returns the first error.
func forEachConcurrently(ctx context.Context, n, workers int, f func(i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// TestRosterAdminAnsweredRequestsLeaveNoMemoryBehind sends refresh requests
// one after another and checks the Go heap, after a collection, holds far
// less than what the requests' coroutines would if something kept them: each
// request runs in a coroutine of its own (tens of KiB in gopher-lua), which
// a table keyed by coroutine, or a pending timer whose callback was made
// inside it, used to keep alive after the answer.
func TestRosterAdminAnsweredRequestsLeaveNoMemoryBehind(t *testing.T) {
	testkit.SkipInShort(t, "load")
	const requests = 2000
	const allowed = 40 << 20 // bytes; pinning coroutines costs ~100 KiB per request
	b := newScaledBackend(t, 2)
	s := startStandalone(t, b.URL(), loadOptions, loadHostOptions+"\thttp_roster_admin_refresh_offline = true\n")
	defer s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	heap := heapAfterGC
	// Warm up: the first requests load what stays (compiled patterns, pools).
	for i := range 50 {
		if _, _, err := s.get(ctx, fmt.Sprintf("/roster_admin/refresh/warm%d", i%5)); err != nil {
			t.Fatal(err)
		}
	}
	before := heap()
	for i := range requests {
		code, reply, err := s.get(ctx, fmt.Sprintf("/roster_admin/refresh/user%d", i%20))
		if err != nil || code != 200 || reply.Updated != 1 {
			t.Fatalf("request %d: %d %+v %v", i, code, reply, err)
		}
	}
	after := heap()
	grown := int64(after) - int64(before)
	t.Logf("heap %d KiB before, %d KiB after %d requests (%+d KiB)", before>>10, after>>10, requests, grown>>10)
	if grown > allowed {
		t.Errorf("heap grew by %d MiB over %d answered requests (allowed %d MiB)", grown>>20, requests, allowed>>20)
	}
}

// heapAfterGC is the live Go heap (which holds the Lua state) after a
// collection: unlike RSS, it goes down again when memory is freed.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
