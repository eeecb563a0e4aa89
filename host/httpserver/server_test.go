package httpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig listens on one ephemeral loopback port, plain HTTP only.
func testConfig() Config {
	return Config{HTTPPorts: []int{0}, HTTPSPorts: []int{}, Interfaces: []string{"127.0.0.1"}}
}

// startServer starts s and stops it when the test ends; it returns the base URL.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		// Connections the shared transport dialed but never used would
		// hold Shutdown for seconds.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx) // best effort at cleanup
	})
	servers.Store(s.URLs()[0], s)
	return s, s.URLs()[0]
}

// testHost is the one host of single-host tests; every Host reaches it.
const testHost = "localhost"

func mustMount(t *testing.T, s *Server, base string, routes []Route) func() {
	t.Helper()
	return mustMountOn(t, s, testHost, base, routes)
}

func mustMountOn(t *testing.T, s *Server, host, base string, routes []Route) func() {
	t.Helper()
	unmount, err := s.Mount(host, base, routes, "test")
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return unmount
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, client *http.Client, method, url string, body io.Reader, header map[string]string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// rawRequest sends path unaltered (net/http's client would clean "..").
func rawRequest(t *testing.T, base, method, path string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// echo answers with its name, the captured rest and the routed path.
func echo(name string) Handler {
	return func(w http.ResponseWriter, r *http.Request, rest string) {
		fmt.Fprintf(w, "%s|%s|%s", name, rest, Path(r))
	}
}

func jsonError(t *testing.T, r result) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var v struct{ Error string }
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Error == "" {
		t.Errorf("error body %q is not {\"error\": ...}", r.body)
	}
	return v.Error
}

func TestRoutingFollowsProsodyRouteForms(t *testing.T) {
	s, base := startServer(t, testConfig())
	mustMount(t, s, "/app", []Route{
		{Method: "GET", Path: "", Handler: echo("base")},
		{Method: "GET", Path: "/x", Handler: echo("get-x")},
		{Method: "POST", Path: "/x", Handler: echo("post-x")},
		{Method: "GET", Path: "/files/*", Handler: echo("files")},
		{Method: "GET", Path: "/files/special", Handler: echo("special")},
		{Method: "GET", Path: "/files/deep/*", Handler: echo("deep")},
		{Method: "", Path: "/any", Handler: echo("any")},
		{Method: "GET", Path: "/dir/", Handler: echo("dir")},
	})
	mustMount(t, s, "/", []Route{{Method: "GET", Path: "/root", Handler: echo("root")}})
	tests := []struct {
		method, path string
		status       int
		body         string
		location     string
	}{
		{"GET", "/app", 200, "base||/app", ""},
		{"GET", "/app/x", 200, "get-x||/app/x", ""},
		{"POST", "/app/x", 200, "post-x||/app/x", ""},
		{"GET", "/app/files/a/b", 200, "files|a/b|/app/files/a/b", ""},
		{"GET", "/app/files/", 200, "files||/app/files/", ""},
		{"GET", "/app/files", 301, "", "/app/files/"},
		{"GET", "/app/files?q=1", 301, "", "/app/files/?q=1"},
		{"GET", "/app/files/special", 200, "special||/app/files/special", ""},
		{"GET", "/app/files/special/more", 200, "files|special/more|/app/files/special/more", ""},
		{"GET", "/app/files/deep/q", 200, "deep|q|/app/files/deep/q", ""},
		{"PUT", "/app/any", 200, "any||/app/any", ""},
		{"DELETE", "/app/any", 200, "any||/app/any", ""},
		{"GET", "/app/dir/", 200, "dir||/app/dir/", ""},
		{"GET", "/app/dir", 301, "", "/app/dir/"},
		{"HEAD", "/app/x", 200, "", ""},
		{"GET", "/app//x", 200, "get-x||/app/x", ""},
		{"GET", "/app/%78", 200, "get-x||/app/x", ""},
		{"GET", "/root", 200, "root||/root", ""},
		{"GET", "/app/x/", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, nil, tt.method, base+tt.path, nil, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if tt.body != "" && r.body != tt.body {
				t.Errorf("body = %q, want %q", r.body, tt.body)
			}
			if loc := r.header.Get("Location"); loc != tt.location {
				t.Errorf("Location = %q, want %q", loc, tt.location)
			}
		})
	}
}

func TestPathClimbingAboveRootIsBadRequest(t *testing.T) {
	s, base := startServer(t, testConfig())
	mustMount(t, s, "/app", []Route{{Method: "GET", Path: "/x", Handler: echo("x")}})
	if got := rawRequest(t, base, "GET", "/app/../../etc/passwd"); got != 400 {
		t.Errorf("status = %d, want 400", got)
	}
	if got := rawRequest(t, base, "GET", "/app/y/../x"); got != 404 {
		t.Errorf("dot-dot inside the root is not resolved (as in Prosody): status = %d, want 404", got)
	}
}

func TestWrongMethodIs405WithAllowAndUnknownPathIs404(t *testing.T) {
	s, base := startServer(t, testConfig())
	mustMount(t, s, "/app", []Route{
		{Method: "GET", Path: "/x", Handler: echo("get")},
		{Method: "POST", Path: "/x", Handler: echo("post")},
	})
	r := do(t, nil, "DELETE", base+"/app/x", nil, nil)
	if r.status != 405 {
		t.Fatalf("status = %d, want 405", r.status)
	}
	if allow := r.header.Get("Allow"); allow != "GET, HEAD, POST" {
		t.Errorf("Allow = %q, want %q", allow, "GET, HEAD, POST")
	}
	jsonError(t, r)

	for _, path := range []string{"/app/nope", "/elsewhere"} {
		r = do(t, nil, "GET", base+path, nil, nil)
		if r.status != 404 {
			t.Errorf("GET %s: status = %d, want 404", path, r.status)
		}
		jsonError(t, r)
	}
}

func TestRequestBodyOverLimitIs413(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBody = 16
	s, base := startServer(t, cfg)
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/echo", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
		io.Copy(w, r.Body)
	}}})
	tests := []struct {
		name   string
		body   io.Reader
		status int
	}{
		{"at the limit", strings.NewReader(strings.Repeat("a", 16)), 200},
		{"over the limit with Content-Length", strings.NewReader(strings.Repeat("a", 17)), 413},
		{"over the limit chunked", io.MultiReader(strings.NewReader(strings.Repeat("a", 40))), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, nil, "POST", base+"/app/echo", tt.body, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d", r.status, tt.status)
			}
			if tt.status == 413 {
				jsonError(t, r)
			}
		})
	}
}

// A client that writes its whole body before reading (curl with a file,
// Python's http.client) must read the 413, not a connection reset: the
// server reads and discards the rest of an oversized body first. 12 MB is
// more than loopback's socket buffers hold, so a server that closes early
// breaks the client's write.
func TestOversizedBodyWrittenWholeFirstStillGetsItsJSON413(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBody = 1 << 20
	s, base := startServer(t, cfg)
	mustMount(t, s, "/app", []Route{{Method: "POST", Path: "/echo", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
		_, _ = io.Copy(w, r.Body)
	}}})
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		name    string
		headers string
	}{
		{"announced by Content-Length", "Content-Length: 12000000\r\n"},
		{"chunked", "Transfer-Encoding: chunked\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			body := bytes.Repeat([]byte("a"), 12000000)
			if strings.HasPrefix(tc.headers, "Transfer") {
				body = append(append([]byte(fmt.Sprintf("%x\r\n", len(body))), body...), "\r\n0\r\n\r\n"...)
			}
			req := append([]byte("POST /app/echo HTTP/1.1\r\nHost: localhost\r\n"+tc.headers+"\r\n"), body...)
			if _, err := conn.Write(req); err != nil {
				t.Fatalf("writing the whole request: %v", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer after writing everything: %v", err)
			}
			answer, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 413 || !strings.Contains(string(answer), `"error"`) || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("answer %d %s %q, want a JSON 413", resp.StatusCode, resp.Header.Get("Content-Type"), answer)
			}
		})
	}
}

func TestHandlerPastDeadlineGets504AndPanicGets500(t *testing.T) {
	cfg := testConfig()
	cfg.HandlerDeadline = 100 * time.Millisecond
	s, base := startServer(t, cfg)
	mustMount(t, s, "/app", []Route{
		{Method: "GET", Path: "/slow", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
			<-r.Context().Done()
			time.Sleep(20 * time.Millisecond)
			io.WriteString(w, "too late")
		}},
		{Method: "GET", Path: "/panic", Handler: func(http.ResponseWriter, *http.Request, string) { panic("boom") }},
		{Method: "GET", Path: "/ok", Handler: echo("ok")},
	})
	r := do(t, nil, "GET", base+"/app/slow", nil, nil)
	if r.status != 504 {
		t.Errorf("slow: status = %d, want 504", r.status)
	}
	jsonError(t, r)
	r = do(t, nil, "GET", base+"/app/panic", nil, nil)
	if r.status != 500 {
		t.Errorf("panic: status = %d, want 500", r.status)
	}
	jsonError(t, r)
	if r = do(t, nil, "GET", base+"/app/ok", nil, nil); r.status != 200 {
		t.Errorf("server stopped serving after a panic: status %d", r.status)
	}
}

func TestMountAndUnmountAtRuntime(t *testing.T) {
	s, base := startServer(t, testConfig())
	if r := do(t, nil, "GET", base+"/a/x", nil, nil); r.status != 404 {
		t.Fatalf("before mount: %d", r.status)
	}
	unmountA := mustMount(t, s, "/a", []Route{{Method: "GET", Path: "/x", Handler: echo("a")}})
	mustMount(t, s, "/b", []Route{{Method: "GET", Path: "/*", Handler: echo("b")}})
	if r := do(t, nil, "GET", base+"/a/x", nil, nil); r.status != 200 {
		t.Fatalf("after mount: %d", r.status)
	}
	if _, err := s.Mount(testHost, "/a", []Route{{Method: "GET", Path: "/x", Handler: echo("dup")}}, "other"); err == nil {
		t.Error("mounting the same route twice succeeded")
	}
	if _, err := s.Mount(testHost, "/c", []Route{{Method: "GET", Path: "/:id", Handler: echo("param")}}, "other"); err == nil {
		t.Error("a route with ':' was accepted")
	}
	unmountA()
	unmountA() // a second call does nothing
	if r := do(t, nil, "GET", base+"/a/x", nil, nil); r.status != 404 {
		t.Errorf("after unmount: %d, want 404", r.status)
	}
	if r := do(t, nil, "GET", base+"/b/y", nil, nil); r.body != "b|y|/b/y" {
		t.Errorf("other mount affected by unmount: %d %q", r.status, r.body)
	}
	mustMount(t, s, "/a", []Route{{Method: "GET", Path: "/x", Handler: echo("a2")}})
	if r := do(t, nil, "GET", base+"/a/x", nil, nil); r.body != "a2||/a/x" {
		t.Errorf("remount: %q", r.body)
	}
}

func TestShutdownLetsInFlightRequestFinish(t *testing.T) {
	s := New(testConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := s.URLs()[0]
	entered, release := make(chan struct{}), make(chan struct{})
	mustMount(t, s, "/app", []Route{{Method: "GET", Path: "/wait", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}}})
	got := make(chan result, 1)
	go func() { got <- do(t, nil, "GET", base+"/app/wait", nil, nil) }()
	<-entered
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) before the request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %d %q", r.status, r.body)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("still accepting connections after Shutdown")
	}
}

func TestWildcardIPv4AndIPv6ShareAPort(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	cfg := testConfig()
	cfg.HTTPPorts = []int{port}
	cfg.Interfaces = []string{"*", "::"}
	s := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Start(context.Background()); err != nil {
		if strings.Contains(err.Error(), "::") {
			t.Skipf("no IPv6 here: %v", err)
		}
		t.Fatalf("Start with * and :: on one port: %v", err)
	}
	defer func() { _ = s.Shutdown(context.Background()) }()
	if n := len(s.Addrs()); n != 2 {
		t.Errorf("listening on %d addresses, want 2", n)
	}
}

func TestStartFailsClearlyOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.HTTPPorts = []int{ln.Addr().(*net.TCPAddr).Port}
	s := New(cfg, nil)
	err = s.Start(context.Background())
	if err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("Start succeeded on a busy port")
	}
	if !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address and the cause", err)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and localhost.
func writeSelfSigned(t *testing.T, certPath, keyPath string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return pool
}

func TestHTTPSWithSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		setup func(cfg *Config) *x509.CertPool
	}{
		{"https_certificate with key derived from the .crt name", func(cfg *Config) *x509.CertPool {
			cfg.CertFile = filepath.Join(dir, "a", "svc.crt")
			return writeSelfSigned(t, cfg.CertFile, filepath.Join(dir, "a", "svc.key"))
		}},
		{"certificates folder https/fullchain.pem", func(cfg *Config) *x509.CertPool {
			cfg.CertDir = filepath.Join(dir, "b")
			return writeSelfSigned(t, filepath.Join(cfg.CertDir, "https", "fullchain.pem"), filepath.Join(cfg.CertDir, "https", "privkey.pem"))
		}},
		{"certificates folder indexed by name", func(cfg *Config) *x509.CertPool {
			cfg.CertDir = filepath.Join(dir, "c")
			return writeSelfSigned(t, filepath.Join(cfg.CertDir, "localhost.crt"), filepath.Join(cfg.CertDir, "localhost.key"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.HTTPPorts = []int{}
			cfg.HTTPSPorts = []int{0}
			pool := tt.setup(&cfg)
			s, base := startServer(t, cfg)
			if !strings.HasPrefix(base, "https://") {
				t.Fatalf("URL %q is not https", base)
			}
			mustMount(t, s, "/app", []Route{{Method: "GET", Path: "/s", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
				fmt.Fprint(w, Secure(r))
			}}})
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			if r := do(t, client, "GET", base+"/app/s", nil, nil); r.status != 200 || r.body != "true" {
				t.Errorf("got %d %q, want 200 true", r.status, r.body)
			}
		})
	}
}

func TestHTTPSWithoutUsableCertificate(t *testing.T) {
	dir := t.TempDir()
	t.Run("explicit https ports fail Start", func(t *testing.T) {
		cfg := testConfig()
		cfg.HTTPSPorts = []int{0}
		cfg.CertDir = dir
		if err := New(cfg, nil).Start(context.Background()); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("Start error = %v, want an https certificate error", err)
		}
	})
	t.Run("missing https_certificate file fails Start", func(t *testing.T) {
		cfg := testConfig()
		cfg.HTTPSPorts = nil
		cfg.CertFile = filepath.Join(dir, "missing.crt")
		if err := New(cfg, nil).Start(context.Background()); err == nil {
			t.Error("Start succeeded")
		}
	})
	t.Run("default https ports without certificate serve plain HTTP only", func(t *testing.T) {
		cfg := testConfig()
		cfg.HTTPSPorts = nil
		s, _ := startServer(t, cfg)
		if urls := s.URLs(); len(urls) != 1 || !strings.HasPrefix(urls[0], "http://") {
			t.Errorf("URLs = %v, want one http URL", urls)
		}
	})
}

func TestCORSHeadersOnlyWhenConfigured(t *testing.T) {
	routes := []Route{{Method: "POST", Path: "/x", Handler: echo("x")}}
	t.Run("off", func(t *testing.T) {
		s, base := startServer(t, testConfig())
		mustMount(t, s, "/app", routes)
		r := do(t, nil, "POST", base+"/app/x", nil, map[string]string{"Origin": "https://web.example"})
		if v := r.header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("CORS header set without CORS config: %q", v)
		}
		if r := do(t, nil, "OPTIONS", base+"/app/x", nil, nil); r.status != 405 {
			t.Errorf("OPTIONS without CORS: %d, want 405", r.status)
		}
	})
	t.Run("on", func(t *testing.T) {
		cfg := testConfig()
		cfg.CORS = &CORSConfig{AllowOrigins: []string{"https://web.example"}}
		s, base := startServer(t, cfg)
		mustMount(t, s, "/app", routes)
		tests := []struct {
			method, origin, wantOrigin, wantMethods string
		}{
			{"POST", "https://web.example", "https://web.example", "GET, OPTIONS, POST"},
			{"OPTIONS", "https://web.example", "https://web.example", "GET, OPTIONS, POST"},
			{"POST", "https://evil.example", "", ""},
		}
		for _, tt := range tests {
			r := do(t, nil, tt.method, base+"/app/x", nil, map[string]string{"Origin": tt.origin})
			if r.status != 200 {
				t.Errorf("%s from %s: status %d", tt.method, tt.origin, r.status)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("%s from %s: Allow-Origin %q, want %q", tt.method, tt.origin, got, tt.wantOrigin)
			}
			if got := r.header.Get("Access-Control-Allow-Methods"); got != tt.wantMethods {
				t.Errorf("%s from %s: Allow-Methods %q, want %q", tt.method, tt.origin, got, tt.wantMethods)
			}
		}
	})
}

func TestConcurrentRequestsAndPerClientLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrentPerClient = 4
	s, base := startServer(t, cfg)
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(4)
	mustMount(t, s, "/app", []Route{
		{Method: "GET", Path: "/block", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
			entered.Done()
			<-release
			io.WriteString(w, "done")
		}},
		{Method: "GET", Path: "/fast", Handler: echo("fast")},
	})
	// Its own transport, so the connections it dials but does not use can be
	// closed: the server's Shutdown would wait for them.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	results := make(chan int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results <- do(t, client, "GET", base+"/app/block", nil, nil).status }()
	}
	entered.Wait()
	r := do(t, client, "GET", base+"/app/fast", nil, nil)
	if r.status != 429 {
		t.Errorf("fifth concurrent request: %d, want 429", r.status)
	}
	jsonError(t, r)
	close(release)
	wg.Wait()
	close(results)
	for st := range results {
		if st != 200 {
			t.Errorf("blocked request: %d", st)
		}
	}
	// Once they are done, many quick requests in parallel all succeed.
	var ok sync.WaitGroup
	for i := 0; i < 40; i++ {
		ok.Add(1)
		go func() {
			defer ok.Done()
			for {
				r := do(t, client, "GET", base+"/app/fast", nil, nil)
				if r.status == 429 {
					time.Sleep(time.Millisecond)
					continue
				}
				if r.status != 200 {
					t.Errorf("parallel request: %d", r.status)
				}
				return
			}
		}()
	}
	ok.Wait()
}

func TestClientIPTrustsForwardedForOnlyFromTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		xff     string
		want    string
	}{
		{"loopback proxy is trusted by default", nil, "203.0.113.7", "203.0.113.7"},
		{"last untrusted hop wins", nil, "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"untrusted peer cannot claim an address", []string{"10.0.0.0/8"}, "203.0.113.7", "127.0.0.1"},
		{"no header", nil, "", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TrustedProxies = tt.trusted
			s, base := startServer(t, cfg)
			mustMount(t, s, "/app", []Route{{Method: "GET", Path: "/ip", Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
				io.WriteString(w, ClientIP(r))
			}}})
			h := map[string]string{}
			if tt.xff != "" {
				h["X-Forwarded-For"] = tt.xff
			}
			if r := do(t, nil, "GET", base+"/app/ip", nil, h); r.body != tt.want {
				t.Errorf("client IP = %q, want %q", r.body, tt.want)
			}
		})
	}
}

func TestBasePathAsModHTTPComputesIt(t *testing.T) {
	tests := []struct {
		name                      string
		module, item, defaultPath string
		paths                     map[string]any
		host                      string
		want                      string
	}{
		{"module name without http_", "http_roster_admin", "", "", nil, "example.com", "/roster_admin"},
		{"item name wins", "http_roster_admin", "admin", "", nil, "example.com", "/admin"},
		{"module without prefix", "bosh", "", "", nil, "example.com", "/bosh"},
		{"default_path", "http_files", "", "/files/", nil, "example.com", "/files"},
		{"http_paths override", "http_roster_admin", "", "", map[string]any{"roster_admin": "/api/roster/"}, "h", "/api/roster"},
		{"http_paths without leading slash", "http_x", "", "", map[string]any{"x": "y"}, "h", "/y"},
		{"root", "http_x", "", "", map[string]any{"x": "/"}, "h", "/"},
		{"$host substituted, other $words kept", "http_x", "", "", map[string]any{"x": "/$host/$other"}, "example.com", "/example.com/$other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BasePath(tt.module, tt.item, tt.defaultPath, tt.paths, tt.host); got != tt.want {
				t.Errorf("BasePath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCleanPathAsProsodyParser(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/a//b///c", "/a/b/c", true},
		{"/a/../../etc/passwd", "", false},
		{"/../x", "", false},
		{"/a/x/../..", "/a/x/../..", true}, // the final ".." is not a directory
		{"/a/./b", "/a/./b", true},
	}
	for _, tt := range tests {
		got, ok := cleanPath(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRootWildcardCoexistsWithOtherMounts(t *testing.T) {
	s, base := startServer(t, testConfig())
	mustMount(t, s, "/", []Route{{Method: "GET", Path: "/*", Handler: echo("root")}})
	mustMount(t, s, "/app", []Route{
		{Method: "GET", Path: "/files/*", Handler: echo("files")},
		{Method: "GET", Path: "/filesystem", Handler: echo("fs")},
		{Method: "POST", Path: "/x", Handler: echo("post")},
	})
	tests := []struct{ method, path, body string }{
		{"GET", "/anything/here", "root|anything/here|/anything/here"},
		{"GET", "/", "root||/"},
		{"GET", "/app/files/a", "files|a|/app/files/a"},
		{"GET", "/app/filesystem", "fs||/app/filesystem"},
		{"GET", "/app/x", "root|app/x|/app/x"},
		{"POST", "/app/x", "post||/app/x"},
	}
	for _, tt := range tests {
		if r := do(t, nil, tt.method, base+tt.path, nil, nil); r.body != tt.body {
			t.Errorf("%s %s: %d %q, want %q", tt.method, tt.path, r.status, r.body, tt.body)
		}
	}
}
