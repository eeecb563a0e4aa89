package benchrun

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	contacts := 100
	if env := os.Getenv("MODHOST_BENCH_CONTACTS"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil {
			b.Fatalf("MODHOST_BENCH_CONTACTS: %v", err)
		}
		contacts = n
	}
	backend := httptest.NewServer(newContactsBackend(domain, contacts))
	defer backend.Close()
	env := &runEnv{opts: Defaults(), rosterURL: backend.URL + "/contacts/%s"}
	c := &child{log: slog.New(slog.NewTextHandler(io.Discard, nil)), sessions: map[string]*host.Session{}}
	defer c.stop()
	if reply := c.start(ctx, childRequest{Config: env.modhostConfig(""), Name: "bench.cfg.lua"}); reply.Error != "" {
		b.Fatal(reply.Error)
	}
	// One login and logout first: what the first login loads (the sessions
	// code, the libraries it requires, the HTTP client) is not per user.
	if reply := c.login(ctx, childRequest{Host: domain, Users: []string{"warmup"}, WantItems: contacts}); len(reply.Failures) > 0 {
		b.Fatal(reply.Failures[0])
	}
	if reply := c.logout(ctx, childRequest{Users: []string{"warmup"}}); len(reply.Failures) > 0 {
		b.Fatal(reply.Failures[0])
	}
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
