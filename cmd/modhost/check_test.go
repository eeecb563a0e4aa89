package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modhost/modhost/internal/prosodyoracle"
)

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "check.cfg.lua")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func check(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = run(append([]string{"check"}, args...), &out, &errs)
	return code, out.String(), errs.String()
}

func TestCheckReportComesFirstAndAlone(t *testing.T) {
	cfg := writeConfig(t, "modules_enabled = { \"roster\" }\nVirtualHost \"x.example\"\n\tmodules_enabled = { \"nonexistent_thing\" }\n")
	code, out, errs := check(t, "--config", cfg, "--prosody-plugin-dir", "none")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if errs != "" {
		t.Errorf("check logged before (or beside) its report:\n%s", errs)
	}
	if !strings.HasPrefix(out, "VirtualHost \"x.example\"\n") {
		t.Errorf("report does not come first:\n%s", out)
	}
	code, out, errs = check(t, "-v", "--config", cfg, "--prosody-plugin-dir", "none")
	if code != 1 || !strings.HasPrefix(out, "VirtualHost") {
		t.Fatalf("-v: exit %d\n%s", code, out)
	}
	for _, want := range []string{"log while loading:", "module not found", "skipping server-side module"} {
		if !strings.Contains(errs, want) {
			t.Errorf("-v log lacks %q:\n%s", want, errs)
		}
	}
}

func TestCheckMissingListsEveryFolderSearched(t *testing.T) {
	dir := t.TempDir()
	prosodyDir := filepath.Join(dir, "prosody-modules")
	if err := os.Mkdir(prosodyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "plugin_paths = { \""+filepath.Join(dir, "mine")+"\" }\nVirtualHost \"x.example\"\n\tmodules_enabled = { \"nowhere\" }\n")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", prosodyDir)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"MISSING:     nowhere: none of mod_nowhere/nowhere/mod_nowhere.lua, mod_nowhere/mod_nowhere.lua, nowhere/mod_nowhere.lua, mod_nowhere.lua, share/lua/",
		filepath.Join(dir, "mine") + " (plugin_paths; not there)\n",
		"bundled:plugins (modhost's bundled plugins)\n",
		prosodyDir + " (the installed Prosody's)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckListsDisabledHostsAndProsodysComponentModule(t *testing.T) {
	cfg := writeConfig(t, "VirtualHost \"on.example\"\nVirtualHost \"Off.Example\"\n\tenabled = false\nComponent \"ext.example\"\n\tcomponent_secret = \"x\"\n")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", "none")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"VirtualHost \"off.example\"\n  disabled:    the whole host (enabled = false)",
		"Component \"ext.example\"\n  loaded:      (none)\n  server-side: component, iq, s2s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckWarnsAboutStorageDriversModhostLacks(t *testing.T) {
	cfg := filepath.Join(prosodyoracle.Corpus(t), "sql.cfg.lua")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", "none")
	if code != 0 {
		t.Fatalf("a missing storage driver is a warning, not a failure: exit %d\n%s", code, out)
	}
	want := `warning: storage driver "sql" is not available in modhost, so plugins that open these stores will fail:
           VirtualHost "all-sql.example": every store
           VirtualHost "some-sql.example": private, vcard
           VirtualHost "default-sql.example": every store but roster
           Component "rooms.example": every store
         (no mod_storage_sql in any plugin folder)
`
	if !strings.Contains(out, want) || strings.Contains(out, "no-sql.example\":") || !strings.Contains(out, "config OK, with the warnings above") {
		t.Errorf("report lacks\n%s\n--- in:\n%s", want, out)
	}
}

func TestCheckSaysWhatBrokenModulesMiss(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_needs_poll.lua"), []byte("local x = 1\nlocal poll = require \"util.poll\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "plugin_paths = { \""+dir+"\" }\nVirtualHost \"x.example\"\n\tmodules_enabled = { \"needs_poll\" }\n")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", "none")
	want := "BROKEN:      needs_poll: " + filepath.Join(dir, "mod_needs_poll.lua") + `:2: require "util.poll": Prosody's library util.poll is not available in modhost` + "\n"
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("exit %d; report lacks %q:\n%s", code, want, out)
	}
}

// A module that needs the server for a reason the lists do not give gets
// a line of its own saying why, and does not fail the check.
func TestCheckSaysWhyAModuleNeedsTheServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_needs_muc.lua"), []byte("module:depends(\"muc\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "plugin_paths = { \""+dir+"\" }\nVirtualHost \"x.example\"\n\tmodules_enabled = { \"needs_muc\" }\n")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", "none")
	want := "  server-side: needs_muc (skipped, needs the XMPP server: depends on mod_muc, which the XMPP server runs)\n"
	if code != 0 || !strings.Contains(out, want) || strings.Contains(out, "BROKEN") {
		t.Errorf("exit %d; report lacks %q:\n%s", code, want, out)
	}
}

// TestCheckDebiansInstalledConfig checks /etc/prosody/prosody.cfg.lua, with
// its conf.d, unchanged, as Debian's prosody package installs it; CI
// installs prosody (scripts/install-deps), so there it must be present.
func TestCheckDebiansInstalledConfig(t *testing.T) {
	const debian = "/etc/prosody/prosody.cfg.lua"
	if _, err := os.Stat(debian); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: scripts/install-deps installs prosody)", err)
		}
		t.Skip(err)
	}
	code, out, errs := check(t, "--config", debian)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"VirtualHost \"localhost\"", "server-side: posix, presence", "roster", "config OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckFindsInstalledCommunityModules checks a config enabling Debian's
// prosody-modules without naming their folder: each is found where Prosody
// finds it (reported server-side), none missing.
func TestCheckFindsInstalledCommunityModules(t *testing.T) {
	prosodyoracle.Require(t)
	if _, err := os.Stat("/usr/lib/prosody/modules/mod_turncredentials"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: scripts/install-deps installs prosody-modules)", err)
		}
		t.Skip(err)
	}
	cfg := writeConfig(t, "VirtualHost \"x.example\"\n\tmodules_enabled = { \"turncredentials\", \"cloud_notify\", \"auth_dovecot\", \"muc_log_http\" }\n")
	res := prosodyoracle.Run(t, cfg, prosodyoracle.Env{DataDir: t.TempDir()})
	code, out, errs := check(t, "-v", "--config", cfg)
	if code != 0 || strings.Contains(out, "MISSING") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, m := range []string{"turncredentials", "cloud_notify", "auth_dovecot", "muc_log_http"} {
		if res.Found[m] == "" {
			t.Errorf("Prosody does not find mod_%s either", m)
		}
		if !strings.Contains(out, ", "+m) {
			t.Errorf("mod_%s not reported as server-side:\n%s", m, out)
		}
		// The log is in Prosody's console format: "host:module  level\tmessage key=value".
		line := regexp.MustCompile(`(?m)^x\.example:` + m + ` +info\t.* found=` + regexp.QuoteMeta(res.Found[m]) + `$`)
		if !line.MatchString(errs) {
			t.Errorf("-v log lacks a line for mod_%s found at %s (where Prosody finds it):\n%s", m, res.Found[m], errs)
		}
	}
}

// A module modhost bundles and Prosody's folder also holds: check says
// modhost's copy won and names the one not loaded.
func TestCheckSaysWhichCopyWon(t *testing.T) {
	prosody := t.TempDir()
	if err := os.WriteFile(filepath.Join(prosody, "mod_http_files.lua"), []byte("error('Prosody copy loaded')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "VirtualHost \"x.example\"\n\tmodules_enabled = { \"http_files\" }\n")
	code, out, _ := check(t, "--config", cfg, "--prosody-plugin-dir", prosody)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := "bundled:plugins/mod_http_files/mod_http_files.lua\n" + strings.Repeat(" ", 40) +
		"(this copy won; not loaded: " + filepath.Join(prosody, "mod_http_files.lua") + ")"
	if !strings.Contains(out, want) {
		t.Errorf("report does not say which copy won:\n%s", out)
	}
}
