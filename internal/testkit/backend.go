package testkit

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Backend is the web application of the roster-admin contract: it serves
// GET /contacts/{escaped username} with the roster the test set for that
// user ("{}" for anyone else), or misbehaves on purpose. It listens on a
// loopback port of its own and closes when the test ends; answers that
// wait (Hang, Slow, SetDelay) return then too.
type Backend struct {
	srv     *httptest.Server
	release chan struct{} // closed at the end: waiting answers return

	mu       sync.Mutex
	rosters  map[string]string
	failures map[string]Answer
	delay    time.Duration
	hits     []Hit
	served   int
}

// Hit is one request the backend received.
type Hit struct {
	RequestURI string
	Accept     string
}

// Answer is how the backend answers one user instead of its roster.
type Answer func(w http.ResponseWriter, r *http.Request, release <-chan struct{})

// NewBackend starts a backend serving rosters (which may be nil).
func NewBackend(t testing.TB, rosters map[string]string) *Backend {
	t.Helper()
	b := &Backend{rosters: map[string]string{}, failures: map[string]Answer{}, release: make(chan struct{})}
	for user, body := range rosters {
		b.rosters[user] = body
	}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	b.srv.Listener = l
	b.srv.Start()
	t.Cleanup(func() {
		close(b.release)
		b.srv.CloseClientConnections()
		b.srv.Close()
	})
	return b
}

// URL is the http_roster_url that reaches this backend.
func (b *Backend) URL() string { return b.srv.URL + "/contacts/%s" }

// Set makes the backend answer user's roster with body, ending any failure.
func (b *Backend) Set(user, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rosters[user] = body
	delete(b.failures, user)
}

// Fail makes the backend answer user with a instead of the roster.
func (b *Backend) Fail(user string, a Answer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures[user] = a
}

// SetDelay makes every answer wait d first: a slow application.
func (b *Backend) SetDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

// Served counts the answers given (after their delay).
func (b *Backend) Served() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.served
}

// Hits returns the requests seen for request URIs starting with prefix.
func (b *Backend) Hits(prefix string) []Hit {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Hit
	for _, h := range b.hits {
		if strings.HasPrefix(h.RequestURI, prefix) {
			out = append(out, h)
		}
	}
	return out
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimPrefix(r.URL.Path, "/contacts/")
	b.mu.Lock()
	b.hits = append(b.hits, Hit{RequestURI: r.RequestURI, Accept: r.Header.Get("Accept")})
	body, ok := b.rosters[user]
	fail := b.failures[user]
	delay := b.delay
	b.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-b.release:
		case <-r.Context().Done():
		}
	}
	defer func() {
		b.mu.Lock()
		b.served++
		b.mu.Unlock()
	}()
	if fail != nil {
		fail(w, r, b.release)
		return
	}
	if !ok {
		body = "{}"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

// Status answers code with a plain-text body.
func Status(code int) Answer {
	return func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		http.Error(w, "backend failing on purpose", code)
	}
}

// Body answers 200 with s as it is (broken JSON, an array, …).
func Body(s string) Answer {
	return func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { _, _ = w.Write([]byte(s)) }
}

// InvalidJSON answers 200 with a roster cut off in the middle.
var InvalidJSON = Body(`{"bob@example.com": {"name": "Bo`)

// Hang answers nothing until the client gives up or the test ends.
func Hang(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-release:
	}
}

// CloseConn drops the connection without an answer.
func CloseConn(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// HalfBody promises the whole of s, sends half of it and drops the connection.
func HalfBody(s string) Answer {
	return func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(s), s[:len(s)/2])
		_ = buf.Flush()
	}
}

// Slow answers s, but only after d.
func Slow(d time.Duration, s string) Answer {
	return func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
		select {
		case <-time.After(d):
			_, _ = w.Write([]byte(s))
		case <-r.Context().Done():
		case <-release:
		}
	}
}
