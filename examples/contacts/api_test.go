package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeModhost records refresh requests and answers like modhost's refresh
// endpoint; fetch, if set, runs before answering (modhost fetches the
// roster while the refresh request waits).
type fakeModhost struct {
	mu      sync.Mutex
	bodies  []string
	headers []http.Header
	status  int
	fetch   func(users []string)
}

func (f *fakeModhost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.headers = append(f.headers, r.Header.Clone())
	status, fetch := f.status, f.fetch
	f.mu.Unlock()
	if fetch != nil {
		var users []string
		_ = json.Unmarshal(b, &users) // a body that is no list fetches no one, as modhost would
		fetch(users)
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"status":"ok","message":"roster update complete","updated":1,"errors":0}`)
}

func (f *fakeModhost) seen() ([]string, []http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.bodies...), append([]http.Header{}, f.headers...)
}

type fixture struct {
	app     *App
	srv     *httptest.Server
	modhost *fakeModhost
	data    string
}

func newFixture(t *testing.T, secret, header string) *fixture {
	t.Helper()
	f := &fixture{modhost: &fakeModhost{}, data: filepath.Join(t.TempDir(), "contacts.json")}
	refresh := httptest.NewServer(f.modhost)
	t.Cleanup(refresh.Close)
	store, err := OpenStore(f.data)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.app = &App{Store: store, Log: log, Refresher: &Refresher{
		URL: refresh.URL + "/roster_admin/refresh", Secret: secret, Header: header, Timeout: 5 * time.Second, Log: log,
	}}
	f.srv = httptest.NewServer(f.app.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, out
}

// asRoster re-encodes a JSON roster through Roster, so field order is the
// struct's (name, then groups) whatever decoded it.
func asRoster(t *testing.T, s string) string {
	t.Helper()
	var r Roster
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("roster %s: %v", s, err)
	}
	return asJSON(r)
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestContactsOfAnUnknownUserAreAnEmptyObject(t *testing.T) {
	f := newFixture(t, "", "")
	code, body := f.do(t, "GET", "/contacts/nobody", "")
	if code != 200 || len(body) != 0 {
		t.Errorf("got %d %v, want 200 {}", code, body)
	}
}

func TestAdminAPIChangesRosterAndRefreshesTheUser(t *testing.T) {
	f := newFixture(t, "s3cret", "")
	steps := []struct {
		method, path, body string
		code               int
		roster             string // alice's roster after the step
	}{
		{"POST", "/admin/api/users/alice/contacts", `{"jid":"bob@example.com","name":"Bob","groups":["Friends"," Friends ",""]}`, 201,
			`{"bob@example.com":{"name":"Bob","groups":["Friends"]}}`},
		{"POST", "/admin/api/users/alice/contacts", `{"jid":"bob@example.com"}`, 409,
			`{"bob@example.com":{"name":"Bob","groups":["Friends"]}}`},
		{"PUT", "/admin/api/users/alice/contacts/bob@example.com", `{"name":"Robert"}`, 200,
			`{"bob@example.com":{"name":"Robert","groups":["Friends"]}}`},
		{"PUT", "/admin/api/users/alice/contacts/bob@example.com", `{"groups":["Work","Chess"]}`, 200,
			`{"bob@example.com":{"name":"Robert","groups":["Work","Chess"]}}`},
		{"PUT", "/admin/api/users/alice/contacts/nobody@example.com", `{"name":"x"}`, 404,
			`{"bob@example.com":{"name":"Robert","groups":["Work","Chess"]}}`},
		{"POST", "/admin/api/users/alice/contacts", `{"jid":"carol@example.com"}`, 201,
			`{"bob@example.com":{"name":"Robert","groups":["Work","Chess"]},"carol@example.com":{"groups":[]}}`},
		{"DELETE", "/admin/api/users/alice/contacts/bob@example.com", ``, 200,
			`{"carol@example.com":{"groups":[]}}`},
		{"DELETE", "/admin/api/users/alice/contacts/bob@example.com", ``, 404,
			`{"carol@example.com":{"groups":[]}}`},
		{"POST", "/admin/api/users/alice/contacts", `not json`, 400, `{"carol@example.com":{"groups":[]}}`},
		{"POST", "/admin/api/users/alice/contacts", `{"jid":""}`, 400, `{"carol@example.com":{"groups":[]}}`},
	}
	refreshes := 0
	for _, s := range steps {
		code, body := f.do(t, s.method, s.path, s.body)
		if code != s.code {
			t.Fatalf("%s %s %s: got %d %v, want %d", s.method, s.path, s.body, code, body, s.code)
		}
		if code < 300 {
			refreshes++
			if r, _ := body["refresh"].(map[string]any); r == nil || r["status"] != 200.0 || !strings.Contains(asJSON(r), "roster update complete") {
				t.Errorf("%s %s: refresh result %v, want modhost's 200 answer", s.method, s.path, body["refresh"])
			}
		}
		if _, got := f.do(t, "GET", "/contacts/alice", ""); asRoster(t, asJSON(got)) != s.roster {
			t.Errorf("after %s %s %s: roster %s, want %s", s.method, s.path, s.body, asJSON(got), s.roster)
		}
	}
	bodies, headers := f.modhost.seen()
	if len(bodies) != refreshes {
		t.Fatalf("modhost got %d refreshes, want one per change (%d)", len(bodies), refreshes)
	}
	for i, b := range bodies {
		if b != `["alice"]` || headers[i].Get("Authorization") != "Bearer s3cret" || headers[i].Get("Content-Type") != "application/json" {
			t.Errorf("refresh %d: body %s Authorization %q, want [\"alice\"] and Bearer s3cret", i, b, headers[i].Get("Authorization"))
		}
	}
}

func TestRefreshCarriesTheSecretInACustomHeader(t *testing.T) {
	f := newFixture(t, "s3cret", "X-Roster-Admin-Secret")
	f.do(t, "POST", "/admin/api/users/bob/contacts", `{"jid":"alice@example.com"}`)
	_, headers := f.modhost.seen()
	if len(headers) != 1 || headers[0].Get("X-Roster-Admin-Secret") != "s3cret" || headers[0].Get("Authorization") != "" {
		t.Errorf("headers %v, want X-Roster-Admin-Secret: s3cret only", headers)
	}
}

func TestModhostCanFetchTheNewRosterWhileTheRefreshWaits(t *testing.T) {
	f := newFixture(t, "", "")
	fetched := make(chan string, 1)
	f.modhost.fetch = func(users []string) {
		resp, err := http.Get(f.srv.URL + "/contacts/" + url.PathEscape(users[0]))
		if err != nil {
			fetched <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fetched <- string(b)
	}
	code, _ := f.do(t, "POST", "/admin/api/users/carol/contacts", `{"jid":"dave@example.com","name":"Dave"}`)
	if code != 201 {
		t.Fatalf("add: %d", code)
	}
	if got := strings.TrimSpace(<-fetched); got != `{"dave@example.com":{"name":"Dave","groups":[]}}` {
		t.Errorf("modhost fetched %s", got)
	}
}

func TestAFailedRefreshKeepsTheChangeAndReportsTheFailure(t *testing.T) {
	f := newFixture(t, "", "")
	f.modhost.status = http.StatusInternalServerError
	code, body := f.do(t, "POST", "/admin/api/users/alice/contacts", `{"jid":"bob@example.com"}`)
	r, _ := body["refresh"].(map[string]any)
	if code != 201 || r == nil || r["status"] != 500.0 || r["error"] == nil {
		t.Errorf("got %d %v, want 201 with the refresh's 500 reported", code, body)
	}
	f.app.Refresher.URL = "http://127.0.0.1:1/roster_admin/refresh"
	code, body = f.do(t, "DELETE", "/admin/api/users/alice/contacts/bob@example.com", "")
	if r, _ := body["refresh"].(map[string]any); code != 200 || r == nil || r["error"] == nil {
		t.Errorf("unreachable modhost: got %d %v, want 200 with a refresh error", code, body)
	}
}

func TestWithoutARefreshURLNothingIsSent(t *testing.T) {
	f := newFixture(t, "", "")
	f.app.Refresher.URL = ""
	code, body := f.do(t, "POST", "/admin/api/users/alice/contacts", `{"jid":"bob@example.com"}`)
	if code != 201 || body["refresh"] != nil {
		t.Errorf("got %d %v, want 201 and refresh null", code, body)
	}
	if bodies, _ := f.modhost.seen(); len(bodies) != 0 {
		t.Errorf("refreshes sent: %v", bodies)
	}
}

func TestAdminPageFormsChangeTheRoster(t *testing.T) {
	f := newFixture(t, "", "")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values) {
		t.Helper()
		resp, err := client.PostForm(f.srv.URL+"/admin", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("form %v: status %d, want 303", form, resp.StatusCode)
		}
	}
	post(url.Values{"action": {"add"}, "user": {"alice"}, "jid": {"bob@example.com"}, "name": {"Bob"}, "groups": {"A, B"}})
	if got := asJSON(f.app.Store.Roster("alice")); got != `{"bob@example.com":{"name":"Bob","groups":["A","B"]}}` {
		t.Errorf("after add: %s", got)
	}
	resp, err := http.Get(f.srv.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "bob@example.com") || !strings.Contains(string(page), `value="A, B"`) {
		t.Errorf("admin page does not show the contact:\n%s", page)
	}
	post(url.Values{"action": {"update"}, "user": {"alice"}, "jid": {"bob@example.com"}, "name": {""}, "groups": {"C"}})
	if got := asJSON(f.app.Store.Roster("alice")); got != `{"bob@example.com":{"groups":["C"]}}` {
		t.Errorf("after update: %s", got)
	}
	post(url.Values{"action": {"remove"}, "user": {"alice"}, "jid": {"bob@example.com"}})
	if got := asJSON(f.app.Store.Roster("alice")); got != `{}` {
		t.Errorf("after remove: %s", got)
	}
	if bodies, _ := f.modhost.seen(); len(bodies) != 3 {
		t.Errorf("refreshes %v, want 3", bodies)
	}
}

func TestStoreSurvivesARestartAndLeavesNoTemporaryFiles(t *testing.T) {
	f := newFixture(t, "", "")
	for user, roster := range seedRosters("example.org") {
		if err := f.app.Store.Replace(user, roster); err != nil {
			t.Fatal(err)
		}
	}
	reopened, err := OpenStore(f.data)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		if a, b := asJSON(f.app.Store.Roster(user)), asJSON(reopened.Roster(user)); a != b || a == "{}" {
			t.Errorf("%s: before %s after %s", user, a, b)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(f.data))
	if len(entries) != 1 {
		t.Errorf("data folder holds %d files, want only contacts.json", len(entries))
	}
}

func TestAFailedSaveLeavesTheRosterUnchanged(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenStore(filepath.Join(dir, "missing-folder", "contacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add("alice", "bob@example.com", Contact{}); err == nil {
		t.Fatal("save into a missing folder succeeded")
	}
	if got := asJSON(store.Roster("alice")); got != "{}" {
		t.Errorf("roster after a failed save: %s", got)
	}
}

func TestUsernamesWithURLSpecialCharactersAreKeptApart(t *testing.T) {
	f := newFixture(t, "", "")
	users := []string{"we?ird", "100%", "hash#tag", "plain"}
	for _, u := range users {
		code, _ := f.do(t, "POST", "/admin/api/users/"+url.PathEscape(u)+"/contacts", `{"jid":"friend-of-`+url.QueryEscape(u)+`@example.com"}`)
		if code != 201 {
			t.Fatalf("add for %q: %d", u, code)
		}
	}
	for _, u := range users {
		_, got := f.do(t, "GET", "/contacts/"+url.PathEscape(u), "")
		if len(got) != 1 || got["friend-of-"+url.QueryEscape(u)+"@example.com"] == nil {
			t.Errorf("%q got %v", u, got)
		}
	}
	bodies, _ := f.modhost.seen()
	if want := `["we?ird"]`; len(bodies) == 0 || bodies[0] != want {
		t.Errorf("first refresh %v, want %s", bodies, want)
	}
}

// A user listed in ObjectGroups is served groups as the original
// mod_http_roster_admin reads them (object keys); the others get arrays.
func TestContactsServesObjectGroupsToTheUsersListed(t *testing.T) {
	f := newFixture(t, "", "")
	f.app.ObjectGroups = map[string]bool{"alice": true}
	for _, user := range []string{"alice", "bob"} {
		if err := f.app.Store.Replace(user, Roster{"carol@example.com": {Name: "Carol", Groups: []string{"Friends", "Work"}}, "dave@example.com": {Groups: []string{}}}); err != nil {
			t.Fatal(err)
		}
	}
	for user, want := range map[string]string{
		"alice": `{"carol@example.com":{"name":"Carol","groups":{"Friends":true,"Work":true}},"dave@example.com":{"groups":{}}}`,
		"bob":   `{"carol@example.com":{"name":"Carol","groups":["Friends","Work"]},"dave@example.com":{"groups":[]}}`,
	} {
		resp, err := http.Get(f.srv.URL + "/contacts/" + user)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(body)); got != want {
			t.Errorf("GET /contacts/%s = %s, want %s", user, got, want)
		}
	}
}
