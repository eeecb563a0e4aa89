package host

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

func TestPluginRoutesServedOnLoopback(t *testing.T) {
	name, _ := filepath.Abs("test.cfg.lua")
	rt, report := startWith(t, Options{ConfigName: name, ConfigSource: `
plugin_paths = { "testdata/plugins" }
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost "example.com"
	modules_enabled = { "web" }
`})
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	urls := rt.HTTPURLs()
	if len(urls) != 1 || !strings.HasPrefix(urls[0], "http://127.0.0.1:") {
		t.Fatalf("urls = %v", urls)
	}
	resp, err := http.Get(urls[0] + "/web/hello?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hi x=1" {
		t.Fatalf("GET /web/hello = %d %q", resp.StatusCode, body)
	}
	resp, err = http.Post(urls[0]+"/web/echo", "application/json", strings.NewReader(`[1]`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "[1]" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST /web/echo = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, err = http.Get(urls[0] + "/web/echo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /web/echo = %d, want 405", resp.StatusCode)
	}
}

// TestPluginRoutesAreServedPerHost pins mod_http's virtual hosting: the same
// plugin on several hosts answers by the request's Host header, under
// http_host when set, and unknown names and addresses go to
// http_default_host, else to the first host in the config with routes.
func TestPluginRoutesAreServedPerHost(t *testing.T) {
	const hosts = `
plugin_paths = { "testdata/plugins" }
VirtualHost "a.example"
	modules_enabled = { "web" }
VirtualHost "b.example"
	modules_enabled = { "web" }
Component "c.example" "web"
	http_host = "www.example"
`
	tests := []struct {
		name, config string
		want         map[string]string // Host header → module.host answering
	}{
		{"first host is the default", hosts, map[string]string{
			"a.example":      "a.example",
			"b.example:5280": "b.example",
			"B.EXAMPLE":      "b.example",
			"www.example":    "c.example",
			"c.example":      "a.example", // its routes are under http_host only
			"127.0.0.1:5280": "a.example",
			"[::1]:5280":     "a.example",
			"localhost:5280": "a.example",
		}},
		{"http_default_host", `http_default_host = "b.example"` + hosts, map[string]string{
			"a.example":      "a.example",
			"127.0.0.1:5280": "b.example",
			"localhost:5280": "b.example",
			"unknown.org":    "b.example",
		}},
		{"a single host answers any name", `
plugin_paths = { "testdata/plugins" }
VirtualHost "example.com"
	modules_enabled = { "web" }
`, map[string]string{
			"example.com":    "example.com",
			"127.0.0.1:5280": "example.com",
			"localhost:5280": "example.com",
			"localhost":      "example.com",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, _ := filepath.Abs("test.cfg.lua")
			rt, report := startWith(t, Options{ConfigName: name, ConfigSource: tt.config, NoListen: true})
			if !report.OK() {
				t.Fatalf("report: %+v", report)
			}
			for host, want := range tt.want {
				req := httptest.NewRequest("GET", "/web/host", nil)
				req.Host = host
				rec := httptest.NewRecorder()
				rt.HTTPHandler().ServeHTTP(rec, req)
				if rec.Code != 200 || rec.Body.String() != want {
					t.Errorf("Host %q → %d %q, want %q", host, rec.Code, rec.Body.String(), want)
				}
			}
		})
	}
}

func TestUnloadingAPluginOnOneHostLeavesTheOtherHostsRoutes(t *testing.T) {
	name, _ := filepath.Abs("test.cfg.lua")
	rt, _ := startWith(t, Options{ConfigName: name, NoListen: true, ConfigSource: `
plugin_paths = { "testdata/plugins" }
VirtualHost "a.example"
	modules_enabled = { "web" }
VirtualHost "b.example"
	modules_enabled = { "web" }
`})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(host string) string {
		req := httptest.NewRequest("GET", "/web/host", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		rt.HTTPHandler().ServeHTTP(rec, req)
		return rec.Body.String()
	}
	unload := func(host string) {
		t.Helper()
		err := rt.Loop().Do(ctx, func(L *glua.LState) error {
			_, err := lua.DoChunk(L, `local ok, err = require "core.modulemanager".unload(...); assert(ok, err)`, "unload", 0, glua.LString(host), glua.LString("web"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	unload("a.example")
	if got := get("b.example"); got != "b.example" {
		t.Errorf("b.example after unloading web on a.example answered %q", got)
	}
	// a.example has no routes left: it is served by the default, now b.example.
	if got := get("a.example"); got != "b.example" {
		t.Errorf("a.example after unloading its web answered %q, want b.example's routes", got)
	}
}
