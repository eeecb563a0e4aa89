package httpserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
)

// servers are the test servers by base URL, for tests that look inside.
var servers sync.Map

func queueOf(t *testing.T, base string) *loopQueue {
	t.Helper()
	s, ok := servers.Load(base)
	if !ok {
		t.Fatalf("no server at %s", base)
	}
	return s.(*Server).queue
}

// What hostile or broken clients do to the server, on loopback with small
// limits so each case stays short.

// rawConn dials base and writes s as it is.
func rawConn(t *testing.T, base, s string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, s); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readAnswer reads one response from conn and reports whether the server
// closed the connection after it.
func readAnswer(t *testing.T, conn net.Conn, within time.Duration) (resp *http.Response, body string, closed bool) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", within, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = br.ReadByte()
	return resp, string(b), err == io.EOF
}

// Connections that send a POST's headers and one byte of its body hold no
// per-client slot: the web app on the same address still gets through, and
// each slow body gets a JSON 408 once the body timeout passes, with no
// socket address in it, and its connection closed.
func TestSlowBodiesDoNotLockOutOtherRequests(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrentPerClient = 4
	cfg.BodyTimeout = 500 * time.Millisecond
	s, base := startServer(t, cfg)
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/refresh", Handler: echo("refresh")}})
	var slow []net.Conn
	for range 8 {
		slow = append(slow, rawConn(t, base, "POST /app/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"))
	}
	time.Sleep(100 * time.Millisecond) // their headers are in
	if r := do(t, nil, "POST", base+"/app/refresh", strings.NewReader(`["alice"]`), nil); r.status != 200 {
		t.Errorf("a client beside 8 slow bodies got %d %s, want 200", r.status, r.body)
	}
	for _, c := range slow {
		resp, body, closed := readAnswer(t, c, 3*time.Second)
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow body answered %d %s, want 408", resp.StatusCode, body)
		}
		if strings.Contains(body, "127.0.0.1") || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("slow body's answer %q: want JSON without socket addresses", body)
		}
		if !closed {
			t.Error("connection left open after a body that never came")
		}
	}
}

// A body shorter than its Content-Length, then the client waits: 408 after
// the body timeout, not after the 30 s read timeout.
func TestShortBodyIsAnsweredAfterTheBodyTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.BodyTimeout = 300 * time.Millisecond
	s, base := startServer(t, cfg)
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/refresh", Handler: echo("refresh")}})
	start := time.Now()
	c := rawConn(t, base, "POST /app/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"alice\"]")
	resp, body, _ := readAnswer(t, c, 5*time.Second)
	if resp.StatusCode != http.StatusRequestTimeout || strings.Contains(body, "127.0.0.1") {
		t.Errorf("answered %d %s, want a 408 without addresses", resp.StatusCode, body)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("answered after %v; the body timeout is 300 ms", took)
	}
}

// A request carrying both Content-Length and Transfer-Encoding is
// answered, and its connection closed (RFC 9112 §6.3).
func TestRequestWithContentLengthAndTransferEncodingClosesItsConnection(t *testing.T) {
	s, base := startServer(t, testConfig())
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/refresh", Handler: echo("refresh")}})
	c := rawConn(t, base, "POST /app/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"+
		"GET /app/refresh HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body, closed := readAnswer(t, c, 3*time.Second)
	if resp.StatusCode != 200 {
		t.Errorf("answered %d %s", resp.StatusCode, body)
	}
	if !closed {
		t.Error("the connection stayed open for another request")
	}
}

// With the default (loopback) proxies, X-Forwarded-For still sets the
// client IP handlers see, as in Prosody, but not whom the per-client limit
// counts: a local client cannot escape it by claiming addresses. With
// proxies the operator named, the limit counts the forwarded clients.
func TestForwardedForEscapesThePerClientLimitOnlyThroughNamedProxies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted []string
		want    int
	}{
		{"default proxies", nil, http.StatusTooManyRequests},
		{"proxies named by the operator", []string{"127.0.0.1"}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxConcurrentPerClient = 2
			cfg.TrustedProxies = tt.trusted
			s, base := startServer(t, cfg)
			release := make(chan struct{})
			var entered sync.WaitGroup
			entered.Add(2)
			mustMount(t, s, "/app", []Route{
				{Method: "GET", Path: "/block", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
					entered.Done()
					<-release
				}},
				{Method: "GET", Path: "/ip", Handler: func(w http.ResponseWriter, r *http.Request, _ string) { io.WriteString(w, ClientIP(r)) }},
			})
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					do(t, client, "GET", base+"/app/block", nil, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)})
				}()
			}
			entered.Wait()
			r := do(t, client, "GET", base+"/app/ip", nil, map[string]string{"X-Forwarded-For": "203.0.113.9"})
			close(release)
			wg.Wait()
			if r.status != tt.want {
				t.Errorf("third request from another claimed address: %d, want %d", r.status, tt.want)
			}
			if r.status == 200 && r.body != "203.0.113.9" {
				t.Errorf("client IP %q, want the forwarded one", r.body)
			}
		})
	}
}

// Requests waiting for a Queued route are bounded in number and in body
// bytes: over either, 503 JSON with Retry-After. One body bigger than the
// whole byte bound still gets in when nothing else waits.
func TestQueuedRequestsAreBoundedInNumberAndBytes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxQueuedRequests = 2
	cfg.MaxQueuedBytes = 1000
	s, base := startServer(t, cfg)
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/wait", Queued: true, Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
		entered <- struct{}{}
		<-release
	}}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	post := func(size int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(t, client, "POST", base+"/app/wait", strings.NewReader(strings.Repeat("x", size)), nil)
		}()
		<-entered
	}
	post(2000) // alone, over the byte bound: admitted
	if r := do(t, client, "POST", base+"/app/wait", strings.NewReader("x"), nil); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("beside 2000 queued bytes (bound 1000): %d Retry-After=%q, want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	} else {
		jsonError(t, r)
	}
	close(release)
	wg.Wait()

	release = make(chan struct{})
	post(10)
	post(10)
	if r := do(t, client, "POST", base+"/app/wait", strings.NewReader("x"), nil); r.status != 503 {
		t.Errorf("third queued request (bound 2): %d, want 503", r.status)
	}
	close(release)
	wg.Wait()
	if jobs, bytes := s.queue.depth(); jobs != 0 || bytes != 0 {
		t.Errorf("queue holds %d requests, %d bytes after every answer", jobs, bytes)
	}
}

// While the loop is busy, requests whose clients give up leave the queue
// with them: their handlers never run, and the queue's place is free.
func TestAbandonedRequestsNeverRunAndLeaveTheQueue(t *testing.T) {
	cfg := testConfig()
	cfg.MaxQueuedRequests = 4
	loop, base := mountLua(t, cfg, `
ran = 0
return { ["POST /count"] = function() ran = ran + 1; return tostring(ran) end }`)
	busy := make(chan struct{})
	loop.Post(func(*glua.LState) { <-busy })
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/app/count", strings.NewReader(strings.Repeat("x", 1000)))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("answered %d while the loop was busy", resp.StatusCode)
		}
		cancel()
	}
	// The server notices each client's close on its own read of the
	// connection; the queue is empty once it has noticed them all.
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		jobs, _ := queueOf(t, base).depth()
		return jobs == 0, fmt.Sprintf("%d abandoned requests still queued", jobs)
	})
	close(busy)
	if r := do(t, nil, "POST", base+"/app/count", strings.NewReader("x"), nil); r.status != 200 || r.body != "1" {
		t.Errorf("after 10 abandoned requests: %d %q, want 200 \"1\" (no abandoned handler ran, none refused with 503)", r.status, r.body)
	}
}
