package plugins_test

import (
	"path/filepath"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// Every bundled plugin must also compile in gopher-lua (Lua 5.1), where
// modhost runs it; Prosody's Lua 5.4 accepts syntax gopher-lua does not.
func TestEveryPluginCompilesInGopherLua(t *testing.T) {
	files, err := filepath.Glob("mod_*/mod_*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plugins found: %v", err)
	}
	for _, file := range files {
		L := glua.NewState()
		if _, err := L.LoadFile(file); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		L.Close()
	}
}
