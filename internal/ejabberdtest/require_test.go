package ejabberdtest

import (
	"strings"
	"testing"
)

func TestMissingEjabberdSaysHowToInstallIt(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		if _, msg := prerequisite.WhenMissing(ci); !strings.Contains(msg, installHint) {
			t.Errorf("CI=%q: %q lacks %q", ci, msg, installHint)
		}
	}
}

func TestConfigKeepsEveryListenerOnLoopbackAndIncludesTheTestsYAML(t *testing.T) {
	s := &Server{Host: "example.com", IncludePath: "/tmp/x/included.yml", C2SPort: 1, ComponentPort: 2, HTTPPort: 3,
		opts: Options{LogLevel: "info", Components: map[string]string{"c.example.com": "p"}}}
	cfg := s.config()
	for _, want := range []string{
		"hosts:\n  - \"example.com\"\n", "port: 1\n", "module: ejabberd_c2s", "starttls_required: false",
		"port: 2\n", "module: ejabberd_service", "\"c.example.com\":\n        password: \"p\"",
		"port: 3\n", "/api: mod_http_api", "ip: 127.0.0.1/8", "include_config_file:\n  - \"/tmp/x/included.yml\"",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Count(cfg, "ip: \"127.0.0.1\"") != 3 || strings.Contains(cfg, "/etc/ejabberd") {
		t.Errorf("every listener must be on 127.0.0.1 and nothing from /etc/ejabberd:\n%s", cfg)
	}
	s.opts.APIFromConfig = true
	if cfg := s.config(); strings.Contains(cfg, "mod_http_api") {
		t.Errorf("APIFromConfig: the harness still declares an API:\n%s", cfg)
	}
}
