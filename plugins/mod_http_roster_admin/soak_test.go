package rosteradmin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
)

// soakUsers is the pool the soak's logins, logouts and refreshes draw from.
const soakUsers = 300

// soakWorkers is how many clients act at once.
const soakWorkers = 8

// TestRosterAdminSoak runs, for MODHOST_SOAK (a Go duration; `make soak`
// sets it from SOAK_TIME), a mix of logins (roster fetched, queried, initial
// presence), logouts, refresh requests (POST of several users, some invalid,
// and GET of one) and roster changes at the backend, on one standalone
// runtime. Every request must be answered with honest counts, the goroutine
// count must come back to its baseline, and RSS must stay bounded: at the
// end no more than twice what it was once warmed up, plus 64 MiB.
func TestRosterAdminSoak(t *testing.T) {
	setting := os.Getenv("MODHOST_SOAK")
	if setting == "" {
		t.Skip("MODHOST_SOAK=duration (e.g. 10m) runs the soak; `make soak` does")
	}
	duration, err := time.ParseDuration(setting)
	if err != nil || duration <= 0 {
		t.Fatalf("MODHOST_SOAK=%q: want a positive Go duration such as 10m", setting)
	}
	baseline := runtime.NumGoroutine()
	rssStart := rssKiB()

	b := newScaledBackend(t, 10)
	// Contacts come and go among a bounded population, as in a real
	// directory: gopher-lua tables keep every key they ever held
	// (yuin/gopher-lua#214), so an endless stream of new contact JIDs would
	// grow each roster table by design of the VM, not by a leak of ours.
	b.cycle = 64
	s := startStandalone(t, b.URL(), loadOptions, "")
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()

	st := &soakState{s: s, b: b, online: map[string]*host.Session{}, busy: map[string]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	// Samples of RSS and goroutines, logged as the soak goes.
	interval := max(duration/20, time.Second)
	warmAt := max(duration/10, time.Second)
	var rssWarm atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		began := time.Now()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rss := rssKiB()
			if rssWarm.Load() == 0 && time.Since(began) >= warmAt {
				rssWarm.Store(rss)
			}
			t.Logf("%6s: RSS %d MiB, goroutines %d, online %d, %s",
				time.Since(began).Round(time.Second), rss>>10, runtime.NumGoroutine(), st.onlineCount(), st.counts())
		}
	}()

	began := time.Now()
	var wg sync.WaitGroup
	for w := range soakWorkers {
		rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
		wg.Go(func() {
			for ctx.Err() == nil {
				st.step(rng)
			}
		})
	}
	wg.Wait()
	<-sampled
	elapsed := time.Since(began)
	rssEnd := rssKiB()
	goroutinesLoaded := runtime.NumGoroutine()

	// Everyone logs out, then the runtime stops.
	logoutCtx, cancelLogout := context.WithTimeout(context.Background(), time.Minute)
	defer cancelLogout()
	for user, sess := range st.online {
		if err := sess.Logout(logoutCtx); err != nil {
			st.fail("final logout of %s: %v", user, err)
		}
	}
	s.stop()
	stopped = true
	b.close()
	after := settledGoroutines(baseline)

	st.mu.Lock()
	took := slices.Clone(st.took)
	failures := slices.Clone(st.failures)
	st.mu.Unlock()
	t.Logf("soak of %v (%d workers, %d users): %s; %.0f refresh requests/s, latency p50 %v p99 %v max %v",
		elapsed.Round(time.Second), soakWorkers, soakUsers, st.counts(),
		float64(len(took))/elapsed.Seconds(), took.percentile(0.5).Round(time.Microsecond),
		took.percentile(0.99).Round(time.Microsecond), took.percentile(1).Round(time.Microsecond))
	warm := rssWarm.Load()
	if warm == 0 {
		warm = rssEnd
	}
	t.Logf("RSS %d MiB at start, %d MiB warm (after %v), %d MiB at the end; goroutines %d at start, %d at the end, %d after stop",
		rssStart>>10, warm>>10, warmAt, rssEnd>>10, baseline, goroutinesLoaded, after)

	if len(failures) > 0 {
		t.Errorf("%d failed operations; first ones:\n%s", len(failures), strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
	if st.refreshes.Load() == 0 || st.logins.Load() == 0 || st.logouts.Load() == 0 {
		t.Errorf("the soak did not mix its operations: %s", st.counts())
	}
	if limit := 2*warm + 64<<10; rssEnd > limit {
		t.Errorf("RSS grew from %d MiB warm to %d MiB (limit %d MiB)", warm>>10, rssEnd>>10, limit>>10)
	}
	if after > baseline+goroutineSlack {
		t.Errorf("goroutines: %d after stop, baseline %d (+%d allowed)\n%s", after, baseline, goroutineSlack, goroutineDump())
	}
}

// soakState is what the soak's workers share.
type soakState struct {
	s *standalone
	b *scaledBackend

	mu       sync.Mutex
	online   map[string]*host.Session
	busy     map[string]bool // a worker is logging this user in or out
	took     latencies       // refresh request latencies
	failures []string

	refreshes, logins, logouts, changes atomic.Int64
}

func (st *soakState) fail(format string, args ...any) {
	st.mu.Lock()
	st.failures = append(st.failures, fmt.Sprintf(format, args...))
	st.mu.Unlock()
}

func (st *soakState) onlineCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.online)
}

func (st *soakState) counts() string {
	return fmt.Sprintf("%d refresh requests, %d logins, %d logouts, %d roster changes",
		st.refreshes.Load(), st.logins.Load(), st.logouts.Load(), st.changes.Load())
}

// step does one random operation; its own failures are recorded, not fatal.
func (st *soakState) step(rng *rand.Rand) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch r := rng.IntN(100); {
	case r < 45:
		st.refreshSome(ctx, rng)
	case r < 50:
		st.refreshOne(ctx, rng)
	case r < 72:
		st.login(ctx, fmt.Sprintf("soak%d", rng.IntN(soakUsers)))
	case r < 95:
		st.logout(ctx, fmt.Sprintf("soak%d", rng.IntN(soakUsers)))
	default: // the application changes every roster: the next refreshes push
		st.b.generation.Add(1)
		st.changes.Add(1)
	}
}

// refreshSome posts 1–10 users (upper-case variants and an invalid name
// now and then) and checks the counts add up.
func (st *soakState) refreshSome(ctx context.Context, rng *rand.Rand) {
	n := 1 + rng.IntN(10)
	users := make([]string, 0, n+1)
	distinct := map[string]bool{}
	for range n {
		u := fmt.Sprintf("soak%d", rng.IntN(soakUsers))
		distinct[u] = true
		if rng.IntN(4) == 0 {
			u = strings.ToUpper(u)
		}
		users = append(users, u)
	}
	invalid := 0
	if rng.IntN(5) == 0 {
		users = append(users, "not a username")
		invalid = 1
	}
	began := time.Now()
	code, reply, err := st.s.refresh(ctx, users)
	st.record(time.Since(began))
	if err != nil || code != 200 || reply.Status != "ok" || reply.Updated != len(distinct) || reply.Errors != invalid {
		st.fail("refresh %v: %d %+v %v, want updated %d errors %d", users, code, reply, err, len(distinct), invalid)
	}
}

func (st *soakState) refreshOne(ctx context.Context, rng *rand.Rand) {
	u := fmt.Sprintf("soak%d", rng.IntN(soakUsers))
	began := time.Now()
	code, reply, err := st.s.get(ctx, "/roster_admin/refresh/"+u)
	st.record(time.Since(began))
	if err != nil || code != 200 || reply.Status != "ok" || reply.Updated != 1 || reply.Errors != 0 {
		st.fail("GET refresh of %s: %d %+v %v", u, code, reply, err)
	}
}

func (st *soakState) record(d time.Duration) {
	st.refreshes.Add(1)
	st.mu.Lock()
	st.took = append(st.took, d)
	st.mu.Unlock()
}

// claim marks user busy if it is in the wanted state (online or not).
func (st *soakState) claim(user string, online bool) (*host.Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, isOnline := st.online[user]
	if st.busy[user] || isOnline != online {
		return nil, false
	}
	st.busy[user] = true
	return sess, true
}

func (st *soakState) release(user string, sess *host.Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.busy, user)
	if sess != nil {
		st.online[user] = sess
	} else {
		delete(st.online, user)
	}
}

func (st *soakState) login(ctx context.Context, user string) {
	if _, ok := st.claim(user, false); !ok {
		return
	}
	sess, err := st.s.rt.Login(ctx, "example.com", user, "soak")
	if err == nil {
		_, err = sess.Roster(ctx)
	}
	if err == nil {
		err = sess.Presence(ctx)
	}
	if err != nil {
		st.fail("login of %s: %v", user, err)
		if sess != nil {
			_ = sess.Logout(ctx)
		}
		st.release(user, nil)
		return
	}
	st.logins.Add(1)
	st.release(user, sess)
}

func (st *soakState) logout(ctx context.Context, user string) {
	sess, ok := st.claim(user, true)
	if !ok {
		return
	}
	if err := sess.Logout(ctx); err != nil {
		st.fail("logout of %s: %v", user, err)
		st.release(user, sess)
		return
	}
	st.logouts.Add(1)
	st.release(user, nil)
}
