package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config that prints, as Prosody configs may, does not touch check's
// report: what it prints goes to stderr.
func TestCheckKeepsWhatTheConfigPrintsOffStdout(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "printing.cfg.lua")
	src := "local pp = require \"util.pposix\"\nprint(\"node\", pp.uname().nodename ~= nil)\nVirtualHost \"x.example\"\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"check", "--config", cfg}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	if strings.Contains(out.String(), "node") || !strings.Contains(errs.String(), "node\ttrue\n") {
		t.Errorf("print must reach stderr only:\nstdout: %s\nstderr: %s", out.String(), errs.String())
	}
}

func TestCheckNamesLua54SyntaxInTheConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "lua54.cfg.lua")
	if err := os.WriteFile(cfg, []byte("admins = {}\nmask = 6 & 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"check", "--config", cfg}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := cfg + ":2: Lua 5.3 operator & (bitwise and) is not supported by modhost's Lua 5.1 VM; instead write bit32.band(a, b)"
	if !strings.Contains(errs.String(), want) {
		t.Errorf("stderr %q lacks %q", errs.String(), want)
	}
}
