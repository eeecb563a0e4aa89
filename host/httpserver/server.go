// Package httpserver serves the HTTP routes plugins provide, as Prosody 0.12's
// net.http.server and mod_http do: routes are mounted per host name under a
// base path per module, a request goes to the routes of the host its Host
// header names (else to a default host), wildcard routes capture the rest of the path, and every request is
// bounded (body size, handler deadline, concurrency per client). Errors the
// server itself produces are JSON objects {"error": "..."}.
package httpserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server is the HTTP(S) listener set and the routing table mounts change.
type Server struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex // guards mounts, nextID, hostOrder and table swaps
	mounts []*mountEntry
	nextID uint64
	// hostOrder lists hosts in the order they first mounted routes, kept
	// across unmounts so that reloading a module does not move the default.
	hostOrder []string
	tables    atomic.Pointer[hostTables]

	trusted []*net.IPNet

	clientsMu sync.Mutex
	inFlight  map[string]int
	queue     *loopQueue

	srv       *http.Server
	listeners []net.Listener
	schemes   []string // "http" or "https", per listener
}

type mountEntry struct {
	id     uint64
	host   string
	base   string
	owner  string
	routes []Route
}

// New returns a server for cfg (defaults filled in); it listens on Start.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg.withDefaults(), log: log, inFlight: map[string]int{}}
	s.queue = &loopQueue{maxJobs: s.cfg.MaxQueuedRequests, maxBytes: s.cfg.MaxQueuedBytes}
	for _, p := range s.cfg.TrustedProxies {
		if n := parseIPOrCIDR(p); n != nil {
			s.trusted = append(s.trusted, n)
		} else {
			log.Warn("ignoring invalid trusted proxy", "value", p)
		}
	}
	s.cfg.DefaultHost = mountHostName(s.cfg.DefaultHost)
	empty, _ := buildTable(nil, s.serveRoute)
	s.tables.Store(&hostTables{byHost: map[string]*routeTable{}, empty: empty})
	return s
}

// AnyHost mounts routes on every host, as Prosody's mod_http serves a global
// module's app (mod_http_openmetrics) whatever the Host header says. They
// answer before any host's own routes; a host route at the same place is a
// conflict. They do not make a default host.
const AnyHost = "*"

// Mount adds routes under base for host (a host name, matched against
// requests' Host header, or AnyHost) and owner (a module name, for logs and
// conflict errors). Two hosts may mount the same path; within one host a
// route already mounted is an error. It fails, mounting nothing, when a route is
// invalid or already mounted. unmount removes exactly these routes; calling
// it again does nothing. Both may be called while requests are being served.
func (s *Server) Mount(host, base string, routes []Route, owner string) (unmount func(), err error) {
	host = mountHostName(host)
	if host == "" {
		return nil, fmt.Errorf("mount %q for %s: no host name", base, owner)
	}
	if !strings.HasPrefix(base, "/") {
		return nil, fmt.Errorf("mount %q on %s for %s: base path must start with /", base, host, owner)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	m := &mountEntry{id: s.nextID, host: host, base: base, owner: owner, routes: append([]Route(nil), routes...)}
	mounts := append(append([]*mountEntry(nil), s.mounts...), m)
	if err := s.rebuildHost(host, mounts); err != nil {
		return nil, fmt.Errorf("mount %s on %s for %s: %w", base, host, owner, err)
	}
	s.mounts = mounts
	s.log.Debug("mounted HTTP routes", "host", host, "base", base, "owner", owner, "routes", len(routes))
	var once sync.Once
	return func() { once.Do(func() { s.unmount(m.id) }) }, nil
}

func (s *Server) unmount(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []*mountEntry
	var gone *mountEntry
	for _, m := range s.mounts {
		if m.id == id {
			gone = m
			continue
		}
		kept = append(kept, m)
	}
	if gone == nil {
		return
	}
	if err := s.rebuildHost(gone.host, kept); err != nil {
		// Removing routes cannot create a conflict the full set did not have.
		s.log.Error("rebuilding routes after unmount", "host", gone.host, "error", err)
		return
	}
	s.mounts = kept
	s.log.Debug("unmounted HTTP routes", "host", gone.host, "base", gone.base, "owner", gone.owner)
}

// rebuildHost builds host's routing table from its mounts among mounts and
// swaps in a snapshot where only that host changed. A host left without
// mounts is forgotten, so its name is then answered by the default host.
// The caller holds s.mu.
func (s *Server) rebuildHost(host string, mounts []*mountEntry) error {
	if host == AnyHost {
		return s.rebuildAll(mounts)
	}
	own, withGlobal := 0, mountsFor(host, mounts)
	for _, m := range withGlobal {
		if m.host == host {
			own++
		}
	}
	old := s.tables.Load()
	next := &hostTables{byHost: make(map[string]*routeTable, len(old.byHost)+1), empty: old.empty}
	for h, t := range old.byHost {
		if h != host {
			next.byHost[h] = t
		}
	}
	if own > 0 {
		t, err := buildTable(withGlobal, s.serveRoute)
		if err != nil {
			return err
		}
		next.byHost[host] = t
		if !slices.Contains(s.hostOrder, host) {
			s.hostOrder = append(s.hostOrder, host)
		}
	}
	next.defaultHost = s.pickDefaultHost(next.byHost)
	s.tables.Store(next)
	return nil
}

// rebuildAll rebuilds every host's table and the table for requests no
// host answers, after the AnyHost mounts changed. The caller holds s.mu.
func (s *Server) rebuildAll(mounts []*mountEntry) error {
	old := s.tables.Load()
	empty, err := buildTable(mountsFor(AnyHost, mounts), s.serveRoute)
	if err != nil {
		return err
	}
	next := &hostTables{byHost: make(map[string]*routeTable, len(old.byHost)), empty: empty, defaultHost: old.defaultHost}
	for h := range old.byHost {
		t, err := buildTable(mountsFor(h, mounts), s.serveRoute)
		if err != nil {
			return fmt.Errorf("on %s: %w", h, err)
		}
		next.byHost[h] = t
	}
	s.tables.Store(next)
	return nil
}

// mountsFor are the mounts serving host: its own and the AnyHost ones.
func mountsFor(host string, mounts []*mountEntry) []*mountEntry {
	var out []*mountEntry
	for _, m := range mounts {
		if m.host == host || m.host == AnyHost {
			out = append(out, m)
		}
	}
	return out
}

// pickDefaultHost is the host answering requests for unknown host names:
// Config.DefaultHost when it has routes, else the first host that mounted
// routes (modhost loads hosts in config order, so the first host in the
// config with HTTP routes). Prosody has no automatic default; modhost has
// one so that a config serving one host answers on 127.0.0.1 and localhost.
func (s *Server) pickDefaultHost(byHost map[string]*routeTable) string {
	if _, ok := byHost[s.cfg.DefaultHost]; ok {
		return s.cfg.DefaultHost
	}
	for _, h := range s.hostOrder {
		if _, ok := byHost[h]; ok {
			return h
		}
	}
	return ""
}

// Start opens every listener, then serves in the background. A busy port, an
// interface that does not exist or HTTPS configured without a usable
// certificate is an error, and nothing stays open.
func (s *Server) Start(ctx context.Context) error {
	tlsCfg, httpsPorts, err := s.tlsSetup()
	if err != nil {
		return err
	}
	lc := net.ListenConfig{}
	var lns []net.Listener
	var schemes []string
	fail := func(err error) error {
		for _, ln := range lns {
			ln.Close()
		}
		return err
	}
	open := func(scheme string, ports []int) error {
		for _, port := range ports {
			for _, iface := range s.cfg.Interfaces {
				host := iface
				if host == "*" {
					host = "0.0.0.0"
				}
				addr := net.JoinHostPort(host, strconv.Itoa(port))
				ln, err := lc.Listen(ctx, listenNetwork(host), addr)
				if err != nil {
					if isLoopbackV6Missing(iface, err) {
						// A host without IPv6 still serves on 127.0.0.1.
						s.log.Warn("cannot listen on IPv6 loopback, skipping it", "addr", addr, "error", err)
						continue
					}
					return fmt.Errorf("listen %s on %s: %w", scheme, addr, err)
				}
				if scheme == "https" {
					ln = tls.NewListener(ln, tlsCfg)
				}
				lns = append(lns, ln)
				schemes = append(schemes, scheme)
				s.log.Info("listening for HTTP", "scheme", scheme, "addr", ln.Addr().String())
			}
		}
		return nil
	}
	if err := open("http", s.cfg.HTTPPorts); err != nil {
		return fail(err)
	}
	if err := open("https", httpsPorts); err != nil {
		return fail(err)
	}
	if len(lns) == 0 {
		// http_ports = {} is a way to turn HTTP off; Prosody only warns too.
		s.log.Warn("no HTTP ports configured; plugin HTTP routes are unreachable")
		return nil
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.listeners, s.schemes = lns, schemes
	for _, ln := range lns {
		go func(ln net.Listener) {
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http listener stopped", "addr", ln.Addr().String(), "error", err)
			}
		}(ln)
	}
	return nil
}

// listenNetwork keeps IPv4 and IPv6 listeners apart, so "*" and "::" (the
// pair Prosody's own default uses) can share a port: Go would otherwise make
// "::" dual-stack and "*" would find the port taken.
func listenNetwork(host string) string {
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "tcp"
	case ip.To4() != nil:
		return "tcp4"
	default:
		return "tcp6"
	}
}

// isLoopbackV6Missing reports whether err is ::1 being unavailable (a host
// without IPv6), which is not worth refusing to start for.
func isLoopbackV6Missing(iface string, err error) bool {
	return iface == "::1" && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT))
}

// Addrs returns the addresses actually listened on (with the ports chosen
// for port 0); URLs tells HTTP from HTTPS.
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, ln := range s.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// Started reports whether Start has run and opened listeners.
func (s *Server) Started() bool { return s.srv != nil }

// URLs returns a base URL per listener, e.g. "https://127.0.0.1:5281".
func (s *Server) URLs() []string {
	var out []string
	for i, ln := range s.listeners {
		out = append(out, s.schemes[i]+"://"+ln.Addr().String())
	}
	return out
}

// Shutdown stops accepting connections and waits (up to ctx) for requests in
// flight to be answered; connections still open when ctx ends are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("http server shutdown: %w", err)
	}
	return nil
}

// ServeHTTP applies the checks every request goes through, then routes it
// by its Host header and path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	client := s.clientIP(r)
	var info *requestInfo // set once the request is routed
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving HTTP request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal server error")
			}
		}
		elapsed := time.Since(start)
		s.log.Debug("http request", "client", client, "host", r.Host, "method", r.Method, "path", r.URL.RequestURI(),
			"status", rec.status, "bytes", rec.bytes, "duration", elapsed)
		if s.cfg.Observe != nil {
			owner, status := "", rec.status
			if info != nil {
				owner = info.owner
			}
			if status == 0 {
				status = http.StatusOK // net/http's answer to a handler that wrote nothing
			}
			s.cfg.Observe(owner, status, elapsed)
		}
	}()

	if len(r.TransferEncoding) > 0 {
		// net/http drops the Content-Length of a chunked request before
		// any handler sees it, so one that carried both (a smuggling
		// attempt, RFC 9112 §6.3) cannot be told apart: every chunked
		// request's connection ends with its answer.
		rec.Header().Set("Connection", "close")
	}

	path, ok := cleanPath(r.URL.Path)
	if !ok {
		writeError(rec, http.StatusBadRequest, "invalid path")
		return
	}
	_, t := s.tables.Load().lookup(requestHostName(r.Host))
	h, ps, _ := t.router.Lookup(r.Method, path)
	if h == nil && r.Method == http.MethodHead {
		// Prosody falls back to the GET handler and drops the body.
		h, ps, _ = t.router.Lookup(http.MethodGet, path)
	}
	if h == nil {
		h, ps, _ = t.router.Lookup(anyMethod, path)
	}
	if h == nil {
		allowed := t.allowed(path)
		switch {
		case len(allowed) > 0 && r.Method == http.MethodOptions && s.cfg.CORS != nil:
			s.applyCORS(rec.Header(), r, allowed)
			rec.WriteHeader(http.StatusOK)
		case len(allowed) > 0:
			rec.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(rec, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed for "+path)
		default:
			writeError(rec, http.StatusNotFound, "no handler for "+path)
		}
		return
	}
	info = &requestInfo{path: path, clientIP: client, secure: s.isSecure(r), table: t}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	h(rec, r, ps)
}

// allowed lists the methods routed at path, with HEAD beside GET.
func (t *routeTable) allowed(path string) []string {
	var out []string
	for _, m := range t.methods {
		if h, _, _ := t.router.Lookup(m, path); h != nil {
			out = append(out, m)
			if m == http.MethodGet {
				if hh, _, _ := t.router.Lookup(http.MethodHead, path); hh == nil {
					out = append(out, http.MethodHead)
				}
			}
		}
	}
	return out
}

// serveRoute runs a matched route: body limit, CORS, then the handler under
// the deadline, with panics answered as 500.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, e *entry, rest string) {
	infoOf(r).owner = e.owner
	if e.redirect {
		loc := requestPath(r) + "/"
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	if s.cfg.CORS != nil {
		var routed []string
		if t := infoOf(r).table; t != nil {
			routed = t.allowed(requestPath(r))
		}
		s.applyCORS(w.Header(), r, routed)
	}
	if r.ContentLength > s.cfg.MaxBody {
		s.tooLarge(w, r)
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	// Only a request whose body has arrived counts against its client's
	// limit: one still sending it waits on the network, not on modhost.
	client := s.limitKey(r)
	if !s.enter(client) {
		writeError(w, http.StatusTooManyRequests, "too many concurrent requests from this client")
		return
	}
	defer s.leave(client)
	reqCtx := r.Context()
	if e.queued {
		t, ok := s.queue.admit(int64(len(body)))
		if !ok {
			jobs, bytes := s.queue.depth()
			s.log.Warn("HTTP request refused: the plugin runtime's queue is full", "owner", e.owner, "path", requestPath(r),
				"queued", jobs, "queued_bytes", bytes)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the plugin runtime is busy; retry shortly")
			return
		}
		defer t.release()
		reqCtx = context.WithValue(reqCtx, ticketKey{}, t)
	}
	r = r.WithContext(reqCtx)

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HandlerDeadline)
	defer cancel()
	buf := newBufferedResponse()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		e.handler(buf, r.WithContext(ctx), rest)
	}()
	select {
	case p := <-done:
		if p != nil {
			s.log.Error("panic in HTTP handler", "owner", e.owner, "route", e.method+" "+e.path, "panic", fmt.Sprint(p))
			writeError(w, http.StatusInternalServerError, "internal server error")
			return
		}
		buf.copyTo(w)
	case <-ctx.Done():
		buf.abandon()
		if r.Context().Err() != nil {
			s.log.Debug("client went away before the handler answered", "owner", e.owner, "path", requestPath(r))
			return
		}
		s.log.Warn("HTTP handler missed its deadline", "owner", e.owner, "route", e.method+" "+e.path, "deadline", s.cfg.HandlerDeadline)
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("handler did not answer within %s", s.cfg.HandlerDeadline))
	}
}

// readBody reads the request body within BodyTimeout. On failure it has
// answered (408 or 400, no internals) and closed the connection.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBody+1))
	if err == nil && int64(len(body)) > s.cfg.MaxBody {
		s.tooLarge(w, r)
		return nil, false
	}
	if err != nil {
		w.Header().Set("Connection", "close")
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.log.Debug("request body not received in time", "path", requestPath(r), "timeout", s.cfg.BodyTimeout, "received", len(body))
			writeError(w, http.StatusRequestTimeout, fmt.Sprintf("request body not received within %s", s.cfg.BodyTimeout))
		} else {
			s.log.Debug("request body unreadable", "path", requestPath(r), "error", err)
			writeError(w, http.StatusBadRequest, "request body incomplete or malformed")
		}
		return nil, false
	}
	// The next request on the connection gets the server's own timeouts.
	_ = rc.SetReadDeadline(time.Time{})
	return body, true
}

// limitKey is who a request counts against for MaxConcurrentPerClient:
// the address proxies forwarded when the operator named the proxies, else
// the peer (with the default loopback proxies any local process could
// claim any address and escape the limit).
func (s *Server) limitKey(r *http.Request) string {
	if s.cfg.trustedByDefault {
		return hostOnly(r.RemoteAddr)
	}
	return ClientIP(r)
}

func (s *Server) enter(client string) bool {
	if s.cfg.MaxConcurrentPerClient < 0 {
		return true
	}
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	if s.inFlight[client] >= s.cfg.MaxConcurrentPerClient {
		return false
	}
	s.inFlight[client]++
	return true
}

func (s *Server) leave(client string) {
	if s.cfg.MaxConcurrentPerClient < 0 {
		return
	}
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	if s.inFlight[client]--; s.inFlight[client] <= 0 {
		delete(s.inFlight, client)
	}
}

// cleanPath does what Prosody's request parser does to a path: collapse
// repeated slashes and refuse a path whose directories climb above the root
// (a final ".." is not a directory and is not counted, as in Prosody).
func cleanPath(p string) (string, bool) {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	segs := strings.Split(p[1:], "/")
	level := 0
	for _, seg := range segs[:len(segs)-1] {
		switch seg {
		case "..":
			level--
		case ".", "":
		default:
			level++
		}
		if level < 0 {
			return "", false
		}
	}
	return p, true
}

// requestInfo is what the server worked out about a request before routing.
type requestInfo struct {
	path     string      // cleaned path the route matched
	clientIP string      // after trusted proxies
	secure   bool        // TLS, or X-Forwarded-Proto https from a trusted proxy
	table    *routeTable // the routes of the host the request went to
	owner    string      // owner of the route that answered
}

type requestInfoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{path: r.URL.Path, clientIP: hostOnly(r.RemoteAddr), secure: r.TLS != nil}
}

func requestPath(r *http.Request) string { return infoOf(r).path }

// ClientIP returns the request's client address as Prosody's mod_http sets
// request.ip: the peer, or the last untrusted X-Forwarded-For hop when the
// peer is a trusted proxy.
func ClientIP(r *http.Request) string { return infoOf(r).clientIP }

// Secure reports whether the request came over TLS (directly or, through a
// trusted proxy, by X-Forwarded-Proto).
func Secure(r *http.Request) bool { return infoOf(r).secure }

// Path returns the cleaned path the request was routed by (percent-decoded,
// repeated slashes collapsed), Prosody's request.path.
func Path(r *http.Request) string { return infoOf(r).path }

// writeError answers with a JSON error body.
// drainBound is how much of an oversized body is read and thrown away so
// that its 413 reaches the client: most clients (curl with a file, Python's
// http.client, most libraries) write the whole body before they read, and a
// server that closes with bytes unread makes the kernel answer them with a
// reset, so they report "connection reset" and never see the 413.
func (s *Server) drainBound() int64 { return max(16*s.cfg.MaxBody, 16<<20) }

// tooLarge answers 413 for a body over MaxBody. What is left of the body is
// read and discarded first, up to drainBound (and within the server's read
// timeout); a body announced or found larger than that is not read, and the
// connection closes after the answer.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	bound := s.drainBound()
	if r.ContentLength <= bound {
		// The connection is not reused either way: the answer ends it.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, bound))
	}
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// statusRecorder remembers what was answered, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// bufferedResponse collects a handler's answer so the server can still send
// a 504 when the handler misses its deadline, and drops writes made after.
type bufferedResponse struct {
	mu        sync.Mutex
	header    http.Header
	status    int
	body      bytes.Buffer
	abandoned bool
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

// Header is the handler's own map; it is copied out only once the handler
// has returned, so the handler needs no locking.
func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.abandoned {
		return 0, errors.New("response abandoned after the handler deadline")
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) abandon() {
	b.mu.Lock()
	b.abandoned = true
	b.mu.Unlock()
}

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst := w.Header()
	for k, v := range b.header {
		dst[k] = v
	}
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(b.body.Bytes())
}
