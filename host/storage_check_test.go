package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/prosodyoracle"
)

func TestStorageWarningsNameHostsAndStores(t *testing.T) {
	cfg := filepath.Join(prosodyoracle.Corpus(t), "sql.cfg.lua")
	_, report := startWith(t, Options{ConfigFile: cfg, NoListen: true, Prosody: &ProsodyInstall{}})
	if len(report.Warnings) != 1 {
		t.Fatalf("warnings: %q", report.Warnings)
	}
	w := report.Warnings[0]
	for _, want := range []string{`storage driver "sql"`, `VirtualHost "all-sql.example": every store`,
		`VirtualHost "some-sql.example": private, vcard`, `VirtualHost "default-sql.example": every store but roster`,
		`Component "rooms.example": every store`, "no mod_storage_sql in any plugin folder"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning lacks %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "no-sql.example") {
		t.Errorf("a host on internal storage is named:\n%s", w)
	}
	if !report.OK() {
		t.Errorf("a storage warning made the report not OK: %+v", report)
	}
}

func TestStorageWarningSaysWhyProsodysSQLDriverCannotLoad(t *testing.T) {
	if _, err := os.Stat("/usr/lib/prosody/modules/mod_storage_sql.lua"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	in := &ProsodyInstall{PluginDirs: []string{"/usr/lib/prosody/modules"}, LuaVersion: "5.4"}
	_, report := startWith(t, Options{ConfigSource: "storage = { roster = \"sql\" }\nVirtualHost \"a.example\"\n",
		ConfigName: filepath.Join(t.TempDir(), "sql.cfg.lua"), NoListen: true, Prosody: in})
	want := `VirtualHost "a.example": roster` + "\n(/usr/lib/prosody/modules/mod_storage_sql.lua:6: require \"util.sql\": Prosody's library util.sql is not available in modhost (it needs LuaDBI, a C library))"
	if len(report.Warnings) != 1 || !strings.Contains(report.Warnings[0], want) {
		t.Errorf("warnings %q, want one holding %q", report.Warnings, want)
	}
}

// Store opens keep the driver they found until modules' items change: a
// driver module unloaded is not used after, and one loaded again (a new
// instance, as after a reload) is the one used.
func TestStorageDriverFoundAgainAfterItsModuleUnloadsAndLoads(t *testing.T) {
	dir := t.TempDir()
	plugin := `
local instance = tostring({}):match("0x%x+") or tostring(math.random());
local data = {};
module:provides("storage", {
	open = function (self, store)
		return {
			get = function (_, user) return data[user]; end;
			set = function (_, user, value) data[user] = value; return true; end;
			instance = instance;
		};
	end;
});
`
	if err := os.WriteFile(filepath.Join(dir, "mod_storage_probe.lua"), []byte(plugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, _ := newTestRuntime(t, `
plugin_paths = { "`+dir+`" }
VirtualHost "example.com"
	storage = { roster = "probe" }
	modules_enabled = { "storage_probe" }
`)
	got := luaOnLoop(t, rt, `
local sm = require "core.storagemanager";
local mm = require "core.modulemanager";
local first = sm.open("example.com", "roster").instance;
local again = sm.open("example.com", "roster").instance;
mm.unload("example.com", "storage_probe");
local ok, err = pcall(sm.open, "example.com", "roster");
local reloaded = sm.open("example.com", "roster").instance; -- loads the module again
return tostring(first == again) .. " " .. tostring(ok and "opened" or "refused") .. " " .. tostring(reloaded ~= first);
`)
	// The open after the unload loads the driver module again (as an
	// unconfigured driver would be): a new instance, never the old one.
	if got != "true opened true" {
		t.Fatalf("got %q, want the same driver twice, then a new one after the unload", got)
	}
}

// luaOnLoop runs a chunk on rt's loop and returns what it returns, as text.
func luaOnLoop(t *testing.T, rt *Runtime, chunk string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out string
	err := rt.loop.Do(ctx, func(L *glua.LState) error {
		top := L.GetTop()
		if err := L.DoString(chunk); err != nil {
			return err
		}
		out = L.Get(-1).String()
		L.SetTop(top)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
