package rosteradmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/lua"
)

// The fuzz targets here share one standalone runtime per test process (the
// fuzzer's workers are processes): starting one per input would make each
// iteration cost a config load and a module load.
const (
	fuzzHost = "example.com"
	// fuzzUser is the user whose backend answer FuzzBackendRoster fuzzes.
	fuzzUser = "fuzzed"
	// Bounds of the runtime under fuzzing: a request body limit small enough
	// that the fuzzer reaches 413, and deadlines short enough that a 504
	// costs seconds, not minutes.
	fuzzMaxBody = 4096
	// callBound is how long one request may take before it counts as a hang:
	// above the plugin's deadline (3 s) and the server's (5 s).
	callBound = 10 * time.Second
)

// baselineRoster is what the backend serves fuzzUser before each fuzzed
// answer, so that "unchanged" has something to compare with.
// luaHost's plugin reads answers with its own Lua; hookedHost's natively,
// with a roster-admin/fetched handler. FuzzBackendRoster compares them.
const (
	luaHost    = "lua.example.com"
	hookedHost = "hooked.example.com"
)

const baselineRoster = `{"romeo@example.net":{"name":"Romeo","groups":["Friends","Montague"]},"nurse@example.net":{}}`

type fuzzEnv struct {
	rt      *host.Runtime
	handler http.Handler
	backend *fuzzBackend
}

type sharedRuntime struct {
	once sync.Once
	env  *fuzzEnv
	err  error
	stop func()
}

// shared is the fuzz runtime; sharedBig the one for FuzzRefreshBody's
// padded variants, whose request body limits are megabytes.
var shared, sharedBig sharedRuntime

// TestMain stops the shared fuzz runtimes, if a test started them.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, r := range []*sharedRuntime{&shared, &sharedBig} {
		if r.stop != nil {
			r.stop()
		}
	}
	os.Exit(code)
}

// fuzzRuntime returns the process's runtime: mod_http_roster_admin on
// example.com, refreshing offline users too (so no session is needed), with
// fuzzUser online, against a loopback backend.
func fuzzRuntime(t testing.TB) *fuzzEnv {
	shared.once.Do(func() { shared.env, shared.stop, shared.err = startFuzzRuntime(fuzzMaxBody, "") })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.env
}

// paddedMaxBody bounds the big runtime's requests: a fuzzed body with
// paddingSpaces in front fits.
const paddedMaxBody = 2 << 20

// bigFuzzRuntime is fuzzRuntime's twin with limits of paddedMaxBody.
func bigFuzzRuntime(t testing.TB) *fuzzEnv {
	sharedBig.once.Do(func() {
		sharedBig.env, sharedBig.stop, sharedBig.err = startFuzzRuntime(paddedMaxBody, fmt.Sprintf("http_roster_admin_max_body = %d\n", paddedMaxBody))
	})
	if sharedBig.err != nil {
		t.Fatal(sharedBig.err)
	}
	return sharedBig.env
}

func startFuzzRuntime(maxContent int, extra string) (*fuzzEnv, func(), error) {
	backend := newFuzzBackend()
	name, err := filepath.Abs("fuzz.cfg.lua")
	if err != nil {
		return nil, nil, err
	}
	rt, err := host.New(host.Options{
		ConfigName: name,
		ConfigSource: fmt.Sprintf(`
storage = "memory"
%[6]shttp_max_content_size = %[1]d
http_request_deadline = 5
http_roster_admin_timeout = 2
http_roster_admin_deadline = 3
http_roster_admin_refresh_offline = true
VirtualHost %[2]q
	modules_enabled = { "http_roster_admin", "fuzz_roster_probe" }
	http_roster_url = %[3]q
-- The same answers read by the plugin's own Lua (as in Prosody), and by the
-- native reader with a roster-admin/fetched handler (entries wanted).
VirtualHost %[4]q
	modules_enabled = { "http_roster_admin", "fuzz_roster_probe" }
	http_roster_url = %[3]q
	http_roster_admin_native = false
	fuzz_probe_record = true
VirtualHost %[5]q
	modules_enabled = { "http_roster_admin", "fuzz_roster_probe" }
	http_roster_url = %[3]q
	fuzz_probe_record = true
`, maxContent, fuzzHost, backend.srv.URL+"/contacts/%s", luaHost, hookedHost, extra),
		PluginPaths: []string{"testdata/plugins"},
		NoListen:    true,
		Logger:      slog.New(slog.DiscardHandler),
		Sink:        discardSink{},
	})
	if err != nil {
		backend.srv.Close()
		return nil, nil, fmt.Errorf("fuzz runtime: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	stop := func() {
		_ = rt.Stop(context.Background())
		backend.srv.CloseClientConnections()
		backend.srv.Close()
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("start fuzz runtime: %w", err)
	}
	if !report.OK() {
		stop()
		return nil, nil, fmt.Errorf("fuzz runtime modules: %+v", report)
	}
	// Online, so refreshes also push to a client and exchange presence.
	session, err := rt.Login(ctx, fuzzHost, fuzzUser, "fuzz")
	if err == nil {
		err = session.Presence(ctx)
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("log %s in: %w", fuzzUser, err)
	}
	return &fuzzEnv{rt: rt, handler: rt.HTTPHandler(), backend: backend}, stop, nil
}

type discardSink struct{}

func (discardSink) SendStanza(host, xml string) error { return nil }

// fuzzBackend serves `{}` to every user but those given an answer.
type fuzzBackend struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers map[string][]byte
}

func newFuzzBackend() *fuzzBackend {
	b := &fuzzBackend{answers: map[string][]byte{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		answer, ok := b.answers[strings.TrimPrefix(r.URL.Path, "/contacts/")]
		b.mu.Unlock()
		if !ok {
			answer = []byte("{}")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	return b
}

func (b *fuzzBackend) answer(user string, body []byte) {
	b.mu.Lock()
	b.answers[user] = bytes.Clone(body)
	b.mu.Unlock()
}

// fuzzReply is the JSON every answer of the refresh API carries.
type fuzzReply struct {
	Status  *string  `json:"status"`
	Message *string  `json:"message"`
	Updated *float64 `json:"updated"`
	Errors  *float64 `json:"errors"`
	Error   *string  `json:"error"`
}

// post sends body to POST /roster_admin/refresh and returns the answer,
// failing the test if no answer comes within callBound.
func (e *fuzzEnv) post(t *testing.T, body []byte) (int, []byte, http.Header) {
	t.Helper()
	return e.postTo(t, "localhost", body)
}

// postTo posts a refresh request to the virtual host named by vhost.
func (e *fuzzEnv) postTo(t *testing.T, vhost string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://"+vhost+"/roster_admin/refresh", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		defer close(served)
		e.handler.ServeHTTP(rec, req)
	}()
	select {
	case <-served:
	case <-time.After(callBound + time.Second):
		t.Fatalf("POST %q: no answer within %v", truncate(body), callBound)
	}
	if ctx.Err() != nil {
		t.Fatalf("POST %q: no answer within %v", truncate(body), callBound)
	}
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

// roster reads user's roster as core.rostermanager holds it: a canonical
// form (equal rosters, equal strings) and JSON for decodeProbeRoster.
func (e *fuzzEnv) roster(t *testing.T, user string) (canonical, asJSON string) {
	t.Helper()
	return e.rosterOn(t, fuzzHost, user)
}

// rosterOn is roster for a user of another host.
func (e *fuzzEnv) rosterOn(t *testing.T, host, user string) (canonical, asJSON string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	v, err := e.rt.FireEvent(ctx, host, "fuzz/roster", map[string]any{"username": user})
	if err != nil {
		t.Fatalf("read roster of %s: %v", user, err)
	}
	m, _ := v.(map[string]any)
	canonical, ok1 := m["canonical"].(string)
	asJSON, ok2 := m["json"].(string)
	if !ok1 || !ok2 {
		t.Fatalf("read roster of %s: got %T %v", user, v, v)
	}
	return canonical, asJSON
}

// utilJSONReads reports what util.json decodes text to: "object", "strings"
// (an array of strings), "other", or "" when it refuses it.
func (e *fuzzEnv) utilJSONReads(t *testing.T, text []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	var kind string
	err := e.rt.Loop().Do(ctx, func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `
			local json = require "util.json"
			local ok, v = pcall(json.decode, ...)
			if not ok or v == nil then return "" end
			if type(v) ~= "table" or v == json.null then return "other" end
			if getmetatable(v) ~= getmetatable(json.decode("[]")) then return "object" end
			for i = 1, #v do
				if type(v[i]) ~= "string" then return "other" end
			end
			return "strings"`, "fuzz", 1, glua.LString(text))
		if err != nil {
			return err
		}
		kind = glua.LVAsString(rets[0])
		return nil
	})
	if err != nil {
		t.Fatalf("util.json.decode: %v", err)
	}
	return kind
}

func truncate(b []byte) string {
	if rest := bytes.TrimLeft(b, " \t\r\n"); len(b)-len(rest) > 64 {
		return fmt.Sprintf("<%d bytes of whitespace>%s", len(b)-len(rest), truncate(rest))
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

var allowedRefreshStatus = []int{200, 400, 401, 405, 413, 504}

// FuzzRefreshBody posts arbitrary bodies to the refresh API: every answer
// is one of the contract's statuses with a JSON body saying what happened,
// never a 500, a panic or a hang. A body Go's own decoder does not read as
// a JSON array of strings must be refused.
func FuzzRefreshBody(f *testing.F) {
	e := fuzzRuntime(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		code, answer, header := e.post(t, body)
		if !slices.Contains(allowedRefreshStatus, code) {
			t.Fatalf("POST %q: status %d (%s)", truncate(body), code, answer)
		}
		if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("POST %q: status %d with Content-Type %q", truncate(body), code, ct)
		}
		var reply fuzzReply
		if err := json.Unmarshal(answer, &reply); err != nil {
			t.Fatalf("POST %q: status %d, body %q is not a JSON object: %v", truncate(body), code, answer, err)
		}
		// The plugin says status and message; the HTTP server's own refusals
		// (413, its deadline's 504) say error.
		if (reply.Status == nil || reply.Message == nil) && reply.Error == nil {
			t.Fatalf("POST %q: status %d, body %s says neither status and message nor error", truncate(body), code, answer)
		}
		if len(body) <= fuzzMaxBody {
			e.sameOnBothBodyReaders(t, body, code, reply)
			if padThis(body) {
				bigFuzzRuntime(t).checkPadded(t, body, code)
			}
		}
		switch {
		case len(body) > fuzzMaxBody:
			if code != 413 {
				t.Fatalf("POST of %d bytes: status %d, want 413", len(body), code)
			}
		case !isStringArray(body) && !(!json.Valid(body) && e.utilJSONReads(t, body) == "strings"):
			// (What util.json reads beyond JSON, as Prosody's does — unknown
			// escapes kept, raw control characters — is its call.)
			if code != 400 {
				t.Fatalf("POST %q (not a JSON array of strings): status %d (%s), want 400", truncate(body), code, answer)
			}
		}
		users, simple := simpleUsernames(body)
		simple = simple && len(body) <= fuzzMaxBody
		if simple && code != 200 && code != 504 {
			t.Fatalf("POST %q (plain usernames): status %d (%s)", truncate(body), code, answer)
		}
		if code != 200 {
			return
		}
		if reply.Updated == nil || reply.Errors == nil {
			t.Fatalf("POST %q: 200 without counts: %s", truncate(body), answer)
		}
		updated, errs := *reply.Updated, *reply.Errors
		if simple && updated+errs != float64(users) {
			t.Fatalf("POST %q: counts %s, want updated+errors == %d distinct users", truncate(body), answer, users)
		}
		if updated < 0 || errs < 0 || updated+errs > float64(len(body)) {
			t.Fatalf("POST %q: impossible counts: %s", truncate(body), answer)
		}
		if wantError := errs > 0 && updated == 0; reply.Status == nil || (*reply.Status == "error") != wantError {
			t.Fatalf("POST %q: status %q with updated %v, errors %v", truncate(body), *reply.Status, updated, errs)
		}
	})
}

// sameOnBothBodyReaders posts body to luaHost, whose plugin reads refresh
// bodies with its own Lua (as in Prosody), and compares the answer with
// the native reader's (code, reply): same status, same message for a
// refused body, same counts for a refresh.
func (e *fuzzEnv) sameOnBothBodyReaders(t *testing.T, body []byte, code int, reply fuzzReply) {
	t.Helper()
	lcode, answer, _ := e.postTo(t, luaHost, body)
	if lcode == 504 || code == 504 {
		return
	}
	var lua fuzzReply
	if err := json.Unmarshal(answer, &lua); err != nil {
		t.Fatalf("POST %q to the Lua reader: %d, body %q is not JSON", truncate(body), lcode, answer)
	}
	str := func(p *string) string {
		if p == nil {
			return "<none>"
		}
		return *p
	}
	num := func(p *float64) string {
		if p == nil {
			return "<none>"
		}
		return fmt.Sprint(*p)
	}
	native := fmt.Sprintf("%d %s %s %s/%s", code, str(reply.Status), str(reply.Message), num(reply.Updated), num(reply.Errors))
	other := fmt.Sprintf("%d %s %s %s/%s", lcode, str(lua.Status), str(lua.Message), num(lua.Updated), num(lua.Errors))
	if native != other {
		t.Fatalf("POST %q:\nnative reader: %s\nLua reader:    %s", truncate(body), native, other)
	}
}

// paddingSpaces is the whitespace FuzzRefreshBody puts before a body, and
// FuzzBackendRoster before an answer: more than gopher-lua's pattern
// matcher could skip (10^6 repetitions), as the 1,048,000 spaces of issue
// 13 (point 5) were.
const paddingSpaces = 1_048_000

// fuzzing is whether this process is a fuzzing worker (go test -fuzz), not
// a run of the seed corpora as tests.
var fuzzing = sync.OnceValue(func() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
})

// padThis says whether to try input padded: always when the corpora run as
// tests (make unit, make test), one input in eight while fuzzing, where a
// megabyte scanned by code with coverage counters made each input cost
// ten times as much.
func padThis(input []byte) bool {
	if !fuzzing() {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write(input)
	return h.Sum32()%8 == 0
}

// checkPadded posts body with paddingSpaces in front, and body nested in
// more arrays than util.json reads, to both readers of the big runtime.
// Padded, a body is what it was: the same status as unpadded (code), and
// the same counts from both readers. Nested too deep, any body is a 400
// saying so (or, for one that is not UTF-8, saying that).
func (e *fuzzEnv) checkPadded(t *testing.T, body []byte, code int) {
	t.Helper()
	padded := append(bytes.Repeat([]byte(" "), paddingSpaces), body...)
	deep := slices.Concat(bytes.Repeat([]byte("["), 10_001), body, bytes.Repeat([]byte("]"), 10_001))
	var counts []string
	for _, vhost := range []string{"localhost", luaHost} {
		pcode, answer, _ := e.postTo(t, vhost, padded)
		var reply fuzzReply
		if err := json.Unmarshal(answer, &reply); err != nil {
			t.Fatalf("POST %q after %d spaces to %s: %d, body %q is not JSON", truncate(body), paddingSpaces, vhost, pcode, answer)
		}
		if pcode != code && pcode != 504 && code != 504 {
			t.Fatalf("POST %q: %d, but %d after %d spaces (%s): %s", truncate(body), code, pcode, paddingSpaces, vhost, answer)
		}
		if pcode == 200 {
			counts = append(counts, fmt.Sprint(*reply.Updated, *reply.Errors))
		}
		dcode, danswer, _ := e.postTo(t, vhost, deep)
		// (Not being UTF-8 is found first.)
		if dcode != 400 || (!bytes.Contains(danswer, []byte("nesting too deep")) && utf8.Valid(body)) {
			t.Fatalf("POST %q nested 10,001 deep (%s): %d %s, want 400 saying nesting too deep", truncate(body), vhost, dcode, danswer)
		}
	}
	if len(counts) == 2 && counts[0] != counts[1] {
		t.Fatalf("POST %q after %d spaces: native reader counts %s, Lua reader %s", truncate(body), paddingSpaces, counts[0], counts[1])
	}
}

// isStringArray reports whether body is, to encoding/json, a JSON array
// whose elements are all strings (the only bodies the contract accepts).
func isStringArray(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return false
	}
	var elems []json.RawMessage
	if json.Unmarshal(body, &elems) != nil {
		return false
	}
	for _, el := range elems {
		if el[0] != '"' {
			return false
		}
	}
	return true
}

// plainUsername matches usernames nodeprep leaves as they are.
var plainUsername = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// simpleUsernames reports whether body is a JSON array of plain usernames,
// and how many distinct ones it holds (each refreshed and counted once).
func simpleUsernames(body []byte) (int, bool) {
	if !isStringArray(body) {
		return 0, false
	}
	var names []string
	if json.Unmarshal(body, &names) != nil {
		return 0, false
	}
	distinct := map[string]bool{}
	for _, n := range names {
		if !plainUsername.MatchString(n) {
			return 0, false
		}
		distinct[n] = true
	}
	return len(distinct), true
}

// rosterItem is one contact as the probe plugin reports it.
type rosterItem struct {
	Name         *string         `json:"name"`
	Subscription string          `json:"subscription"`
	Ask          *string         `json:"ask"`
	Groups       json.RawMessage `json:"groups"`
}

// FuzzBackendRoster makes the backend answer arbitrary bytes for one user and
// refreshes that user: the refresh is counted exactly once, and an answer
// that is not a JSON object of the documented shape leaves the roster
// exactly as it was. So does any refresh counted as an error.
func FuzzBackendRoster(f *testing.F) {
	e := fuzzRuntime(f)
	refresh := []byte(`["` + fuzzUser + `"]`)
	f.Fuzz(func(t *testing.T, answer []byte) {
		e.backend.answer(fuzzUser, []byte(baselineRoster))
		for _, vhost := range []string{"localhost", luaHost, hookedHost} {
			if code, reply, _ := e.postTo(t, vhost, refresh); code != 200 || !bytes.Contains(reply, []byte(`"updated":1`)) {
				t.Fatalf("baseline refresh on %s: %d %s", vhost, code, reply)
			}
		}
		before, _ := e.roster(t, fuzzUser)
		e.last(t, fuzzHost)
		e.last(t, luaHost)
		e.last(t, hookedHost)

		e.backend.answer(fuzzUser, answer)
		unpadded := e.sameOnEveryReader(t, answer, refresh)
		// The same answer after paddingSpaces of whitespace: the readers
		// agree on it, and it is what it was (issue 13, point 7: the Lua
		// reader failed on it where the native one read it).
		if padThis(answer) {
			padded := append(bytes.Repeat([]byte(" \n"), paddingSpaces/2), answer...)
			e.backend.answer(fuzzUser, padded)
			if got := e.sameOnEveryReader(t, padded, refresh); got != unpadded {
				t.Fatalf("backend answer %q: refresh answered %s, but %s after %d bytes of whitespace", truncate(answer), unpadded, got, paddingSpaces)
			}
			e.backend.answer(fuzzUser, answer)
		}
		code, replyBody, _ := e.post(t, refresh)
		var reply fuzzReply
		if code != 200 || json.Unmarshal(replyBody, &reply) != nil || reply.Updated == nil || reply.Errors == nil {
			t.Fatalf("backend answer %q: refresh answered %d %s", truncate(answer), code, replyBody)
		}
		if *reply.Updated+*reply.Errors != 1 {
			t.Fatalf("backend answer %q: counts %s, want updated+errors == 1", truncate(answer), replyBody)
		}
		after, afterJSON := e.roster(t, fuzzUser)
		want, documented := expectedRoster(answer)
		if !documented && !json.Valid(answer) && e.utilJSONReads(t, answer) == "object" {
			// util.json, like Prosody's, reads some text encoding/json
			// refuses (a trailing comma in an object, unknown escapes kept,
			// raw control characters): what counts as JSON is its call, and
			// only "failed means unchanged" is checked for these.
			documented = true
			want = nil
		}
		switch {
		case *reply.Errors == 1:
			if after != before {
				t.Fatalf("backend answer %q failed the refresh but changed the roster:\nbefore %s\nafter  %s", truncate(answer), before, after)
			}
		case !documented:
			t.Fatalf("backend answer %q is not a roster object but was applied: %s", truncate(answer), afterJSON)
		case want != nil:
			got := decodeProbeRoster(t, afterJSON)
			if !maps.Equal(got, want) {
				t.Fatalf("backend answer %q applied as\n%v\nwant\n%v", truncate(answer), got, want)
			}
		}
	})
}

// sameOnEveryReader refreshes the fuzzed user of luaHost (the plugin's own
// Lua reader, as in Prosody), of hookedHost (the native reader building
// entries for a handler) and of fuzzHost (the native reader keeping the
// roster in Go) from the same answer: the three must agree on the outcome,
// the reason for a failure, the roster stored, and (the first two) the
// entries a roster-admin/fetched handler sees. It returns the refresh's
// answer (JSON, keys sorted).
func (e *fuzzEnv) sameOnEveryReader(t *testing.T, answer, refresh []byte) (reply string) {
	t.Helper()
	type outcome struct {
		reply, failure, entries string
		roster                  map[string]any
	}
	read := func(vhost, host string) outcome {
		code, reply, _ := e.postTo(t, vhost, refresh)
		if code != 200 {
			t.Fatalf("backend answer %q: refresh on %s answered %d %s", truncate(answer), host, code, reply)
		}
		_, asJSON := e.rosterOn(t, host, fuzzUser)
		var roster map[string]any
		if err := json.Unmarshal([]byte(asJSON), &roster); err != nil && asJSON != "{}" && asJSON != "[]" {
			t.Fatalf("roster on %s: %v in %s", host, err, asJSON)
		}
		for _, h := range []string{fuzzHost, luaHost, hookedHost} {
			delete(roster, fuzzUser+"@"+h) // each host leaves out its own user
		}
		failure, entries := e.last(t, host)
		var r map[string]any
		if err := json.Unmarshal(reply, &r); err != nil {
			t.Fatalf("refresh on %s answered %s: %v", host, reply, err)
		}
		canonical, _ := json.Marshal(r) // keys sorted
		return outcome{reply: string(canonical), failure: failure, entries: entries, roster: roster}
	}
	lua := read(luaHost, luaHost)
	hooked := read(hookedHost, hookedHost)
	native := read("localhost", fuzzHost)
	for _, other := range []struct {
		name string
		got  outcome
	}{{"native reader with a handler", hooked}, {"native reader", native}} {
		if other.got.reply != lua.reply || other.got.failure != lua.failure {
			t.Fatalf("backend answer %q:\nLua reader: %s %q\n%s: %s %q", truncate(answer), lua.reply, lua.failure, other.name, other.got.reply, other.got.failure)
		}
		if !reflect.DeepEqual(other.got.roster, lua.roster) {
			t.Fatalf("backend answer %q: rosters differ\nLua reader: %v\n%s: %v", truncate(answer), lua.roster, other.name, other.got.roster)
		}
	}
	if hooked.entries != lua.entries {
		t.Fatalf("backend answer %q: roster-admin/fetched entries differ\nLua reader: %s\nnative reader: %s", truncate(answer), lua.entries, hooked.entries)
	}
	return lua.reply
}

// last returns what host's probe recorded since it was last asked: the
// latest failure ("reason [kind]") and fetched entries (JSON).
func (e *fuzzEnv) last(t *testing.T, host string) (failure, entries string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	v, err := e.rt.FireEvent(ctx, host, "fuzz/last", nil)
	if err != nil {
		t.Fatalf("fuzz/last on %s: %v", host, err)
	}
	m, _ := v.(map[string]any)
	failure, _ = m["failure"].(string)
	entries, _ = m["entries"].(string)
	return failure, entries
}

// simpleJID matches JIDs whose prepped form is themselves, so the fuzz
// target can predict the roster they give without a stringprep of its own.
var simpleJID = regexp.MustCompile(`^[a-z0-9]{1,63}@[a-z0-9]{1,63}(\.[a-z0-9]{1,63}){0,3}$`)

// plainText matches names and groups any XMPP stanza can carry unchanged.
var plainText = regexp.MustCompile(`^[ -~]*$`)

// expectedRoster says whether answer is a JSON object of the documented
// shape (contact → {name?: string|null, groups?: [string]|{name: any}|null}), and, when
// its contacts and strings are simple enough to predict, the roster it must
// give as "jid" → "name|group,group" (groups sorted).
func expectedRoster(answer []byte) (map[string]string, bool) {
	trimmed := bytes.TrimLeft(answer, " \t\r\n")
	if !utf8.Valid(answer) || len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	var contacts map[string]json.RawMessage
	if json.Unmarshal(answer, &contacts) != nil {
		return nil, false
	}
	want, predictable := map[string]string{}, true
	for jid, raw := range contacts {
		if bytes.TrimLeft(raw, " \t\r\n")[0] != '{' {
			return nil, false
		}
		var entry map[string]json.RawMessage
		if json.Unmarshal(raw, &entry) != nil {
			return nil, false
		}
		var name *string
		if v, ok := entry["name"]; ok && string(v) != "null" {
			if json.Unmarshal(v, &name) != nil || name == nil {
				return nil, false
			}
		}
		var groups []*string
		if v, ok := entry["groups"]; ok && string(v) != "null" {
			switch bytes.TrimLeft(v, " \t\r\n")[0] {
			case '[':
				if json.Unmarshal(v, &groups) != nil {
					return nil, false
				}
			case '{': // as the original module reads them: the keys are the names
				var names map[string]json.RawMessage
				if json.Unmarshal(v, &names) != nil {
					return nil, false
				}
				for g := range names {
					groups = append(groups, &g)
				}
			default:
				return nil, false
			}
		}
		set := map[string]bool{}
		for _, g := range groups {
			if g == nil {
				return nil, false
			}
			if !plainText.MatchString(*g) {
				predictable = false
			}
			if *g != "" {
				set[*g] = true
			}
		}
		if !simpleJID.MatchString(jid) || (name != nil && !plainText.MatchString(*name)) {
			predictable = false
		}
		if jid == fuzzUser+"@"+fuzzHost {
			continue // never a self-contact
		}
		n := ""
		if name != nil {
			n = *name
		}
		want[jid] = n + "|" + strings.Join(slices.Sorted(maps.Keys(set)), ",")
	}
	if !predictable {
		return nil, true
	}
	return want, true
}

// decodeProbeRoster turns the probe plugin's JSON into expectedRoster's form;
// every contact the refresh API writes is subscription "both" without ask.
func decodeProbeRoster(t *testing.T, s string) map[string]string {
	t.Helper()
	var items map[string]rosterItem
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		t.Fatalf("probe roster %q: %v", s, err)
	}
	out := map[string]string{}
	for jid, item := range items {
		if item.Subscription != "both" || item.Ask != nil {
			t.Fatalf("contact %s: subscription %q ask %v", jid, item.Subscription, item.Ask)
		}
		var groups []string
		if len(item.Groups) > 0 && item.Groups[0] == '[' {
			if err := json.Unmarshal(item.Groups, &groups); err != nil {
				t.Fatalf("probe roster groups %s: %v", item.Groups, err)
			}
		}
		n := ""
		if item.Name != nil {
			n = *item.Name
		}
		out[jid] = n + "|" + strings.Join(groups, ",")
	}
	return out
}
