package plugins_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/prosodytest"
	"github.com/modhost/modhost/host/xmpptest"
)

// prosodyTarget runs the plugin inside a real Prosody 0.12 and drives it
// with real XMPP clients.
type prosodyTarget struct {
	s *prosodytest.Server
	b *backend
}

func startProsodyTarget(t *testing.T) *prosodyTarget {
	b := newBackend(t)
	probeDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(probeDir, "mod_roster_admin_probe.lua"), []byte(probePlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	s := prosodytest.Start(t, prosodytest.Options{
		PluginPaths: []string{probeDir},
		HostConfig: fmt.Sprintf(`
	modules_enabled = { "http_roster_admin"; "block_subscriptions"; "roster_admin_probe" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_deadline = %d
	http_roster_admin_max_body = 4096
	probe_log = "{{DIR}}/updated.log"
`, b.url(), int(fetchTimeout/time.Second), int(requestDeadline/time.Second)),
		Config: fmt.Sprintf(`
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = "http://127.0.0.1:1/contacts/%%s"
	http_roster_admin_refresh_offline = true
	http_roster_admin_secret = %q

VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_timeout = %d
	http_roster_admin_refresh_offline = true

Component "comp.example.com"
	component_secret = "compsecret"
`, refusedHost, testSecret, offlineHost, b.url(), int(fetchTimeout/time.Second)),
	})
	return &prosodyTarget{s: s, b: b}
}

func (p *prosodyTarget) backend() *backend { return p.b }

// url ignores host: Prosody picks the VirtualHost from the Host header
// (call sets it).
func (p *prosodyTarget) url(_, path string) string { return p.s.HTTPURL(path) }

func (p *prosodyTarget) log() string { return p.s.Log() }

func (p *prosodyTarget) updatedLog() string {
	logged, _ := os.ReadFile(filepath.Join(p.s.Dir, "updated.log"))
	return string(logged)
}

func (p *prosodyTarget) addUser(t *testing.T, host, user string) {
	t.Helper()
	if host == "" {
		host = p.s.Host
	}
	// Prosody finds accounts by their nodeprep'd name (lower case, for ASCII).
	if err := p.s.AddHostUser(host, strings.ToLower(user), "pw"); err != nil {
		t.Fatal(err)
	}
}

func (p *prosodyTarget) login(t *testing.T, host, user, resource string) rosterClient {
	t.Helper()
	if host == "" {
		host = p.s.Host
	}
	p.addUser(t, host, user)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: p.s.C2SAddr(), Domain: host, Username: user, Password: "pw", Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (p *prosodyTarget) nextPresence(ctx context.Context, to rosterClient, match func(xmpptest.Element) bool) (xmpptest.Element, error) {
	return to.Next(ctx, func(el xmpptest.Element) bool { return el.Is("presence", "") && match(el) })
}

func (p *prosodyTarget) presencesFor(to rosterClient, d time.Duration) []xmpptest.Element {
	var got []xmpptest.Element
	for _, el := range to.Collect(d) {
		if el.Is("presence", "") {
			got = append(got, el)
		}
	}
	return got
}

// inboundPresence sends the presence from a component, as another server's
// entity would, so it reaches the user through presence/* and never through
// the user's own session's pre-presence events.
func (p *prosodyTarget) inboundPresence(t *testing.T, ctx context.Context, typ, from string, to rosterClient) bool {
	t.Helper()
	comp, err := xmpptest.DialComponent(ctx, xmpptest.ComponentConfig{Addr: p.s.ComponentAddr(), Domain: "comp.example.com", Secret: "compsecret"})
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close()
	typeAttr, toJID := "", bareJID(to.JID())
	if typ != "" {
		typeAttr = ` type='` + typ + `'`
	} else {
		toJID = to.JID()
	}
	if err := comp.SendRaw(ctx, `<presence`+typeAttr+` from='`+from+`' to='`+toJID+`'/>`); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = to.Next(wait, func(el xmpptest.Element) bool { return el.Is("presence", "") && el.Attr("from") == from })
	return err == nil
}

func TestRosterAdminInsideProsody(t *testing.T) {
	p := startProsodyTarget(t)
	t.Cleanup(func() { assertNoLuaErrors(t, p.s) })
	runRosterAdminScenarios(t, p)
}

func TestHTTPFilesInsideProsody(t *testing.T) {
	www := t.TempDir()
	writeFiles(t, www, map[string]string{
		"index.html":        "<h1>home</h1>",
		"notes.txt":         "plain notes",
		"style.css":         "body{}",
		"sub/inner.json":    `{"ok":true}`,
		"../outside/secret": "do not serve",
	})
	s := prosodytest.Start(t, prosodytest.Options{
		HostConfig: fmt.Sprintf("\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n", www),
		// The same folder with listings on and no index files, on a second host.
		Config: fmt.Sprintf("VirtualHost \"list.example.com\"\n\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n\thttp_dir_listing = true\n\thttp_index_files = {}\n", www),
	})
	t.Cleanup(func() { assertNoLuaErrors(t, s) })
	cases := []struct {
		host, path, wantType, wantBody string
		wantCode                       int
	}{
		{"", "/files/notes.txt", "text/plain", "plain notes", 200},
		{"", "/files/style.css", "text/css", "body{}", 200},
		{"", "/files/", "text/html", "<h1>home</h1>", 200},
		{"", "/files/sub/inner.json", "application/json", `{"ok":true}`, 200},
		{"", "/files/missing.txt", "", "", 404},
		{"", "/files/sub", "", "", 301},
		{"", "/files/sub/", "", "", 403},
		{"", "/files/%252e%252e/outside/secret", "", "", 400},
		{"", "/files/sub/%252e%252e/%252e%252e/outside/secret", "", "", 400},
		{"list.example.com", "/files/", "text/html", "", 200},
		{"list.example.com", "/files/sub/", "text/html", "", 200},
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", s.HTTPURL(""), nil)
		req.URL.Opaque = tc.path // sent as written, no client-side cleaning
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode {
			t.Errorf("GET %s → %d, want %d", tc.path, resp.StatusCode, tc.wantCode)
			continue
		}
		if bytes.Contains(got, []byte("do not serve")) {
			t.Errorf("GET %s served a file outside http_files_dir", tc.path)
		}
		if tc.wantCode != 200 {
			continue
		}
		ct := resp.Header.Get("Content-Type")
		if tc.host == "" && (!strings.HasPrefix(ct, tc.wantType) || string(got) != tc.wantBody) {
			t.Errorf("GET %s → %q %q, want %q %q", tc.path, ct, got, tc.wantType, tc.wantBody)
		}
		if tc.host != "" && (!strings.HasPrefix(ct, "text/html") || !listsOnly(string(got), tc.path)) {
			t.Errorf("listing of %s → %q %s", tc.path, ct, got)
		}
	}
}

// listsOnly checks a directory listing names exactly that folder's entries.
func listsOnly(page, path string) bool {
	want := map[string][]string{
		"/files/":     {"index.html", "notes.txt", "style.css", "sub/"},
		"/files/sub/": {"inner.json"},
	}[path]
	for _, name := range want {
		if !strings.Contains(page, `href="`+name+`"`) {
			return false
		}
	}
	return strings.Count(page, "<li>") == len(want)
}

// assertNoLuaErrors fails on any error-level line or traceback in Prosody's
// log: a plugin that throws may still make the visible checks pass.
func assertNoLuaErrors(t *testing.T, s *prosodytest.Server) {
	t.Helper()
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "\terror\t") || strings.Contains(line, "traceback") || strings.Contains(line, "Traceback") {
			t.Errorf("prosody logged: %s", line)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
