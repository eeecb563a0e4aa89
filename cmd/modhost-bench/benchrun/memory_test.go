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

	"github.com/modhost/modhost/host"
)

// BenchmarkHeapPerOnlineUser is setup B's memory figure without the child
// process: it logs b.N users in as standalone sessions whose 100-contact
// rosters come through mod_http_roster_admin, each sending initial presence
// as the bench does, and reports the Go heap in use per online user after a
// collection. RSS also counts what the heap has not handed back to the
// system; this figure says where the live bytes are.
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
	before := heapInUse()
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), ".base")
	b.ResetTimer()
	reply := c.login(ctx, childRequest{Host: domain, Users: users, Concurrency: 8, Presence: true, WantItems: contacts})
	b.StopTimer()
	if len(reply.Failures) > 0 {
		b.Fatalf("%d logins failed, first: %s", len(reply.Failures), reply.Failures[0])
	}
	time.Sleep(settleTime)
	online := heapInUse()
	b.ReportMetric((float64(online)-float64(before))/float64(b.N)/1024, "heap-KiB/user")
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

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
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
// round, as the bench's backend makes); it reports the live heap per user
// after the logins and how much it grew per round, and logs the heap after
// every round (on one line), so growth that levels off (caches filling) and growth that
// goes on (a leak) look different. MODHOST_HEAP_PROFILE=FILE writes FILE.base
// with the users online and FILE after the last round.
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
	var first uint64
	heaps := make([]string, 0, b.N)
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
		heap := heapInUse()
		if round == 1 {
			first = heap
		}
		heaps = append(heaps, fmt.Sprintf("%.1f", float64(heap)/(1<<20)))
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("%d users: live heap %.1f MiB online, after each round (MiB): %s", n, float64(online)/(1<<20), strings.Join(heaps, " "))
	last := heapInUse()
	writeHeapProfile(b, os.Getenv("MODHOST_HEAP_PROFILE"), "")
	if b.N > 1 {
		b.ReportMetric((float64(last)-float64(first))/float64(b.N-1)/float64(n), "heap-B/user/round")
	}
	runtime.KeepAlive(c.sessions)
}
