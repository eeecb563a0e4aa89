package host

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

// spinPlugin loops for ever in an HTTP handler, a timer or an event
// handler, on demand.
const spinPlugin = `module:provides("http", {
	route = {
		["GET /spin"] = function ()
			while true do end
		end;
		["GET /ok"] = function () return "ok" end;
	};
});
module:hook("spin-event", function ()
	local n = 0
	while true do n = n + 1 end
end);
module:hook("start-timer", function ()
	module:add_timer(0, function ()
		while true do end
	end);
end);
module:hook("ping", function () return "pong" end);
`

// startSpinning starts a runtime with lua_job_timeout = 0.2 and the spin
// plugin on x.example; logs collects what it logs.
func startSpinning(t *testing.T, logs io.Writer) *Runtime {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_spin.lua"), []byte(spinPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, report := startWith(t, Options{
		ConfigName: filepath.Join(dir, "test.cfg.lua"),
		ConfigSource: `lua_job_timeout = 0.2
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
plugin_paths = { "` + dir + `" }
VirtualHost "x.example"
	modules_enabled = { "spin" }
`,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	return rt
}

func ping(t *testing.T, rt *Runtime) {
	t.Helper()
	if v := fire(t, rt, "x.example", "ping", nil); v != "pong" {
		t.Fatalf("ping = %v: the loop does not go on", v)
	}
}

// An HTTP handler over lua_job_timeout is interrupted inside its util.async
// runner: 504 JSON naming the budget, the next request is served, and the
// log names the plugin and line.
func TestHandlerOverLuaJobTimeoutAnswers504(t *testing.T) {
	var logs testkit.SyncBuffer
	rt := startSpinning(t, &logs)
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get(rt.HTTPURLs()[0] + "/spin/spin")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body.Error, "job over its 200ms budget (lua_job_timeout)") {
		t.Fatalf("GET /spin/spin = %d %+v, want 504 naming the budget", resp.StatusCode, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %v", took)
	}
	resp, err = client.Get(rt.HTTPURLs()[0] + "/spin/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("next request: %d", resp.StatusCode)
	}
	ping(t, rt)
	for _, want := range []string{"in x.example:spin", "mod_spin.lua:4", "route=\"GET /spin\""} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// A timer or an event handler over the budget is interrupted and logged;
// the loop goes on.
func TestTimerAndEventOverLuaJobTimeoutAreInterrupted(t *testing.T) {
	var logs testkit.SyncBuffer
	rt := startSpinning(t, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := rt.FireEvent(ctx, "x.example", "spin-event", nil)
	if err == nil || !strings.Contains(err.Error(), "job over its 200ms budget") {
		t.Fatalf("FireEvent = %v, want the budget error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("event interrupted after %v", took)
	}
	ping(t, rt)

	fire(t, rt, "x.example", "start-timer", nil)
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		return strings.Count(logs.String(), "in x.example:spin") >= 2, logs.String()
	})
	ping(t, rt)
	if !strings.Contains(logs.String(), "mod_spin.lua:15") {
		t.Errorf("log does not name the timer's line:\n%s", logs.String())
	}
	if n := rt.Loop().JobsInterrupted(); n != 2 {
		t.Errorf("JobsInterrupted = %d, want 2", n)
	}
}

// stuckPlugin spins for ever in a timer and, if told to, in module.unload.
const stuckPlugin = `module:hook("start-timer", function ()
	module:add_timer(0, function ()
		while true do end
	end);
end);
if module:get_option_boolean("stuck_unload", false) then
	function module.unload()
		while true do end
	end
end
`

// stoppingRuntime starts a runtime whose loop has an hour's job budget
// and a 300 ms stop budget, with the stuck plugin, and makes its loop spin
// in a timer.
func stoppingRuntime(t *testing.T, logs io.Writer, stuckUnload bool) *Runtime {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_stuck.lua"), []byte(stuckPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	flag := "false"
	if stuckUnload {
		flag = "true"
	}
	rt, err := New(Options{
		ConfigName: filepath.Join(dir, "test.cfg.lua"),
		ConfigSource: `lua_job_timeout = 3600
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
plugin_paths = { "` + dir + `" }
stuck_unload = ` + flag + `
VirtualHost "x.example"
	modules_enabled = { "stuck" }
`,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.files.root = t.TempDir()
	rt.stopBudget = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if report, err := rt.Start(ctx); err != nil || !report.OK() {
		t.Fatalf("start: %v %+v", err, report)
	}
	fire(t, rt, "x.example", "start-timer", nil)
	time.Sleep(100 * time.Millisecond) // the timer is spinning now
	return rt
}

// stopSpinning stops rt and fails the test when Stop overruns the 3 s the
// interrupted job and the unloads are allowed (shutdown's bound is a
// promise to operators, not a speed target).
func stopSpinning(t *testing.T, rt *Runtime) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := rt.Stop(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Stop took %v", took)
	}
	return err
}

// Stop ends within its bound while the loop spins, whatever the job
// budget: the spinning job is interrupted, the unloads run, and a clean unload
// makes a clean stop.
func TestStopWhileTheLoopSpins(t *testing.T) {
	var logs testkit.SyncBuffer
	rt := stoppingRuntime(t, &logs, false)
	err := stopSpinning(t, rt)
	if err != nil {
		t.Errorf("Stop = %v, want nil (the unloads were clean)", err)
	}
	if !strings.Contains(logs.String(), "job interrupted: modhost is shutting down") || !strings.Contains(logs.String(), "in x.example:stuck") {
		t.Errorf("the interruption is not logged:\n%s", logs.String())
	}
}

// A module.unload that never returns is interrupted too, and Stop says
// which module did not unload cleanly.
func TestStopReportsAModuleThatDidNotUnloadCleanly(t *testing.T) {
	var logs testkit.SyncBuffer
	rt := stoppingRuntime(t, &logs, true)
	err := stopSpinning(t, rt)
	if err == nil || !strings.Contains(err.Error(), "modules did not unload cleanly: x.example:stuck: ") ||
		!strings.Contains(err.Error(), "mod_stuck.lua:8: job interrupted: modhost is shutting down") {
		t.Errorf("Stop = %v, want the module that did not unload cleanly", err)
	}
}

// When ctx ends first (a tiny bound), Stop still returns at once after it,
// saying what did not finish.
func TestStopWithinATinyBound(t *testing.T) {
	var logs testkit.SyncBuffer
	rt := stoppingRuntime(t, &logs, true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rt.Stop(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Stop took %v", took)
	}
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Errorf("Stop = %v, want the unloads not finished in time", err)
	}
}

// Start loads every module in one job; each load has the budget to
// itself, so slow loads that each fit it do not add up to a failure, and
// one that does not fit is reported broken without stopping the others.
func TestEachModuleLoadHasItsOwnBudget(t *testing.T) {
	dir := t.TempDir()
	slow := `local now = require "util.time".now
local t = now()
while now() - t < 0.15 do end
`
	for _, name := range []string{"slow1", "slow2", "slow3"} {
		if err := os.WriteFile(filepath.Join(dir, "mod_"+name+".lua"), []byte(slow), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "mod_endless.lua"), []byte("while true do end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	_, report := startWith(t, Options{
		ConfigName: filepath.Join(dir, "test.cfg.lua"),
		ConfigSource: `lua_job_timeout = 0.2
plugin_paths = { "` + dir + `" }
VirtualHost "x.example"
	modules_enabled = { "slow1", "endless", "slow2", "slow3" }
`,
		NoListen: true,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})
	var loaded []string
	for _, m := range report.Hosts[0].Loaded {
		loaded = append(loaded, m.Name)
	}
	if strings.Join(loaded, ",") != "slow1,slow2,slow3" {
		t.Errorf("loaded %v, want slow1, slow2, slow3", loaded)
	}
	if b := report.Hosts[0].Broken; len(b) != 1 || b[0].Name != "endless" || !strings.Contains(b[0].Error, "job over its 200ms budget") {
		t.Errorf("broken = %+v, want endless over its budget", b)
	}
}
