package rosteradmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/runtimetest"
)

// benchRoster is a 100-contact roster whose first contact's name carries
// the version, so each new version is exactly one change per user.
func benchRoster(version int64) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		name := fmt.Sprintf("Contact %d", i)
		if i == 0 {
			name = fmt.Sprintf("Renamed %d", version)
		}
		fmt.Fprintf(&b, `"c%d@example.com":{"name":%q,"groups":["Group %d"]}`, i, name, i%5)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// BenchmarkRefresh measures POST /roster_admin/refresh on a standalone
// modhost: N online users, one interested session each, 100-contact rosters
// from a local backend, one changed contact per user per iteration
// (-bench 'BenchmarkRefresh/users=100$' picks one size).
func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 5000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchmarkRefresh(b, n) })
	}
}

func benchmarkRefresh(b *testing.B, users int) {
	// The body is built once per version, so the backend (in this process,
	// on the same cores) costs as little as possible of what is measured.
	var body atomic.Pointer[[]byte]
	setVersion := func(v int64) {
		b := benchRoster(v)
		body.Store(&b)
	}
	setVersion(0)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*body.Load())
	}))
	b.Cleanup(backend.Close)
	rt := runtimetest.Start(b, fmt.Sprintf(`
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_deadline = 300
`, backend.URL+"/contacts/%s"), nil, nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("user%d", i)
		s, err := rt.Login(ctx, "example.com", names[i], "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Roster(ctx); err != nil { // interested in pushes
			b.Fatal(err)
		}
	}
	request, _ := json.Marshal(names)
	url := rt.HTTPURLs()[0] + "/roster_admin/refresh"
	var latencies []time.Duration
	b.ResetTimer()
	start := time.Now()
	version := int64(0)
	for b.Loop() {
		version++
		setVersion(version)
		began := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(request))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		latencies = append(latencies, time.Since(began))
		var reply refreshReply
		if err := json.Unmarshal(raw, &reply); err != nil || resp.StatusCode != 200 || reply.Updated != users || reply.Errors != 0 {
			b.Fatalf("refresh → %d %s", resp.StatusCode, raw)
		}
	}
	elapsed := time.Since(start)
	slices.Sort(latencies)
	b.ReportMetric(float64(users*len(latencies))/elapsed.Seconds(), "users/s")
	b.ReportMetric(percentile(latencies, 50).Seconds()*1000, "p50-ms")
	b.ReportMetric(percentile(latencies, 99).Seconds()*1000, "p99-ms")
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}
