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
