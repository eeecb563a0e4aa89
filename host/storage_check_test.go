package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
