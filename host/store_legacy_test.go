package host

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
)

// The JSON files modhost wrote before its internal storage took Prosody's
// layout are still read (a roster's [false] entry included) and listed,
// and are converted when next written: the .dat file replaces the JSON
// one, and the first conversion is logged once.
func TestInternalStorageReadsOldJSONFilesAndConvertsThemOnWrite(t *testing.T) {
	root := t.TempDir()
	logs := &testkit.SyncBuffer{}
	s := &fileStore{root: root, log: slog.New(slog.NewTextHandler(logs, nil))}
	old := map[string]string{
		"bob":   `{"__modhost_entries":[[false,{"version":3}],["x@example.net",{"subscription":"both","groups":{"Friends":true}}]]}`,
		"carol": `{"__modhost_entries":[[false,{"version":1}]]}`,
	}
	for user, body := range old {
		p := s.legacyFile("example.com", "roster", user)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	L := glua.NewState()
	defer L.Close()
	if err := s.save("example.com", "roster", "dan", L.NewTable()); err != nil {
		t.Fatal(err)
	}
	dan := L.NewTable()
	dan.RawSetString("y@example.net", L.NewTable())
	if err := s.save("example.com", "roster", "dan", dan); err != nil {
		t.Fatal(err)
	}
	users, err := s.users("example.com", "roster")
	if err != nil || strings.Join(users, ",") != "bob,carol,dan" {
		t.Fatalf("users: %v %v", users, err)
	}

	v, err := s.load(L, "example.com", "roster", "bob")
	if err != nil {
		t.Fatal(err)
	}
	roster := v.(*glua.LTable)
	meta, _ := roster.RawGet(glua.LFalse).(*glua.LTable)
	contact, _ := roster.RawGetString("x@example.net").(*glua.LTable)
	if meta == nil || meta.RawGetString("version") != glua.LNumber(3) || contact == nil {
		t.Fatalf("old roster read back: meta %v, contact %v", meta, contact)
	}
	if strings.Contains(logs.String(), "converting") {
		t.Fatalf("logged a conversion before any write:\n%s", logs)
	}

	for _, user := range []string{"bob", "carol"} {
		v, _ := s.load(L, "example.com", "roster", user)
		if err := s.save("example.com", "roster", user, v); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.legacyFile("example.com", "roster", user)); !os.IsNotExist(err) {
			t.Errorf("%s's JSON file still there after the write: %v", user, err)
		}
		raw, err := os.ReadFile(s.file("example.com", "roster", user))
		if err != nil || !strings.HasPrefix(string(raw), "return {") || !strings.Contains(string(raw), "[false] = {") {
			t.Errorf("%s's .dat file: %v\n%s", user, err, raw)
		}
	}
	if filepath.Base(s.file("example.com", "roster", "bob")) != "bob.dat" || !strings.Contains(s.file("example.com", "roster", "bob"), "example%2ecom") {
		t.Errorf("not Prosody's layout: %s", s.file("example.com", "roster", "bob"))
	}
	if n := strings.Count(logs.String(), "converting modhost's old JSON store files"); n != 1 {
		t.Errorf("conversion logged %d times, want once:\n%s", n, logs)
	}
	users, err = s.users("example.com", "roster")
	if err != nil || strings.Join(users, ",") != "bob,carol,dan" {
		t.Fatalf("users after the conversion: %v %v", users, err)
	}
}
