package compat_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
)

// callbackReport issues request(URL, options) with a callback that reports
// code, body, whether the third argument is the request object (as on
// failure), and the
// response's content-type and x-multi headers.
const callbackReport = `
	local http = require "net.http"
	local req = http.request(URL, OPTIONS and (loadstring or load)("return " .. OPTIONS)(), function (body, code, resp, req)
		done(code, body, type(resp) == "table" and resp.url == URL, type(resp) == "table" and resp.headers and resp.headers["content-type"] or false,
			type(resp) == "table" and resp.headers and resp.headers["x-multi"] or false)
	end)
	assert(type(req) == "table" and type(req.cancel) == "function", "request object with cancel")
`

func TestNetHTTPCallbackGetsCodeAndBodyWhateverTheStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "hello")
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no such thing")
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "oops")
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path string
		code float64
		body string
	}{
		{"/ok", 200, "hello"},
		{"/missing", 404, "no such thing"},
		{"/broken", 500, "oops"},
		{"/moved", 302, ""}, // redirects are not followed
	}
	l := newLoop(t)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL + tt.path}), 5*time.Second)
			if got[0] != tt.code || got[1] != tt.body || got[2] != false {
				t.Errorf("got code %v body %q resp==req %v, want %v %q false", got[0], got[1], got[2], tt.code, tt.body)
			}
			if tt.code != 302 && (got[3] != "text/plain" || got[4] != "a,b") {
				t.Errorf("headers: content-type %v x-multi %v, want text/plain and a,b", got[3], got[4])
			}
		})
	}
}

func TestNetHTTPFailuresGiveCodeZeroAndAReason(t *testing.T) {
	refused := testkit.ClosedAddr(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		if r.URL.Path == "/partial" {
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little")
			buf.Flush()
		}
		// /close: hang up without a word.
	}))
	defer srv.Close()
	tests := []struct {
		name, url, reason string
	}{
		{"connection refused", "http://" + refused + "/", "connection refused"},
		{"closed before answering", srv.URL + "/close", "closed"},
		{"closed mid-body", srv.URL + "/partial", "unexpected-eof"},
	}
	l := newLoop(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": tt.url}), 5*time.Second)
			if got[0] != 0.0 || got[1] != tt.reason || got[2] != true {
				t.Errorf("got code %v body %q third-arg-is-request %v, want 0 %q true", got[0], got[1], got[2], tt.reason)
			}
		})
	}
}

func TestNetHTTPInvalidURLFailsAtOnce(t *testing.T) {
	l := newLoop(t)
	ch := testkit.RunLuaAsync(t, l, `
		local http = require "net.http"
		local seen
		local req, err = http.request("not a url", nil, function (body, code) seen = { body, code } end)
		done(req == nil, err, seen and seen[1], seen and seen[2])
	`, nil)
	got := testkit.Await(t, ch, time.Second)
	if got[0] != true || got[1] != "invalid-url" || got[2] != "invalid-url" || got[3] != 0.0 {
		t.Errorf("got %v, want nil request, invalid-url, callback(invalid-url, 0) before return", got)
	}
}

func TestNetHTTPTimeoutEndsAHangingRequestWithoutBlockingTheLoop(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	l := newLoop(t)
	start := time.Now()
	ch := testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL, "OPTIONS": "{ timeout = 0.3 }"})

	// The loop stays free while the request hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := l.Do(ctx, func(L *glua.LState) error { return nil }); err != nil {
		t.Fatalf("loop blocked by a hanging request: %v", err)
	}

	got := testkit.Await(t, ch, 5*time.Second)
	if got[0] != 0.0 || got[1] != "timeout" {
		t.Errorf("got code %v body %q, want 0 timeout", got[0], got[1])
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("timed out after %v, want about 0.3 s", took)
	}
}

func TestNetHTTPDefaultTimeoutComesFromSetHTTPDefaults(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	l := newLoop(t)
	setDefaults(t, l, compat.HTTPDefaults{Timeout: 200 * time.Millisecond})
	got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL}), 5*time.Second)
	if got[0] != 0.0 || got[1] != "timeout" {
		t.Errorf("got code %v body %q, want 0 timeout", got[0], got[1])
	}
}

func TestNetHTTPRejectsBodiesOverTheLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: the limit applies while reading
		}
		io.WriteString(w, strings.Repeat("x", 2000))
	}))
	defer srv.Close()
	l := newLoop(t)
	setDefaults(t, l, compat.HTTPDefaults{MaxBody: 1000})
	for _, path := range []string{"/sized", "/chunked"} {
		got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL + path}), 5*time.Second)
		if got[0] != 0.0 || got[1] != "content-length-limit-exceeded" {
			t.Errorf("%s: got code %v body %q, want 0 content-length-limit-exceeded", path, got[0], got[1])
		}
	}
	setDefaults(t, l, compat.HTTPDefaults{MaxBody: 2000})
	got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL + "/chunked"}), 5*time.Second)
	if got[0] != 200.0 {
		t.Errorf("body at the limit: got code %v, want 200", got[0])
	}
}

func TestNetHTTPSendsMethodHeadersAndBody(t *testing.T) {
	type seen struct{ method, ctype, ua, custom, body string }
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), r.Header.Get("X-Custom"), string(b)}
	}))
	defer srv.Close()
	tests := []struct {
		options string
		want    seen
	}{
		{`nil`, seen{"GET", "", "modhost", "", ""}},
		{`{ body = "a=1" }`, seen{"POST", "application/x-www-form-urlencoded", "modhost", "", "a=1"}},
		{`{ method = "put", body = "[]", headers = { ["content-type"] = "application/json", ["X-Custom"] = "yes", ["User-Agent"] = "mine" } }`,
			seen{"PUT", "application/json", "mine", "yes", "[]"}},
		{`{ method = "DELETE" }`, seen{"DELETE", "", "modhost", "", ""}},
	}
	l := newLoop(t)
	for _, tt := range tests {
		t.Run(tt.options, func(t *testing.T) {
			res := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL, "OPTIONS": tt.options}), 5*time.Second)
			if res[0] != 200.0 {
				t.Fatalf("code %v", res[0])
			}
			if s := <-got; s != tt.want {
				t.Errorf("server saw %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestNetHTTPPromiseFulfilsWithTheResponseAndRejectsOnlyOnFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "fine")
	}))
	defer srv.Close()
	src := `
		local http = require "net.http"
		local p = http.request(URL)
		assert(require "util.promise".is_promise(p), "a promise")
		p:next(function (resp)
			done("fulfilled", resp.code, resp.body, type(resp.request) == "table" and resp.request.url == URL)
		end, function (err)
			done("rejected", err.code, err.condition, err.context.request.url == URL, err.text)
		end)
	`
	tests := []struct {
		name string
		url  string
		want []any
	}{
		{"200", srv.URL + "/", []any{"fulfilled", 200.0, "fine", true}},
		{"404", srv.URL + "/missing", []any{"fulfilled", 404.0, "404 page not found\n", true}},
		{"refused", "http://" + testkit.ClosedAddr(t) + "/", []any{"rejected", 0.0, "remote-server-not-found", true, "Connection refused"}},
		{"invalid", "http:///nohost", []any{"rejected", 0.0, "bad-request", true, "Invalid URL"}},
	}
	l := newLoop(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testkit.Await(t, testkit.RunLuaAsync(t, l, src, map[string]string{"URL": tt.url}), 5*time.Second)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNetHTTPCancelCallsBackOnceWithCancelled(t *testing.T) {
	hit := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	l := newLoop(t)
	ch := testkit.RunLuaAsync(t, l, `
		local http = require "net.http"
		local report = done
		req = http.request(URL, nil, function (body, code) report(code, body) end)
	`, map[string]string{"URL": srv.URL})
	<-hit
	testkit.RunLuaAsync(t, l, `req:cancel(); req:cancel()`, nil)
	got := testkit.Await(t, ch, 5*time.Second)
	if got[0] != 0.0 || got[1] != "cancelled" {
		t.Errorf("got %v, want 0 cancelled", got)
	}
	select {
	case extra := <-ch:
		t.Errorf("callback ran again: %v", extra)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestNetHTTPInsecureSkipsCertificateVerification(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	l := newLoop(t)
	got := testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL}), 5*time.Second)
	if got[0] != 0.0 || got[1] != "certificate-chain-invalid" {
		t.Errorf("verified: got %v, want 0 certificate-chain-invalid", got[:2])
	}
	got = testkit.Await(t, testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL, "OPTIONS": "{ insecure = true }"}), 5*time.Second)
	if got[0] != 200.0 || got[1] != "secret" {
		t.Errorf("insecure: got %v, want 200 secret", got[:2])
	}
	got = testkit.Await(t, testkit.RunLuaAsync(t, l, `
		local http = require "net.http".new({ insecure = true })
		http:request(URL, nil, function (body, code) done(code, body) end)
	`, map[string]string{"URL": srv.URL}), 5*time.Second)
	if got[0] != 200.0 {
		t.Errorf("instance option insecure: got %v, want 200", got)
	}
}

func TestNetHTTPManyConcurrentRequestsReuseConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, r.URL.Query().Get("n"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	l := newLoop(t)
	setDefaults(t, l, compat.HTTPDefaults{MaxConnsPerHost: 8})
	const n = 300
	ch := testkit.RunLuaAsync(t, l, `
		local http = require "net.http"
		local ok = 0
		local n = tonumber(N)
		for i = 1, n do
			http.request(URL .. "?n=" .. i, nil, function (body, code)
				if code == 200 and body == tostring(i) then ok = ok + 1 end
				if ok == n then done(ok) end
			end)
		end
	`, map[string]string{"URL": srv.URL, "N": fmt.Sprint(n)})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-ch:
			if got[0] == float64(n) {
				if c := conns.Load(); c > 8 {
					t.Errorf("opened %d connections, want at most 8", c)
				}
				return
			}
		case <-deadline:
			t.Fatal("requests did not all succeed")
		}
	}
}

func TestNetHTTPLoopCloseCancelsInFlightRequests(t *testing.T) {
	var mu sync.Mutex
	cancelled := false
	hit := make(chan struct{}, 1)
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		select {
		case <-r.Context().Done():
			mu.Lock()
			cancelled = true
			mu.Unlock()
			close(gone)
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	l := lua.NewLoop(lua.Options{Libraries: compat.Libraries()})
	testkit.RunLuaAsync(t, l, callbackReport, map[string]string{"URL": srv.URL})
	<-hit
	l.Close(nil)
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if !cancelled {
		t.Error("request still in flight after the loop closed")
	}
}

func TestNetHTTPReexportsURLCodecs(t *testing.T) {
	l := newLoop(t)
	got := testkit.Await(t, testkit.RunLuaAsync(t, l, `
		local http = require "net.http"
		done(http.urlencode("a b/c"), http.urldecode("%41"), http.formencode({ { name = "k", value = "v w" } }),
			http.formdecode("x=1").x, type(http.new), type(http.default.request))
	`, nil), time.Second)
	want := []any{"a%20b%2fc", "A", "k=v+w", "1", "function", "function"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func setDefaults(t *testing.T, l *lua.Loop, d compat.HTTPDefaults) {
	t.Helper()
	err := l.Do(context.Background(), func(L *glua.LState) error {
		compat.SetHTTPDefaults(L, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// destroy_request, which a plugin calls when it stops waiting, closes the
// connection at once and the callback is never called, as in Prosody; it
// used to be missing, so the request ran on to http_client_timeout with its
// socket open (issue 13, point 7).
func TestNetHTTPDestroyRequestClosesTheConnection(t *testing.T) {
	url, closed := testkit.DrippingServer(t, "/", 50*time.Millisecond)
	l := newLoop(t)
	got := testkit.RunLuaAsync(t, l, `
		local http = require "net.http"
		local called = false
		local req = http.request(URL, nil, function () called = true end)
		assert(type(http.destroy_request) == "function", "net.http.destroy_request")
		require "util.timer".add_task(0.3, function ()
			http.destroy_request(req)
			assert(req.conn == nil, "destroy_request leaves request.conn")
			done("destroyed")
			require "util.timer".add_task(0.5, function () done(called) end)
		end)`, map[string]string{"URL": url})
	if r := testkit.Await(t, got, 5*time.Second); r[0] != "destroyed" {
		t.Fatalf("got %v", r)
	}
	destroyed := time.Now()
	select {
	case at := <-closed:
		if d := at.Sub(destroyed); d > time.Second {
			t.Fatalf("connection closed %v after destroy_request", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("connection still open 2 s after destroy_request")
	}
	if r := testkit.Await(t, got, 5*time.Second); r[0] != false {
		t.Fatalf("callback called after destroy_request: %v", r)
	}
}
