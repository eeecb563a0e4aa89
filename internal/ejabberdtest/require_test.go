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

func TestANodeAloneNeedsNoEPMDAndAClusterNodeUsesTheClustersOwn(t *testing.T) {
	alone := &Server{DistPort: 4000}
	if got := strings.Join(alone.distArgs(true), " "); got != "-start_epmd false -erl_epmd_port 4000" {
		t.Errorf("alone, node: %q", got)
	}
	if got := strings.Join(alone.distArgs(false), " "); got != "-start_epmd false -erl_epmd_port 4000 -dist_listen false" {
		t.Errorf("alone, ctl: %q", got)
	}
	member := &Server{DistPort: 4000, EPMDPort: 5000, Dir: "/tmp/x"}
	if got := strings.Join(member.distArgs(true), " "); got != "-start_epmd false -kernel inet_dist_listen_min 4000 inet_dist_listen_max 4000" {
		t.Errorf("cluster member, node: %q", got)
	}
	if got := strings.Join(member.distArgs(false), " "); got != "-start_epmd false -dist_listen false" {
		t.Errorf("cluster member, ctl: %q", got)
	}
	if env := strings.Join(member.env(), "\n"); !strings.Contains(env, "\nERL_EPMD_PORT=5000\n") {
		t.Errorf("a cluster member's environment lacks its epmd port")
	}
	if env := strings.Join(alone.env(), "\n"); strings.Contains(env, "ERL_EPMD_PORT") {
		t.Errorf("a node alone is given an epmd port")
	}
}
