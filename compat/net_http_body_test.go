package compat

import (
	"errors"
	"io"
	"net/http"
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
	resp := &http.Response{ContentLength: 16_000_000, Body: io.NopCloser(stalled{strings.NewReader("0123456789")})}
	body, err := readBody(resp, 16<<20)
	if !errors.Is(err, errStalled) || string(body) != "0123456789" {
		t.Fatalf("read %q, %v", body, err)
	}
	if cap(body) > 4096 {
		t.Fatalf("buffer of %d bytes for 10 received (16,000,000 announced)", cap(body))
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
			if err != nil || len(body) != tc.wantLen {
				t.Fatalf("read %d bytes, %v; want %d", len(body), err, tc.wantLen)
			}
			if cap(body) > 2*max(len(body), 512) {
				t.Fatalf("buffer of %d bytes for %d", cap(body), len(body))
			}
		})
	}
}
