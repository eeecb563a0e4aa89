package host

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
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

// module:http_url() names where the module's app is reached, as mod_http's
// does: the served scheme, host and port, or http_external_url; the app's
// path follows http_paths. While the module loads, before the server
// listens, the configured port is named.
func TestModuleHTTPURL(t *testing.T) {
	dir := t.TempDir()
	plugin := `
module:depends("http");
module:provides("http", { name = "urlapp"; route = { ["GET /"] = function () return module:http_url(); end } });
at_load = at_load or {};
at_load[module.host] = module:http_url();
module:hook("test/http-url", function () return at_load[module.host]; end);
`
	if err := os.WriteFile(filepath.Join(dir, "mod_urlapp.lua"), []byte(plugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, report := startWith(t, Options{ConfigName: filepath.Join(dir, "test.cfg.lua"), ConfigSource: fmt.Sprintf(`
plugin_paths = { %q }
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost "a.example"
	modules_enabled = { "urlapp" }
VirtualHost "b.example"
	modules_enabled = { "urlapp" }
	http_external_url = "https://xmpp.example.net:443/base/"
VirtualHost "c.example"
	modules_enabled = { "urlapp" }
	http_host = "www.example"
	http_paths = { urlapp = "/u/$host" }
`, dir)})
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(rt.HTTPURLs()[0], "http://"))
	for _, tc := range []struct{ host, requestHost, path, want string }{
		{"a.example", "a.example", "/urlapp", "http://a.example:" + port + "/urlapp"},
		{"b.example", "b.example", "/urlapp", "https://xmpp.example.net/base/urlapp"},
		{"c.example", "www.example", "/u/c.example", "http://www.example:" + port + "/u/c.example"},
	} {
		host, want := tc.host, tc.want
		req, _ := http.NewRequest("GET", rt.HTTPURLs()[0]+tc.path, nil)
		req.Host = tc.requestHost
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("%s: module:http_url() = %q (%d), want %q", host, body, resp.StatusCode, want)
		}
		got, err := rt.FireEvent(context.Background(), host, "test/http-url", nil)
		if err != nil {
			t.Fatal(err)
		}
		// While loading, the port is the configured one (0 here).
		if wantLoad := strings.Replace(want, ":"+port, ":0", 1); got != wantLoad {
			t.Errorf("%s: at load module:http_url() = %v, want %q", host, got, wantLoad)
		}
	}
}
