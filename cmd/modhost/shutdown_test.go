package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

// stuckPlugin's handler and unload never return. With an hour's
// lua_job_timeout nothing but the shutdown interrupts them.
const stuckPlugin = `module:provides("http", {
	route = {
		["GET /spin"] = function ()
			while true do end
		end;
	};
});
function module.unload()
	while true do end
end
`

type running struct {
	cmd  *exec.Cmd
	logs *testkit.SyncBuffer
	url  string
	done chan error
}

// runStuck starts bin/modhost run on a config with the stuck plugin and
// waits until it serves HTTP.
func runStuck(t *testing.T) *running {
	t.Helper()
	bin := modhostBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_stuck.lua"), []byte(stuckPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "run.cfg.lua")
	if err := os.WriteFile(cfg, []byte(`lua_job_timeout = 3600
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
plugin_paths = { "`+dir+`" }
VirtualHost "x.example"
	modules_enabled = { "stuck" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return startRun(t, bin, cfg)
}

// startRun starts `bin run --config cfg` and waits until it serves HTTP
// (the config must listen on http_ports = { 0 }).
func startRun(t *testing.T, bin, cfg string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(bin, "run", "--config", cfg), logs: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	r.cmd.Stderr = r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() { _ = r.cmd.Process.Kill() }) // if the test failed before it exited
	listening := regexp.MustCompile(`HTTP listening"? url=(http://[0-9.:]+)`)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.logs.String(), "host ready") || r.url == "" {
		if m := listening.FindStringSubmatch(r.logs.String()); m != nil {
			r.url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", r.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// wait returns the exit code within limit, or fails the test.
func (r *running) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-r.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		t.Fatalf("still running %v after the signal:\n%s", limit, r.logs.String())
		return -1
	}
}

// SIGTERM while a handler spins for ever (and module.unload would too):
// modhost interrupts the handler (whose request gets a JSON 504), the
// unload, and exits 1 within its bound, saying which module did not unload
// cleanly.
func TestRunStopsWithinItsBoundWhileAHandlerSpins(t *testing.T) {
	r := runStuck(t)
	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(r.url + "/stuck/spin")
		if err != nil {
			answered <- answer{0, err.Error()}
			return
		}
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		answered <- answer{resp.StatusCode, body.Error}
	}()
	time.Sleep(300 * time.Millisecond) // the handler spins
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t, shutdownBound+time.Second)
	took := time.Since(start)
	logs := r.logs.String()
	if code != 1 {
		t.Errorf("exit code %d, want 1 (a module did not unload cleanly)\n%s", code, logs)
	}
	t.Logf("stopped %v after SIGTERM", took)
	for _, want := range []string{"shutting down", "job interrupted: modhost is shutting down",
		"shutdown was not clean: modules did not unload cleanly: x.example:stuck: ", "mod_stuck.lua:9: job interrupted"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	select {
	case a := <-answered:
		if a.status != http.StatusGatewayTimeout || !strings.Contains(a.body, "modhost is shutting down") {
			t.Errorf("the spinning request got %d %q, want 504 saying modhost is shutting down", a.status, a.body)
		}
	case <-time.After(5 * time.Second):
		t.Error("the spinning request was never answered")
	}
}

// A second signal during the shutdown exits at once.
func TestRunSecondSignalExitsAtOnce(t *testing.T) {
	r := runStuck(t)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(r.logs.String(), "shutting down") {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the unload spins now
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("exited %v after the second signal", took)
	}
	if !strings.Contains(r.logs.String(), "second signal (interrupt): exiting now") {
		t.Errorf("log lacks the second signal:\n%s", r.logs.String())
	}
}
