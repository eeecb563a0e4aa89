package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

func TestCheckExampleConfig(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"check", "--config", "../../examples/prosody.cfg.lua"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"disabled:    roster", "loaded:      http_roster_admin", "server-side: ", "c2s", "config OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckReportsMissingModulesAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.cfg.lua")
	if err := os.WriteFile(missing, []byte("VirtualHost \"x.example\"\n\tmodules_enabled = { \"nonexistent_thing\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"check", "--config", missing}, &out, &errs); code != 1 {
		t.Fatalf("missing module: exit %d, want 1\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "MISSING:     nonexistent_thing") || !strings.Contains(out.String(), "mod_nonexistent_thing.lua") {
		t.Errorf("report does not name the module and the paths searched:\n%s", out.String())
	}

	broken := filepath.Join(dir, "broken.cfg.lua")
	if err := os.WriteFile(broken, []byte("admins = {}\n\nVirtualHost \"x.example\"\n\tfoo = = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errs.Reset()
	if code := run([]string{"check", "--config", broken}, &out, &errs); code != 1 {
		t.Fatalf("syntax error: exit %d, want 1", code)
	}
	if !strings.Contains(errs.String(), "broken.cfg.lua:4:") {
		t.Errorf("error does not give file:line: %q", errs.String())
	}
}

// The binary, built once for the tests that run it (in a folder TestMain
// removes).
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func modhostBinary(t *testing.T) string {
	t.Helper()
	testkit.SkipInShort(t, "binary-building")
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "modhost-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "modhost")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestRunStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := modhostBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.cfg.lua")
	if err := os.WriteFile(cfg, []byte("http_ports = { 0 }\nhttp_interfaces = { \"127.0.0.1\" }\nstorage = \"memory\"\nVirtualHost \"x.example\"\n\tmodules_enabled = { \"http_roster_admin\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfg)
	logs := &testkit.SyncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "host ready") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill() // it may have exited already
			t.Fatalf("not ready:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill() // best effort: the test has failed anyway
		t.Fatalf("did not stop on SIGTERM:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown line:\n%s", logs.String())
	}
}

func TestProsodySnippetForALinkedHost(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "linked.cfg.lua")
	if err := os.WriteFile(cfg, []byte(`VirtualHost "example.com"
	modules_disabled = { "roster" }
	component_client = { port = 5347; jid = "roster.example.com"; secret = "s3cret" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"prosody-snippet", "--config", cfg, "--server", "both"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{`Component "roster.example.com"`, `component_secret = "s3cret"`, `delegations = {`,
		`"block_subscriptions"`, "mod_delegation:", "modhost export-plugins"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("snippet lacks %q:\n%s", want, out.String())
		}
	}
	// ejabberd alone: YAML only, with no Lua comment a YAML parser would choke on.
	out.Reset()
	if code := run([]string{"prosody-snippet", "--config", cfg, "--server", "ejabberd"}, &out, &errs); code != 0 {
		t.Fatalf("ejabberd: exit %d: %s", code, errs.String())
	}
	if strings.Contains(out.String(), "--") || !strings.Contains(out.String(), "mod_privilege:") {
		t.Errorf("ejabberd snippet mixes in Lua or lacks mod_privilege:\n%s", out.String())
	}
	exported := filepath.Join(dir, "plugins")
	out.Reset()
	if code := run([]string{"export-plugins", exported}, &out, &errs); code != 0 {
		t.Fatalf("export-plugins exit %d: %s", code, errs.String())
	}
	if _, err := os.Stat(filepath.Join(exported, "mod_block_subscriptions", "mod_block_subscriptions.lua")); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.cfg.lua")
	if err := os.WriteFile(plain, []byte(`VirtualHost "example.com"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs.Reset()
	if code := run([]string{"prosody-snippet", "--config", plain}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "component_client") {
		t.Fatalf("no linked host: exit %d, %q", code, errs.String())
	}
}

func TestProsodySnippetForEjabberdFollowsEjabberdAPI(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ejabberd.cfg.lua")
	if err := os.WriteFile(cfg, []byte(`VirtualHost "example.com"
	modules_disabled = { "roster" }
	component_client = { port = 5347; jid = "roster.example.com"; secret = "s3cret" }
	ejabberd_api = { url = "http://127.0.0.1:15281/api" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"prosody-snippet", "--config", cfg, "--server", "ejabberd"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	// Rosters go through the API: server-held (no mod_delegation, which
	// 23.01 gets wrong), and the API listener where ejabberd_api points.
	if s := out.String(); !strings.Contains(s, "server-held rosters") || strings.Contains(s, "mod_delegation:") || !strings.Contains(s, "port: 15281") {
		t.Errorf("ejabberd snippet with ejabberd_api:\n%s", s)
	}
}
