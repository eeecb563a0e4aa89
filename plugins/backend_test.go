package plugins_test

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

// backend is the web application's side of the roster-admin contract: it
// serves each user's roster as the test sets it, or misbehaves on purpose.
type backend struct {
	srv *httptest.Server

	mu       sync.Mutex
	rosters  map[string]string // username → JSON body served with 200
	failures map[string]func(w http.ResponseWriter, r *http.Request)
	hits     []hit
}

type hit struct {
	RequestURI string
	Accept     string
}

func newBackend(t *testing.T) *backend {
	b := &backend{rosters: map[string]string{}, failures: map[string]func(http.ResponseWriter, *http.Request){}}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	b.srv.Listener = l
	b.srv.Start()
	t.Cleanup(func() {
		b.srv.CloseClientConnections()
		b.srv.Close()
	})
	return b
}

// serve answers GET /contacts/{escaped username}.
func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimPrefix(r.URL.Path, "/contacts/")
	b.mu.Lock()
	b.hits = append(b.hits, hit{RequestURI: r.RequestURI, Accept: r.Header.Get("Accept")})
	body, ok := b.rosters[user]
	fail := b.failures[user]
	b.mu.Unlock()
	if fail != nil {
		fail(w, r)
		return
	}
	if !ok {
		body = "{}"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func (b *backend) set(user, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rosters[user] = body
	delete(b.failures, user)
}

func (b *backend) fail(user string, f func(http.ResponseWriter, *http.Request)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures[user] = f
}

// hitsFor returns the request URIs seen for paths starting with prefix.
func (b *backend) hitsFor(prefix string) []hit {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []hit
	for _, h := range b.hits {
		if strings.HasPrefix(h.RequestURI, prefix) {
			out = append(out, h)
		}
	}
	return out
}

func (b *backend) url() string { return b.srv.URL + "/contacts/%s" }

// Misbehaviours.
func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
}

func body(s string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(s)) }
}

// hang answers nothing until the client gives up or the backend closes.
func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// closeConn drops the connection without an answer.
func closeConn(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// halfBody promises the whole of s, sends half of it and drops the connection.
func halfBody(s string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(s), s[:len(s)/2])
		_ = buf.Flush()
	}
}

// slow answers s, but only after d.
func slow(d time.Duration, s string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
			_, _ = w.Write([]byte(s))
		case <-r.Context().Done():
		}
	}
}
