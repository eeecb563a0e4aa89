package compat

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// stalled gives its bytes, then fails as a read cut off by a timeout would.
type stalled struct{ r io.Reader }

var errStalled = errors.New("stalled")

func (s stalled) Read(p []byte) (int, error) {
	if n, err := s.r.Read(p); err != io.EOF {
		return n, err
	}
	return 0, errStalled
}

// An answer announcing 16 MB that sends ten bytes costs a buffer for those
// bytes, not for the announced length (issue 13, point 7: 200 such answers
// dripping a byte a second took RSS from 256 MB to 1.68 GB).
func TestReadBodyGrowsAsBytesArrive(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp := &http.Response{ContentLength: 16_000_000, Body: io.NopCloser(stalled{strings.NewReader("0123456789")})}
	body, err := readBody(resp, 16<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errStalled) || body != "0123456789" {
		t.Fatalf("read %q, %v", body, err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<10 {
		t.Fatalf("%d bytes allocated for 10 received (16,000,000 announced)", grown)
	}
}

// Bodies as announced, unannounced and over the limit read whole, within
// twice their size, and never past the limit + 1.
func TestReadBodyKeepsItsBounds(t *testing.T) {
	full := strings.Repeat("x", 100_000)
	for _, tc := range []struct {
		name    string
		length  int64
		body    string
		max     int64
		wantLen int
	}{
		{"announced", 100_000, full, 1 << 20, 100_000},
		{"unannounced", -1, full, 1 << 20, 100_000},
		{"unannounced over the limit", -1, full, 50_000, 50_001},
		{"empty", 0, "", 1 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{ContentLength: tc.length, Body: io.NopCloser(strings.NewReader(tc.body))}
			body, err := readBody(resp, tc.max)
			if err != nil || len(body) != tc.wantLen || body != tc.body[:tc.wantLen] {
				t.Fatalf("read %d bytes, %v; want %d", len(body), err, tc.wantLen)
			}
		})
	}
}

// A body costs its one copy, the string Lua gets: the buffer it was read
// into is the next body's.
func TestReadBodyCostsOneCopyOfTheBody(t *testing.T) {
	full := strings.Repeat("x", 100_000)
	read := func() {
		resp := &http.Response{ContentLength: -1, Body: io.NopCloser(strings.NewReader(full))}
		if body, err := readBody(resp, 1<<20); err != nil || body != full {
			t.Fatalf("read %d bytes, %v", len(body), err)
		}
	}
	read() // the pool's first buffer
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 130_000 {
		t.Fatalf("%d bytes allocated to read a 100,000-byte body, want about one copy", grown)
	}
}
