package host

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testConfig = `
plugin_paths = { "testdata/plugins" }
modules_enabled = { "probe", "c2s", "roster", "disco" }
global_number = 42
global_string = "g"
a_bool_string = "true"
a_bad_bool = "maybe"
a_list = { "x", "y" }
VirtualHost "example.com"
	modules_enabled = { "other", "storage_memory" }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
	host_string = "h"
	a_list = { "z" }
	data_path = "ignored-here"
`

func newTestRuntime(t *testing.T, src string) (*Runtime, Report) {
	t.Helper()
	name, _ := filepath.Abs("test.cfg.lua")
	// No listening: a modhost running on this machine holds 5280.
	return startWith(t, Options{ConfigSource: src, ConfigName: name, NoListen: true})
}

// startWith starts a runtime on opts with its internal storage in a temp
// folder, stopped when the test ends, and returns its load report.
func startWith(t testing.TB, opts Options) (*Runtime, Report) {
	t.Helper()
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rt.files.root = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	return rt, report
}

func fire(t *testing.T, rt *Runtime, host, event string, data any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := rt.FireEvent(ctx, host, event, data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReportSkipsServerSideAndListsDisabled(t *testing.T) {
	_, report := newTestRuntime(t, testConfig)
	if len(report.Hosts) != 1 {
		t.Fatalf("hosts: %+v", report.Hosts)
	}
	h := report.Hosts[0]
	loaded := map[string]bool{}
	for _, m := range h.Loaded {
		loaded[m.Name] = true
	}
	for _, want := range []string{"probe", "other", "storage_memory"} {
		if !loaded[want] {
			t.Errorf("%s not loaded: %+v", want, h)
		}
	}
	var names []string
	for _, m := range h.Skipped {
		names = append(names, m.Name)
	}
	skipped := "," + strings.Join(names, ",") + ","
	for _, want := range []string{"c2s", "disco", "presence"} { // configured, and autoloaded by Prosody
		if !strings.Contains(skipped, ","+want+",") {
			t.Errorf("skipped = %v, want it to hold %s", h.Skipped, want)
		}
	}
	if strings.Contains(skipped, ",roster,") {
		t.Errorf("roster is disabled, not skipped: %v", h.Skipped)
	}
	if strings.Join(h.Disabled, ",") != "roster" {
		t.Errorf("disabled = %v", h.Disabled)
	}
	if !report.OK() {
		t.Errorf("report not OK: %+v", report)
	}
}

func TestHookPrioritiesAndFirstNonNilStops(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	got := fire(t, rt, "example.com", "probe/order", map[string]any{"seen": []any{}})
	if got != "stopped-at-low" {
		t.Fatalf("fire_event returned %v", got)
	}
}

func TestModuleGlobalsDoNotLeak(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	if got := fire(t, rt, "example.com", "probe/leak", nil); got != "nil" {
		t.Fatalf("mod_other sees mod_probe's global: %v", got)
	}
	info := fire(t, rt, "example.com", "probe/info", nil).(map[string]any)
	if info["leaked_here"] != "probe" || info["host"] != "example.com" || info["name"] != "probe" || info["host_type"] != "local" {
		t.Fatalf("info = %v", info)
	}
	if !strings.HasSuffix(info["path"].(string), "testdata/plugins/mod_probe.lua") {
		t.Fatalf("path = %v", info["path"])
	}
}

func TestOptionCoercions(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	cases := []struct {
		kind, name string
		def        any
		want       string
	}{
		{"", "global_number", nil, "number:42"},
		{"", "host_string", nil, "string:h"},
		{"", "global_string", nil, "string:g"},
		{"", "missing", "dflt", "string:dflt"},
		{"string", "global_number", nil, "string:42"},
		{"number", "global_string", nil, "nil"},
		{"number", "missing", 7, "number:7"},
		{"boolean", "a_bool_string", nil, "boolean:true"},
		{"boolean", "a_bad_bool", nil, "nil"},
		{"array", "a_list", nil, "z"},
		{"array", "global_string", nil, "g"},
		{"set", "a_list", nil, "z"},
		{"inherited_set", "a_list", nil, "x,y,z"},
		{"set", "missing", nil, "nil"},
		{"scalar", "a_list", nil, "string:z"},
	}
	for _, c := range cases {
		got := fire(t, rt, "example.com", "probe/option", map[string]any{"kind": c.kind, "name": c.name, "default": c.def})
		if got != c.want {
			t.Errorf("get_option_%s(%q) = %v, want %v", c.kind, c.name, got, c.want)
		}
	}
}

func TestStoresCopyAndKeepNonStringKeys(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	for _, store := range []string{"roster", "accounts_internal"} { // memory, then internal files
		got := fire(t, rt, "example.com", "probe/store", map[string]any{"store": store, "kind": "keyval", "user": "alice", "value": "v1"}).(map[string]any)
		if got["value"] != "v1" || got["meta_version"] != 1.0 {
			t.Errorf("%s keyval round trip = %v", store, got)
		}
		if got := fire(t, rt, "example.com", "probe/store", map[string]any{"store": store, "kind": "map", "user": "bob", "key": "k", "value": "mv"}); got != "mv" {
			t.Errorf("%s map round trip = %v", store, got)
		}
	}
}

func TestTimerReschedulesByReturnValue(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	fire(t, rt, "example.com", "probe/timer", nil)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if fire(t, rt, "example.com", "probe/ticks", nil) == 3.0 {
			time.Sleep(50 * time.Millisecond) // a fourth tick would show now
			if got := fire(t, rt, "example.com", "probe/ticks", nil); got != 3.0 {
				t.Fatalf("timer ran %v times, want 3", got)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("timer did not tick three times")
}

func TestHandlerErrorIsReportedAndLoopGoesOn(t *testing.T) {
	rt, _ := newTestRuntime(t, testConfig)
	_, err := rt.FireEvent(context.Background(), "example.com", "probe/error", nil)
	if err == nil || !strings.Contains(err.Error(), "handler failed on purpose") {
		t.Fatalf("err = %v", err)
	}
	if got := fire(t, rt, "example.com", "probe/leak", nil); got != "nil" {
		t.Fatalf("loop broken after error: %v", got)
	}
}

func TestLoadFailuresAreIsolated(t *testing.T) {
	_, report := newTestRuntime(t, `
plugin_paths = { "testdata/plugins" }
VirtualHost "example.com"
	modules_enabled = { "broken", "probe", "syntax", "nowhere" }
`)
	h := report.Hosts[0]
	if len(h.Loaded) != 1 || h.Loaded[0].Name != "probe" {
		t.Fatalf("loaded = %+v", h.Loaded)
	}
	errs := map[string]string{}
	for _, b := range h.Broken {
		errs[b.Name] = b.Error
	}
	if !strings.Contains(errs["broken"], "mod_broken.lua:2") || !strings.Contains(errs["broken"], "broken on purpose") {
		t.Errorf("broken: %q", errs["broken"])
	}
	if !strings.Contains(errs["syntax"], "mod_syntax.lua") {
		t.Errorf("syntax: %q", errs["syntax"])
	}
	if len(h.Missing) != 1 || h.Missing[0].Name != "nowhere" || len(h.Missing[0].Searched) < 3 {
		t.Errorf("missing = %+v", h.Missing)
	}
	if report.OK() {
		t.Error("report OK despite missing and broken modules")
	}
}
