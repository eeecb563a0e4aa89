package rosteradmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
)

// The load, soak and coalescing tests share this environment: modhost
// standalone, listening on a free loopback port, with mod_http_roster_admin
// fetching from a loopback backend whose answers the test controls.

// scaledBackend serves every user a roster of `contacts` contacts plus one
// contact named after the current generation, so that bumping the generation
// changes every user's roster by exactly one removal and one addition. A
// user can be gated: their fetches wait until the gate opens.
type scaledBackend struct {
	srv        *httptest.Server
	contacts   int
	generation atomic.Int64
	// cycle, if set, makes the generation contact repeat every cycle
	// generations (v0 … v<cycle-1>) instead of always being new.
	cycle int64

	mu    sync.Mutex
	hits  map[string]int           // unescaped username → fetches served
	gates map[string]chan struct{} // username → closed when their fetches may answer
	// arrived is closed and replaced whenever a fetch arrives.
	arrived chan struct{}
}

func newScaledBackend(t testing.TB, contacts int) *scaledBackend {
	b := &scaledBackend{
		contacts: contacts,
		hits:     map[string]int{},
		gates:    map[string]chan struct{}{},
		arrived:  make(chan struct{}),
	}
	b.generation.Store(1)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	b.srv.Listener = l
	b.srv.Start()
	t.Cleanup(b.close)
	return b
}

func (b *scaledBackend) close() {
	b.mu.Lock()
	for user, gate := range b.gates {
		close(gate)
		delete(b.gates, user)
	}
	b.mu.Unlock()
	b.srv.CloseClientConnections()
	b.srv.Close()
}

func (b *scaledBackend) URL() string { return b.srv.URL + "/contacts/%s" }

// serve answers GET /contacts/{percent-encoded username}.
func (b *scaledBackend) serve(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimPrefix(r.URL.Path, "/contacts/")
	b.mu.Lock()
	b.hits[user]++
	gate := b.gates[user]
	close(b.arrived)
	b.arrived = make(chan struct{})
	b.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.rosterJSON(b.generation.Load()))
}

// rosterJSON is every user's roster at generation gen.
func (b *scaledBackend) rosterJSON(gen int64) []byte {
	if b.cycle > 0 {
		gen %= b.cycle
	}
	var buf bytes.Buffer
	buf.WriteString(`{"v` + strconv.FormatInt(gen, 10) + `@contacts.example":{"name":"Version","groups":["Changes"]}`)
	for i := range b.contacts {
		fmt.Fprintf(&buf, `,"c%d@contacts.example":{"name":"Contact %d","groups":["Friends"]}`, i, i)
	}
	buf.WriteString("}")
	return buf.Bytes()
}

// gate makes user's fetches wait until the returned function is called.
func (b *scaledBackend) gate(user string) (open func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.gates[user] = ch
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.gates[user] == ch {
				delete(b.gates, user)
			}
			b.mu.Unlock()
			close(ch)
		})
	}
}

func (b *scaledBackend) hitsOf(user string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[user]
}

func (b *scaledBackend) totalHits() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, h := range b.hits {
		n += h
	}
	return n
}

// waitHits waits until user has been fetched at least n times.
func (b *scaledBackend) waitHits(ctx context.Context, user string, n int) error {
	for {
		b.mu.Lock()
		got, arrived := b.hits[user], b.arrived
		b.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return fmt.Errorf("backend saw %d fetches of %s, want %d: %w", got, user, n, ctx.Err())
		}
	}
}

// countingSink counts the stanzas modhost sends to no local session
// (presence probes to contacts, here), by kind.
type countingSink struct {
	probes, other atomic.Int64
}

func (s *countingSink) SendStanza(host, xml string) error {
	if strings.Contains(xml, "type='probe'") || strings.Contains(xml, `type="probe"`) {
		s.probes.Add(1)
	} else {
		s.other.Add(1)
	}
	return nil
}

// standalone is a started runtime listening on loopback.
type standalone struct {
	rt     *host.Runtime
	base   string // http://127.0.0.1:port
	sink   *countingSink
	client *http.Client
}

// startStandalone starts modhost with mod_http_roster_admin on example.com
// fetching from backendURL; hostOptions are added to the VirtualHost and
// globalOptions to the global section.
func startStandalone(t testing.TB, backendURL, globalOptions, hostOptions string) *standalone {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
storage = "memory"
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
%s
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	http_roster_url = %q
%s
`, globalOptions, backendURL, hostOptions)
	sink := &countingSink{}
	rt, err := host.New(host.Options{
		ConfigSource: cfg, ConfigName: filepath.Join(dir, "standalone.cfg.lua"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sink:   sink,
	})
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil || !report.OK() {
		_ = rt.Stop(context.Background())
		t.Fatalf("start: %v %+v", err, report)
	}
	urls := rt.HTTPURLs()
	if len(urls) != 1 {
		_ = rt.Stop(context.Background())
		t.Fatalf("HTTP URLs %v, want one", urls)
	}
	// Its own transport, closed at the end, so its connections' goroutines
	// do not count as the runtime's.
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 1024,
		MaxIdleConns:        1024,
		IdleConnTimeout:     30 * time.Second,
	}}
	s := &standalone{rt: rt, base: urls[0], sink: sink, client: client}
	return s
}

// stop stops the runtime and closes the test's client connections.
func (s *standalone) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = s.rt.Stop(ctx)
	s.client.CloseIdleConnections()
}

// refreshReplyBody is what POST /roster_admin/refresh answers.
type refreshReplyBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Updated int    `json:"updated"`
	Errors  int    `json:"errors"`
}

// refresh posts users to the refresh API and returns the status and reply.
func (s *standalone) refresh(ctx context.Context, users []string) (int, refreshReplyBody, error) {
	payload, err := json.Marshal(users)
	if err != nil {
		return 0, refreshReplyBody{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/roster_admin/refresh", bytes.NewReader(payload))
	if err != nil {
		return 0, refreshReplyBody{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(req)
}

// get sends GET path and decodes a refresh reply.
func (s *standalone) get(ctx context.Context, path string) (int, refreshReplyBody, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, refreshReplyBody{}, err
	}
	return s.do(req)
}

func (s *standalone) do(req *http.Request) (int, refreshReplyBody, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, refreshReplyBody{}, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, refreshReplyBody{}, fmt.Errorf("read reply: %w", err)
	}
	var reply refreshReplyBody
	if err := json.Unmarshal(raw, &reply); err != nil {
		return resp.StatusCode, reply, fmt.Errorf("reply %q is not JSON: %w", raw, err)
	}
	return resp.StatusCode, reply, nil
}

// rssKiB is this process's resident set size (VmRSS), 0 if unknown.
func rssKiB() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// goroutineSlack is how far above its baseline the goroutine count may stay
// once a runtime is stopped (net/http's and the runtime's own background
// goroutines come and go).
const goroutineSlack = 5

// settledGoroutines waits up to 10 s for the goroutine count to come back
// within goroutineSlack of baseline and returns the last count seen.
func settledGoroutines(baseline int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline+goroutineSlack || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// goroutineDump is the stacks of every goroutine, to say what leaked.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// latencies summarises request durations.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	sorted := slices.Clone(l)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// loadFull reports whether MODHOST_LOAD_FULL=1 asks for the full sizes.
func loadFull() bool { return os.Getenv("MODHOST_LOAD_FULL") == "1" }
