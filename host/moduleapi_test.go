package host

import (
	"context"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

func TestItemsDependsRequireAndContext(t *testing.T) {
	rt, report := newTestRuntime(t, `
plugin_paths = { "testdata/plugins" }
global_only = "g"
VirtualHost "example.com"
	modules_enabled = { "consumer" }
`)
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	got := fire(t, rt, "example.com", "consumer/report", nil).(map[string]any)
	want := map[string]any{
		"seen":            "from provider/provider",
		"provider_is_env": true,
		"helper":          "hello consumer from consumer",
		"things":          1.0,
		"global_ctx":      "g",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if fire(t, rt, "example.com", "consumer/unload-provider", nil) != true {
		t.Fatal("unload failed")
	}
	got = fire(t, rt, "example.com", "consumer/report", nil).(map[string]any)
	if got["seen"] != "from provider/provider,removed provider" || got["things"] != 0.0 {
		t.Errorf("after unloading the provider: %v", got)
	}
}

func TestGlobalModuleGetsAPerHostPart(t *testing.T) {
	rt, report := newTestRuntime(t, `
plugin_paths = { "testdata/plugins" }
VirtualHost "a.example"
	modules_enabled = { "shared_global" }
VirtualHost "b.example"
	modules_enabled = { "shared_global" }
`)
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	for _, h := range []string{"a.example", "b.example"} {
		got := fire(t, rt, h, "global/hosts", nil)
		if got != "a.example,b.example global=true host="+h {
			t.Errorf("%s: %v", h, got)
		}
	}
}

func TestStopCallsModuleUnload(t *testing.T) {
	rec := &Recorder{}
	rt, _ := newTestRuntime(t, `
plugin_paths = { "testdata/plugins" }
VirtualHost "example.com"
	modules_enabled = { "consumer" }
`)
	rt.SetSink(rec)
	if err := rt.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := rec.Sent()
	if len(sent) != 1 || !strings.Contains(sent[0].XML, "consumer unloaded") {
		t.Fatalf("sent at shutdown: %+v", sent)
	}
	if err := rt.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestSharedTablesAreSharedAcrossModules(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	// mod_probe counts its loads in /probe/record; a second module reading
	// the same absolute path sees the same table.
	err := rt.loop.Do(context.Background(), func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `
			local mm = require "core.modulemanager"
			local env = mm.get_module("example.com", "other")
			local record = env.module:shared("/probe/record")
			assert(record.loaded == 1, "loaded = " .. tostring(record.loaded))
			local own = env.module:shared("mine")
			assert(own == env.module:shared("/example.com/other/mine"), "relative path not below /host/module")
		`, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// What community modules probe of the runtime (issue 14 §3): prosody.shutdown
// (mod_invites_api mounts nothing without it), core.storagemanager.olddm,
// hosts[h].s2sout, module:load_resource without a mode, and mod_cron's
// module:daily/hourly (Prosody's mod_cron, so only where it is installed).
func TestRuntimeStateAndTaskAPI(t *testing.T) {
	if DetectProsody() == nil {
		t.Skip("no installed Prosody: module:daily depends on its mod_cron")
	}
	rt, report := newTestRuntime(t, `
plugin_paths = { "testdata/plugins" }
VirtualHost "example.com"
	modules_enabled = { "runtime_probe" }
`)
	if !report.OK() {
		t.Fatalf("report: %+v", report)
	}
	got := fire(t, rt, "example.com", "probe/runtime", nil).(map[string]any)
	want := map[string]any{
		"resource":   "-- Probes what community modules read of the runtime and module API",
		"shutdown":   "function",
		"olddm_load": "function",
		"s2sout":     "table",
		"tasks":      "daily:tidy,hourly:hourly", // mod_cron names an unnamed task after its period,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	fire(t, rt, "example.com", "probe/shutdown", nil)
	select {
	case reason := <-rt.ShutdownRequested():
		if reason != "probe says so" {
			t.Errorf("shutdown reason %q", reason)
		}
	default:
		t.Error("prosody.shutdown did not ask the runtime to stop")
	}
}
