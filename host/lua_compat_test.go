package host

import (
	"os"
	"path/filepath"
	"testing"
)

// A plugin is compiled through lua.Load and runs with the base-function
// fixes: the gopher-lua defects of lua/README.md's "Lua compatibility" do
// not reach it.
func TestPluginsGetLuaCompatibilityFixes(t *testing.T) {
	dir := t.TempDir()
	plugin := `
local count = 0
local function bump() count = count + 1 end
module:hook("compat/check", function ()
	local a, b = 1, 2
	a, b = b, a
	local function two() return 1, 2 end
	local t = { "x", k = two() }
	local ok = pcall(error, "caught")
	bump()
	count = count + 10
	bump()
	local sorted = { 3, 1, 2 }
	table.sort(sorted, nil)
	return a .. b .. "|" .. tostring(t[2]) .. "|" .. tostring(ok) .. "|" .. count .. "|" .. sorted[1]
end);
`
	if err := os.WriteFile(filepath.Join(dir, "mod_compat_check.lua"), []byte(plugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, _ := newTestRuntime(t, `
plugin_paths = { "`+dir+`" }
VirtualHost "example.com"
	modules_enabled = { "compat_check" }
`)
	if got := fire(t, rt, "example.com", "compat/check", nil); got != "21|nil|false|12|1" {
		t.Fatalf("plugin saw %v, want 21|nil|false|12|1", got)
	}
}
