package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadWatchPlugin keeps the option "greeting" as it was at load and as
// config-reloaded saw it, and serves both with the current value.
const reloadWatchPlugin = `local json = require "util.json";
local at_load = module:get_option_string("greeting");
local seen, reloads, filename = nil, 0, nil;
module:hook_global("config-reloaded", function (event)
	reloads = reloads + 1;
	seen = module:get_option_string("greeting");
	filename = event.filename;
end);
module:provides("http", {
	route = {
		["GET /state"] = function ()
			return json.encode({ at_load = at_load, seen = seen, reloads = reloads,
				filename = filename, now = module:get_option_string("greeting") });
		end;
	};
});
`

func reloadWatchConfig(dir, greeting string) string {
	return `http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
plugin_paths = { "` + dir + `" }
greeting = "` + greeting + `"
VirtualHost "x.example"
	modules_enabled = { "reloadwatch" }
`
}

type reloadState struct {
	AtLoad   string `json:"at_load"`
	Seen     string `json:"seen"`
	Now      string `json:"now"`
	Filename string `json:"filename"`
	Reloads  int    `json:"reloads"`
}

func (r *running) reloadState(t *testing.T) reloadState {
	t.Helper()
	resp, err := http.Get(r.url + "/reloadwatch/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st reloadState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// SIGHUP makes a running modhost re-read its config as Prosody does:
// config-reloaded fires and module:get_option returns the new value; a
// config that no longer loads is logged and the one in use stays.
func TestRunReloadsTheConfigOnSIGHUP(t *testing.T) {
	bin := modhostBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_reloadwatch.lua"), []byte(reloadWatchPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "run.cfg.lua")
	if err := os.WriteFile(cfg, []byte(reloadWatchConfig(dir, "hello")), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, bin, cfg)
	if st := r.reloadState(t); st.AtLoad != "hello" || st.Now != "hello" || st.Reloads != 0 {
		t.Fatalf("before any reload: %+v", st)
	}

	if err := os.WriteFile(cfg, []byte(reloadWatchConfig(dir, "bonjour")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	st := r.waitReloads(t, 1)
	if st.Seen != "bonjour" || st.Now != "bonjour" || st.AtLoad != "hello" || st.Filename != cfg {
		t.Fatalf("after the reload: %+v", st)
	}

	if err := os.WriteFile(cfg, []byte("greeting = = broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.logs.String(), "There was an error parsing the configuration file") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged for the broken config:\n%s", r.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := r.reloadState(t); st.Reloads != 1 || st.Now != "bonjour" {
		t.Fatalf("a broken config replaced the one in use: %+v", st)
	}
	if strings.Count(r.logs.String(), "Received SIGHUP") != 2 {
		t.Errorf("each SIGHUP should be logged:\n%s", r.logs.String())
	}

	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after the reloads:\n%s", code, r.logs.String())
	}
}

// waitReloads polls the plugin until it has seen n reloads.
func (r *running) waitReloads(t *testing.T, n int) reloadState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := r.reloadState(t)
		if st.Reloads >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("config-reloaded seen %d times, want %d:\n%s", st.Reloads, n, r.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
