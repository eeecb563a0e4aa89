package prosodytest

import (
	"strings"
	"testing"
)

func TestMissingProsodySaysHowToInstallIt(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		if _, msg := prerequisite.WhenMissing(ci); !strings.Contains(msg, installHint) {
			t.Errorf("CI=%q: %q lacks %q", ci, msg, installHint)
		}
	}
}

func TestConfigKeepsEveryListenerOnLoopbackAndOffTheSystemPaths(t *testing.T) {
	s := &Server{Host: "example.com", Dir: "/tmp/x", PidPath: "/tmp/x/p.pid", DataPath: "/tmp/x/data", LogPath: "/tmp/x/log", C2SPort: 1, ComponentPort: 2, HTTPPort: 3}
	cfg := s.config(Options{HostConfig: "\tfoo = \"{{DIR}}\"", Config: "Component \"c.example.com\"\n\tport = {{COMPONENT_PORT}}"})
	for _, want := range []string{
		"run_as_root = true", "daemonize = false", `pidfile = "/tmp/x/p.pid"`, `data_path = "/tmp/x/data"`,
		`interfaces = { "127.0.0.1" }`, "c2s_ports = { 1 }", "component_ports = { 2 }", "http_ports = { 3 }",
		"https_ports = {}", "s2s_ports = {}", "c2s_require_encryption = false", "allow_unencrypted_plain_auth = true",
		"VirtualHost \"example.com\"\n\tfoo = \"/tmp/x\"", "port = 2",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "/etc/prosody") {
		t.Errorf("config refers to the system's Prosody folder:\n%s", cfg)
	}
	// Global settings go before the first section: in one they would be
	// that section's.
	cfg = s.config(Options{Global: "network_settings = { nagle = false }"})
	if g, v := strings.Index(cfg, "network_settings = { nagle = false }"), strings.Index(cfg, "VirtualHost"); g < 0 || g > v {
		t.Errorf("global setting missing or inside a section:\n%s", cfg)
	}
}
