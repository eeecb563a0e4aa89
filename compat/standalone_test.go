package compat_test

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
)

// The config loader's state has no loop: every standalone library loads
// there, except those needing the loop, which say so.
func TestStandaloneLibrariesLoadWithoutALoop(t *testing.T) {
	needLoop := map[string]bool{"modhost.loop": true, "net.http": true, "util.timer": true, "util.async": true}
	libs := compat.StandaloneLibraries()
	if len(libs) != len(compat.Libraries()) {
		t.Fatalf("%d standalone libraries, %d in all", len(libs), len(compat.Libraries()))
	}
	for _, lib := range libs {
		t.Run(lib.Name, func(t *testing.T) {
			L := glua.NewState()
			defer L.Close()
			lua.OpenVersionGaps(L)
			lua.OpenLoaders(L)
			lua.Preload(L, libs)
			_, err := lua.DoChunk(L, `assert(require(...) ~= nil)`, "test", 0, glua.LString(lib.Name))
			switch {
			case needLoop[lib.Name]:
				if err == nil || !strings.Contains(err.Error(), lib.Name+" needs modhost's running loop") {
					t.Errorf("require: %v, want it refused", err)
				}
			case err != nil:
				t.Errorf("require: %v", err)
			}
		})
	}
}
