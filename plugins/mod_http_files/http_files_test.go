package httpfiles_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/runtimetest"
)

// writeWWW fills a folder for mod_http_files, with a file beside it that
// must never be served.
func writeWWW(t *testing.T) string {
	www := t.TempDir()
	writeFiles(t, www, map[string]string{
		"index.html":        "<h1>home</h1>",
		"notes.txt":         "plain notes",
		"style.css":         "body{}",
		"sub/inner.json":    `{"ok":true}`,
		"%41.txt":           "literal name",
		"../outside/secret": "do not serve",
	})
	return www
}

func TestHTTPFilesInsideProsody(t *testing.T) {
	www := writeWWW(t)
	s := prosodytest.Start(t, prosodytest.Options{
		HostConfig: fmt.Sprintf("\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n", www),
		// The same folder with listings on and no index files, on a second host.
		Config: fmt.Sprintf("VirtualHost \"list.example.com\"\n\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n\thttp_dir_listing = true\n\thttp_index_files = {}\n", www),
	})
	t.Cleanup(func() { s.AssertNoLuaErrors(t) })
	checkHTTPFiles(t, func(string) string { return s.HTTPURL("") })
}

// TestHTTPFilesInModhostStandalone runs the same requests against modhost.
func TestHTTPFilesInModhostStandalone(t *testing.T) {
	www := writeWWW(t)
	rt := runtimetest.Start(t, fmt.Sprintf("VirtualHost \"example.com\"\n\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n"+
		"VirtualHost \"list.example.com\"\n\tmodules_enabled = { \"http_files\" }\n\thttp_files_dir = %q\n\thttp_dir_listing = true\n\thttp_index_files = {}\n", www, www), nil, nil, nil)
	checkHTTPFiles(t, func(string) string { return rt.HTTPURLs()[0] })
}

// checkHTTPFiles requests files of writeWWW's folder, served at /files on
// example.com and, listings on and no index files, on list.example.com
// (the Host header says which); base gives the server's address.
func checkHTTPFiles(t *testing.T, base func(host string) string) {
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
		{"", "/files/%2e%2e/outside/secret", "", "", 400},
		{"", "/files/sub/%2e%2e/%2e%2e/outside/secret", "", "", 400},
		// Decoded once, by the server: %252e%252e is a folder named %2e%2e
		// and %2541.txt the file %41.txt.
		{"", "/files/%252e%252e/outside/secret", "", "", 404},
		{"", "/files/%2541.txt", "text/plain", "literal name", 200},
		{"", "/files/%256eotes.txt", "", "", 404},
		{"list.example.com", "/files/", "text/html", "", 200},
		{"list.example.com", "/files/sub/", "text/html", "", 200},
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", base(tc.host), nil)
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
		"/files/":     {"%2541.txt", "index.html", "notes.txt", "style.css", "sub/"},
		"/files/sub/": {"inner.json"},
	}[path]
	for _, name := range want {
		if !strings.Contains(page, `href="`+name+`"`) {
			return false
		}
	}
	return strings.Count(page, "<li>") == len(want)
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

// TestServeForDependents: what mod_http_libjs and mod_register_apps call,
// module:depends"http_files".serve and net.http.files' serve, each given a
// folder of its own (a path, or a table with a mime_map), and the same
// refusals as mod_http_files' own route.
func TestServeForDependents(t *testing.T) {
	www := writeWWW(t)
	plugins := t.TempDir()
	writeFiles(t, plugins, map[string]string{"mod_serve_dep.lua": fmt.Sprintf(`
local dep = module:depends"http_files".serve;
local lib = require "net.http.files".serve;
module:provides("http", { route = {
	["GET /a/*"] = dep({ path = %[1]q, mime_map = { txt = "text/x-notes" } });
	["GET /b/*"] = lib(%[1]q);
} });
`, www)})
	rt := runtimetest.Start(t, "VirtualHost \"example.com\"\n\tmodules_enabled = { \"serve_dep\" }\n", []string{plugins}, nil, nil)
	base := rt.HTTPURLs()[0]
	cases := []struct {
		path, wantType, wantBody string
		wantCode                 int
	}{
		{"/serve_dep/a/notes.txt", "text/x-notes", "plain notes", 200},
		{"/serve_dep/b/notes.txt", "text/plain", "plain notes", 200},
		{"/serve_dep/b/", "text/html", "<h1>home</h1>", 200},
		{"/serve_dep/b/%2e%2e/outside/secret", "", "", 400},
		{"/serve_dep/a/missing", "", "", 404},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", base, nil)
		req.URL.Opaque = tc.path
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode {
			t.Errorf("GET %s → %d, want %d", tc.path, resp.StatusCode, tc.wantCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); tc.wantCode == 200 && (!strings.HasPrefix(ct, tc.wantType) || string(got) != tc.wantBody) {
			t.Errorf("GET %s → %q %q, want %q %q", tc.path, ct, got, tc.wantType, tc.wantBody)
		}
	}
}
