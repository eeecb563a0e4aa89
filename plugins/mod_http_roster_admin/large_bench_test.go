package rosteradmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/runtimetest"
)

// largeRoster is n contacts (≈60 bytes each) whose JIDs carry set, so the
// roster of one set and the next have no contact in common.
func largeRoster(n, set int) []byte {
	var b bytes.Buffer
	b.Grow(n * 64)
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"s%d-c%d@example.com":{"name":"Contact %d","groups":["G%d"]}`, set, i, i, i%7)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// BenchmarkRefreshLarge measures one refresh of one online user (one
// interested session) whose roster changes from n contacts to n others:
// n removals and n additions stored and pushed per iteration. A refresh
// must be linear in contacts (issue 13, point 1): ns/contact stays flat.
// MODHOST_BENCH_CONTACTS=1000,4000 picks other sizes (to profile), and
// MODHOST_BENCH_STORAGE=internal the file driver instead of memory.
func BenchmarkRefreshLarge(b *testing.B) {
	sizes := []int{1000, 10000, 100000}
	if env := os.Getenv("MODHOST_BENCH_CONTACTS"); env != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("MODHOST_BENCH_CONTACTS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		for _, native := range []bool{true, false} {
			b.Run(fmt.Sprintf("contacts=%d/native=%v", n, native), func(b *testing.B) { benchmarkRefreshLarge(b, n, native) })
		}
	}
}

func benchmarkRefreshLarge(b *testing.B, contacts int, native bool) {
	storage := "memory"
	if s := os.Getenv("MODHOST_BENCH_STORAGE"); s != "" {
		storage = s
	}
	var body atomic.Pointer[[]byte]
	set := 0
	next := func() {
		set++
		r := largeRoster(contacts, set)
		body.Store(&r)
	}
	next()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*body.Load())
	}))
	b.Cleanup(backend.Close)
	rt := runtimetest.Start(b, fmt.Sprintf(`
http_request_deadline = 3000
lua_job_timeout = 0 -- a 100k-contact apply is one job of more than 5 s
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	storage = { roster = %q }
	data_path = %q
	http_roster_url = %q
	http_roster_admin_native = %v
	http_roster_admin_deadline = 3000
	http_roster_admin_timeout = 3000
	http_roster_admin_login_timeout = 3000
	http_roster_admin_max_contacts = %d
`, storage, b.TempDir(), backend.URL+"/contacts/%s", native, contacts), nil, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := rt.Login(ctx, "example.com", "user", "bench")
	if err != nil {
		b.Fatal(err)
	}
	if items, err := s.Roster(ctx); err != nil || len(items) != contacts {
		b.Fatalf("roster at login: %d items, %v", len(items), err)
	}
	url := rt.HTTPURLs()[0] + "/roster_admin/refresh"
	client := &http.Client{Timeout: 30 * time.Minute}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		next()
		s.Forget()
		b.StartTimer()
		resp, err := client.Post(url, "application/json", strings.NewReader(`["user"]`))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var reply refreshReply
		if err := json.Unmarshal(raw, &reply); err != nil || resp.StatusCode != 200 || reply.Updated != 1 {
			b.Fatalf("refresh → %d %s", resp.StatusCode, raw)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(contacts), "ns/contact")
}
