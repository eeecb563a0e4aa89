package host

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPluginRoutesServedOnLoopback(t *testing.T) {
	name, _ := filepath.Abs("test.cfg.lua")
	rt, err := New(Options{ConfigName: name, ConfigSource: `
plugin_paths = { "testdata/plugins" }
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost "example.com"
	modules_enabled = { "web" }
`})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(context.Background())
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
