package httpserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestHostNameStripsPortAndCase(t *testing.T) {
	tests := []struct{ header, want string }{
		{"example.com", "example.com"},
		{"Example.COM:5280", "example.com"},
		{"127.0.0.1:5280", "127.0.0.1"},
		{"[::1]:5280", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"host:", "host:"}, // Prosody strips ":digits" only
		{"", ""},
	}
	for _, tt := range tests {
		if got := requestHostName(tt.header); got != tt.want {
			t.Errorf("requestHostName(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// newVhostServer is a server that is never started: requests go straight to
// ServeHTTP.
func newVhostServer(cfg Config) *Server {
	return New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// serveAs sends one request with the given Host header ("" sends none).
func serveAs(s *Server, method, host, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// mountTwoHosts gives a.example and b.example the same route, answering with
// the host's name, in that order (so a.example is the automatic default).
func mountTwoHosts(t *testing.T, s *Server) (unmountA, unmountB func()) {
	t.Helper()
	unmountA = mustMountOn(t, s, "a.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("a")}})
	unmountB = mustMountOn(t, s, "b.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("b")}})
	return unmountA, unmountB
}

func TestRequestGoesToTheHostItsHostHeaderNames(t *testing.T) {
	tests := []struct {
		name        string
		defaultHost string
		host        string
		want        string // which host answered
	}{
		{"first host", "", "a.example", "a"},
		{"second host", "", "b.example", "b"},
		{"port stripped", "", "b.example:5280", "b"},
		{"case folded", "", "B.Example:5280", "b"},
		{"unknown host to the first that mounted", "", "c.example", "a"},
		{"IPv4 literal to the default", "", "127.0.0.1:5280", "a"},
		{"IPv6 literal to the default", "", "[::1]:5280", "a"},
		{"no Host header to the default", "", "", "a"},
		{"unknown host to http_default_host", "b.example", "c.example", "b"},
		{"IP literal to http_default_host", "b.example", "127.0.0.1:5280", "b"},
		{"http_default_host does not hide a known host", "b.example", "a.example", "a"},
		{"http_default_host case folded", "B.EXAMPLE", "localhost:5280", "b"},
		{"http_default_host without routes: first that mounted", "nowhere.example", "c.example", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DefaultHost = tt.defaultHost
			s := newVhostServer(cfg)
			mountTwoHosts(t, s)
			rec := serveAs(s, "GET", tt.host, "/app/x")
			if want := tt.want + "||/app/x"; rec.Code != 200 || rec.Body.String() != want {
				t.Errorf("Host %q → %d %q, want 200 %q", tt.host, rec.Code, rec.Body.String(), want)
			}
		})
	}
}

func TestHostNamedByAnAddressIsAnsweredByItsOwnRoutes(t *testing.T) {
	s := newVhostServer(testConfig())
	mountTwoHosts(t, s)
	mustMountOn(t, s, "127.0.0.1", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("ip")}})
	if rec := serveAs(s, "GET", "127.0.0.1:5280", "/app/x"); rec.Body.String() != "ip||/app/x" {
		t.Errorf("Host 127.0.0.1 → %q, want the routes mounted for 127.0.0.1", rec.Body.String())
	}
	if rec := serveAs(s, "GET", "[::1]:5280", "/app/x"); rec.Body.String() != "a||/app/x" {
		t.Errorf("Host [::1] → %q, want the default host's", rec.Body.String())
	}
}

func TestSingleHostAnswersEveryHostHeader(t *testing.T) {
	s := newVhostServer(testConfig())
	mustMountOn(t, s, "example.com", "/roster_admin", []Route{{Method: "GET", Path: "/refresh/*", Handler: echo("only")}})
	for _, host := range []string{"example.com", "127.0.0.1:5280", "localhost:5280", "localhost", "[::1]:5280", "other.example", ""} {
		rec := serveAs(s, "GET", host, "/roster_admin/refresh/alice")
		if rec.Code != 200 || rec.Body.String() != "only|alice|/roster_admin/refresh/alice" {
			t.Errorf("Host %q → %d %q", host, rec.Code, rec.Body.String())
		}
	}
}

func TestNotFoundAndMethodNotAllowedArePerHost(t *testing.T) {
	s := newVhostServer(testConfig())
	mountTwoHosts(t, s)
	mustMountOn(t, s, "a.example", "/app", []Route{{Method: "POST", Path: "/a-only", Handler: echo("a-only")}})

	tests := []struct {
		method, host, path string
		status             int
		allow              string
	}{
		{"POST", "a.example", "/app/a-only", 200, ""},
		// b.example is a known host: no fallback to another host's routes.
		{"POST", "b.example", "/app/a-only", 404, ""},
		{"GET", "b.example", "/app/a-only", 404, ""},
		{"POST", "b.example", "/app/x", 405, "GET, HEAD"},
		{"DELETE", "a.example", "/app/a-only", 405, "POST"},
		// An unknown host is the default host's, 405 included.
		{"DELETE", "c.example", "/app/a-only", 405, "POST"},
	}
	for _, tt := range tests {
		rec := serveAs(s, tt.method, tt.host, tt.path)
		if rec.Code != tt.status {
			t.Errorf("%s %s on %s → %d %s, want %d", tt.method, tt.path, tt.host, rec.Code, rec.Body.String(), tt.status)
			continue
		}
		if got := rec.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s on %s: Allow %q, want %q", tt.method, tt.path, tt.host, got, tt.allow)
		}
		if tt.status >= 400 && (rec.Header().Get("Content-Type") != "application/json" || !strings.HasPrefix(rec.Body.String(), `{"error":`)) {
			t.Errorf("%s %s on %s: error body %q is not JSON", tt.method, tt.path, tt.host, rec.Body.String())
		}
	}
}

func TestSameRouteTwiceOnOneHostIsRefused(t *testing.T) {
	s := newVhostServer(testConfig())
	mountTwoHosts(t, s)
	if _, err := s.Mount("A.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("dup")}}, "other"); err == nil {
		t.Error("mounting a.example's route again (as A.example) succeeded")
	}
	if _, err := s.Mount("", "/app", []Route{{Method: "GET", Path: "/y", Handler: echo("y")}}, "other"); err == nil {
		t.Error("a mount without a host name succeeded")
	}
	if rec := serveAs(s, "GET", "b.example", "/app/x"); rec.Body.String() != "b||/app/x" {
		t.Errorf("b.example after the refused mounts: %q", rec.Body.String())
	}
}

func TestUnmountingOneHostLeavesTheOther(t *testing.T) {
	s := newVhostServer(testConfig())
	unmountA, unmountB := mountTwoHosts(t, s)

	unmountB()
	if rec := serveAs(s, "GET", "a.example", "/app/x"); rec.Body.String() != "a||/app/x" {
		t.Errorf("a.example after unmounting b.example: %d %q", rec.Code, rec.Body.String())
	}
	// b.example has no routes left: its name is now an unknown host's.
	if rec := serveAs(s, "GET", "b.example", "/app/x"); rec.Body.String() != "a||/app/x" {
		t.Errorf("b.example after its unmount: %d %q, want the default host's", rec.Code, rec.Body.String())
	}

	mustMountOn(t, s, "b.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("b2")}})
	unmountA()
	if rec := serveAs(s, "GET", "b.example", "/app/x"); rec.Body.String() != "b2||/app/x" {
		t.Errorf("b.example after unmounting a.example: %d %q", rec.Code, rec.Body.String())
	}
	if rec := serveAs(s, "GET", "127.0.0.1", "/app/x"); rec.Body.String() != "b2||/app/x" {
		t.Errorf("default host with a.example gone: %d %q, want b.example's", rec.Code, rec.Body.String())
	}

	// A reloaded module does not move the default: a.example mounted first.
	mustMountOn(t, s, "a.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("a2")}})
	if rec := serveAs(s, "GET", "127.0.0.1", "/app/x"); rec.Body.String() != "a2||/app/x" {
		t.Errorf("default host after a.example remounted: %d %q, want a.example's", rec.Code, rec.Body.String())
	}
}

func TestNoRoutesAtAllIsNotFound(t *testing.T) {
	s := newVhostServer(testConfig())
	rec := serveAs(s, "GET", "example.com", "/app/x")
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("empty server → %d %q", rec.Code, rec.Body.String())
	}
}

func TestAnyHostRoutesAnswerForEveryHostAndMakeNoDefault(t *testing.T) {
	s := newVhostServer(Config{})
	// Mounted before any host, as http_openmetrics may be.
	unmountGlobal := mustMountOn(t, s, AnyHost, "/metrics", []Route{{Method: "GET", Handler: echo("global")}})
	if rec := serveAs(s, "GET", "anything.example", "/metrics"); !strings.HasPrefix(rec.Body.String(), "global|") {
		t.Errorf("no host has routes: GET /metrics = %d %q", rec.Code, rec.Body)
	}
	mustMountOn(t, s, "b.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("b")}})
	mustMountOn(t, s, "a.example", "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("a")}})
	for _, host := range []string{"a.example", "b.example", "127.0.0.1:5280", ""} {
		if rec := serveAs(s, "GET", host, "/metrics"); !strings.HasPrefix(rec.Body.String(), "global|") {
			t.Errorf("Host %q: GET /metrics = %d %q", host, rec.Code, rec.Body)
		}
	}
	// The global mount came first, yet the default is the first host that
	// mounted routes of its own.
	if rec := serveAs(s, "GET", "127.0.0.1", "/app/x"); !strings.HasPrefix(rec.Body.String(), "b|") {
		t.Errorf("default host after a global mount: %q, want b's", rec.Body)
	}
	if _, err := s.Mount("a.example", "/metrics", []Route{{Method: "GET", Handler: echo("a")}}, "test"); err == nil {
		t.Error("a host route where a global one is mounted was accepted")
	}
	if _, err := s.Mount(AnyHost, "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("g")}}, "test"); err == nil {
		t.Error("a global route where a host's is mounted was accepted")
	}
	unmountGlobal()
	if rec := serveAs(s, "GET", "a.example", "/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("after unmount: GET /metrics = %d", rec.Code)
	}
	if rec := serveAs(s, "GET", "a.example", "/app/x"); !strings.HasPrefix(rec.Body.String(), "a|") {
		t.Errorf("host routes lost with the global unmount: %q", rec.Body)
	}
}
