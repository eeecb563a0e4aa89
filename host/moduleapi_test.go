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
