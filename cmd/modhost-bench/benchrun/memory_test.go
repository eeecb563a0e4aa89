package benchrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/lua"
)

// BenchmarkHeapPerOnlineUser is setup B's memory figure without the child
// process: it logs b.N users in as standalone sessions whose 100-contact
// rosters come through mod_http_roster_admin, each sending initial presence
// as the bench does, and reports the Go heap per online user after a
// collection: in use (heap-KiB/user, the spans, which RSS follows) and live
// (live-KiB/user, the bytes the users hold). RSS also counts what the heap
// has not handed back to the system; these figures say where the bytes are.
// MODHOST_BENCH_CONTACTS=N gives the rosters N contacts instead of 100.
// MODHOST_HEAP_PROFILE=FILE writes a heap profile with the users online,
// and FILE.base before they log in (go tool pprof -base FILE.base FILE).
//
//	go test ./cmd/modhost-bench/benchrun/ -run '^$' -bench HeapPerOnlineUser -benchtime=200x
func BenchmarkHeapPerOnlineUser(b *testing.B) {
	exactHeapProfile()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, _, contacts := benchChild(ctx, b)
	defer c.stop()
	users := userNames("user", b.N)
	liveBefore, before := heapAfterGC()
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), ".base")
	b.ResetTimer()
	reply := c.login(ctx, childRequest{Host: domain, Users: users, Concurrency: 8, Presence: true, WantItems: contacts})
	b.StopTimer()
	if len(reply.Failures) > 0 {
		b.Fatalf("%d logins failed, first: %s", len(reply.Failures), reply.Failures[0])
	}
	time.Sleep(settleTime)
	live, online := heapAfterGC()
	b.ReportMetric((float64(online)-float64(before))/float64(b.N)/1024, "heap-KiB/user")
	b.ReportMetric((float64(live)-float64(liveBefore))/float64(b.N)/1024, "live-KiB/user")
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), "")
	runtime.KeepAlive(c.sessions)
}

// exactHeapProfile makes the heap profile record every allocation when
// MODHOST_HEAP_PROFILE is set: at the default rate (one sample per 512 KiB)
// a difference of a few MiB between two profiles is mostly sampling noise.
// It must run before the allocations it is to see.
func exactHeapProfile() {
	if os.Getenv("MODHOST_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1
	}
}

// writeHeapProfile writes the heap profile to path+suffix, if path is set:
// FILE.base before the users log in, FILE with them online, so that
// `go tool pprof -base FILE.base FILE` shows what the users hold.
func writeHeapProfile(b *testing.B, path, suffix string) {
	if path == "" {
		return
	}
	// A profile shows the heap as of the last collection but one.
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path + suffix)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// heapInUse is the heap in use after a full collection: the spans that
// hold at least one live object, whole (what RSS follows).
func heapInUse() uint64 {
	_, inUse := heapAfterGC()
	return inUse
}

// heapAfterGC is the heap after a full collection: the live bytes and the
// bytes of the spans holding them. The difference is room in spans that
// short-lived objects used and a live one or two still pin.
func heapAfterGC() (live, inUse uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapInuse
}

// benchChild starts setup B's runtime in this process, with the bench's
// config and a contacts backend (MODHOST_BENCH_CONTACTS, default 100), and
// logs one user in and out so that what a first login loads is not counted
// per user. It returns the child, the runtime's refresh URL and the
// roster size.
func benchChild(ctx context.Context, b *testing.B) (*child, string, int) {
	contacts := 100
	if env := os.Getenv("MODHOST_BENCH_CONTACTS"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil {
			b.Fatalf("MODHOST_BENCH_CONTACTS: %v", err)
		}
		contacts = n
	}
	backend := httptest.NewServer(newContactsBackend(domain, contacts))
	b.Cleanup(backend.Close)
	env := &runEnv{opts: Defaults(), rosterURL: backend.URL + "/contacts/%s"}
	c := &child{log: slog.New(slog.NewTextHandler(io.Discard, nil)), sessions: map[string]*host.Session{}}
	reply := c.start(ctx, childRequest{Config: env.modhostConfig(""), Name: "bench.cfg.lua"})
	if reply.Error != "" {
		b.Fatal(reply.Error)
	}
	if r := c.login(ctx, childRequest{Host: domain, Users: []string{"warmup"}, WantItems: contacts}); len(r.Failures) > 0 {
		b.Fatal(r.Failures[0])
	}
	if r := c.logout(ctx, childRequest{Users: []string{"warmup"}}); len(r.Failures) > 0 {
		b.Fatal(r.Failures[0])
	}
	return c, reply.HTTP + "/roster_admin/refresh", contacts
}

// BenchmarkHeapOverRefreshes is the soak's memory question without the
// child process: MODHOST_BENCH_USERS (default 1000) users online, then b.N
// refresh rounds each naming every one of them (one change per user per
// round, as the bench's backend makes). After every round it reads the
// heap after a collection twice: the live bytes and the heap in use (the
// spans holding them, which RSS follows), and logs both series, so growth
// that levels off (caches filling, spans fragmenting) and growth of live
// bytes that goes on (a leak) look different. It reports the growth per
// user per round of each (live-B/user/round, heap-B/user/round) and the
// keys gopher-lua's tables keep for deleted values (dead-keys/user, see
// lua.DeadKeys). MODHOST_HEAP_PROFILE=FILE writes FILE.base with the users
// online and FILE after the last round.
//
//	go test ./cmd/modhost-bench/benchrun/ -run '^$' -bench HeapOverRefreshes -benchtime=30x
func BenchmarkHeapOverRefreshes(b *testing.B) {
	exactHeapProfile()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	n := 1000
	if env := os.Getenv("MODHOST_BENCH_USERS"); env != "" {
		v, err := strconv.Atoi(env)
		if err != nil {
			b.Fatalf("MODHOST_BENCH_USERS: %v", err)
		}
		n = v
	}
	// MODHOST_BENCH_SETTLE=1 waits settleTime after each round before the
	// reading, so that what the plugin keeps for a second (the answers
	// logins may share) is not counted.
	settle := os.Getenv("MODHOST_BENCH_SETTLE") == "1"
	c, url, contacts := benchChild(ctx, b)
	defer c.stop()
	users := userNames("user", n)
	before := heapInUse()
	if r := c.login(ctx, childRequest{Host: domain, Users: users, Concurrency: 8, Presence: true, WantItems: contacts}); len(r.Failures) > 0 {
		b.Fatalf("%d logins failed, first: %s", len(r.Failures), r.Failures[0])
	}
	time.Sleep(settleTime)
	online := heapInUse()
	b.ReportMetric((float64(online)-float64(before))/float64(n)/1024, "heap-KiB/user")
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), ".base")
	client := &http.Client{}
	var firstLive, firstInUse uint64
	lives := make([]string, 0, b.N)
	inUses := make([]string, 0, b.N)
	mib := func(n uint64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }
	b.ResetTimer()
	for round := 1; round <= b.N; round++ {
		if failures := refresh(ctx, client, url, users); len(failures) > 0 {
			b.Fatalf("round %d: %s", round, failures[0])
		}
		b.StopTimer()
		_ = c.pushes() // the clients forget what they were sent, as real ones would
		if settle {
			time.Sleep(settleTime) // the answers kept for logins to share are gone
		}
		live, inUse := heapAfterGC()
		if round == 1 {
			firstLive, firstInUse = live, inUse
		}
		lives = append(lives, mib(live))
		inUses = append(inUses, mib(inUse))
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("%d users: heap in use %s MiB online; after each round, live (MiB): %s", n, mib(online), strings.Join(lives, " "))
	b.Logf("heap in use after each round (MiB): %s", strings.Join(inUses, " "))
	live, inUse := heapAfterGC()
	// Keys gopher-lua tables still record for values deleted (see
	// lua.DeadKeys): a count that grows with rounds would be a leak.
	dead := 0
	if err := c.rt.Loop().Do(ctx, func(L *glua.LState) error {
		for _, t := range lua.DeadKeys(L, 1) {
			dead += t.Dead()
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(dead)/float64(n), "dead-keys/user")
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), "")
	if b.N > 1 {
		b.ReportMetric((float64(live)-float64(firstLive))/float64(b.N-1)/float64(n), "live-B/user/round")
		b.ReportMetric((float64(inUse)-float64(firstInUse))/float64(b.N-1)/float64(n), "heap-B/user/round")
	}
	runtime.KeepAlive(c.sessions)
}
