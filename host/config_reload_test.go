package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

// reloadOrderPlugin records, in order, the reload events it sees and what
// module:get_option and core.configmanager say at each.
const reloadOrderPlugin = `local config = require "core.configmanager";
local seen = {};
module:hook_global("reloading-config", function ()
	seen[#seen + 1] = "reloading:" .. module:get_option_string("colour");
end);
module:hook_global("config-reloaded", function (event)
	seen[#seen + 1] = "reloaded:" .. module:get_option_string("colour")
		.. ":" .. tostring(event.config["*"].colour)
		.. ":" .. tostring(event.config == config.getconfig())
		.. ":" .. tostring(config.get("*", "set_at_run_time"));
end);
module:hook("seen", function () return table.concat(seen, " "); end);
module:hook("set", function () config.set("*", "set_at_run_time", "yes"); end);
`

func writeReloadConfig(t *testing.T, file, dir, colour string) {
	t.Helper()
	src := `plugin_paths = { "` + dir + `" }
colour = "` + colour + `"
VirtualHost "x.example"
	modules_enabled = { "reloadorder" }
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Runtime.ReloadConfig does what Prosody's prosody.reload_config does:
// reloading-config with the old config, then config-reloaded with the new
// one, which module:get_option and core.configmanager return (values set
// at run time are gone, as Prosody builds a new table); a file that no
// longer loads is an error, logged, and the config in use stays.
func TestReloadConfigFiresProsodysEventsAndKeepsTheOldConfigOnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_reloadorder.lua"), []byte(reloadOrderPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "modhost.cfg.lua")
	writeReloadConfig(t, file, dir, "red")
	logs := &testkit.SyncBuffer{}
	rt, report := startWith(t, Options{ConfigFile: file, NoListen: true, Stderr: logs})
	if !report.OK() {
		t.Fatalf("not loaded: %+v", report)
	}
	fire(t, rt, "x.example", "set", nil)

	writeReloadConfig(t, file, dir, "blue")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.ReloadConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fire(t, rt, "x.example", "seen", nil), "reloading:red reloaded:blue:blue:true:nil"; got != want {
		t.Fatalf("events seen: %q, want %q", got, want)
	}

	if err := os.WriteFile(file, []byte("colour = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := rt.ReloadConfig(ctx)
	if err == nil || !strings.Contains(err.Error(), "parser") {
		t.Fatalf("reloading a broken config: %v, want a parser error", err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := rt.ReloadConfig(ctx); err == nil || !strings.Contains(err.Error(), "file") {
		t.Fatalf("reloading a missing config: %v, want a file error", err)
	}
	if got, want := fire(t, rt, "x.example", "seen", nil), "reloading:red reloaded:blue:blue:true:nil reloading:blue reloading:blue"; got != want {
		t.Fatalf("events seen: %q, want %q", got, want)
	}
	for _, line := range []string{"There was an error parsing the configuration file", "Couldn't read the config file when trying to reload"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}
