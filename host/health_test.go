package host

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

func healthRuntime(t *testing.T, host string) *Runtime {
	t.Helper()
	rt, _ := startWith(t, Options{ConfigSource: `modules_enabled = { "http_health" }
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
VirtualHost "example.com"
` + host, ConfigName: filepath.Join(t.TempDir(), "test.cfg.lua"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return rt
}

func health(t *testing.T, rt *Runtime) (int, healthAnswer) {
	t.Helper()
	resp, err := http.Get(rt.HTTPURLs()[0] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ans healthAnswer
	if err := json.Unmarshal(body, &ans); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/health = %d %q %s (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}
	return resp.StatusCode, ans
}

func TestHealthIsOKWithoutLinks(t *testing.T) {
	code, ans := health(t, healthRuntime(t, ""))
	if code != 200 || ans.Status != "ok" || len(ans.Links) != 0 {
		t.Errorf("/health without links = %d %+v", code, ans)
	}
}

// A load balancer must send refreshes elsewhere while an instance's XMPP
// server is unreachable: its link is not online, so /health says 503.
func TestHealthIsUnavailableWhileALinkIsNotOnline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there: the link keeps reconnecting
	rt := healthRuntime(t, fmt.Sprintf("\tcomponent_client = { port = %d; jid = \"roster.example.com\"; secret = \"s\" }\n", port))
	code, ans := health(t, rt)
	if code != 503 || ans.Status != "unavailable" || ans.Links["example.com"] == "online" || ans.Links["example.com"] == "" {
		t.Errorf("/health with its server gone = %d %+v", code, ans)
	}
}
