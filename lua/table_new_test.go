package lua

import (
	"testing"

	glua "github.com/yuin/gopher-lua"
)

func TestTableNewGivesPresizedTables(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	OpenVersionGaps(L)
	if err := L.DoString(`
		local new = require "table.new"
		local set = new(0, 2); set.a = true; set.b = true
		local n = 0; for _ in pairs(set) do n = n + 1 end
		assert(n == 2, "keys " .. n)
		local list = new(3, 0); list[1], list[2], list[3] = "x", "y", "z"
		assert(#list == 3 and list[3] == "z")
		assert(type(new()) == "table")
	`); err != nil {
		t.Fatal(err)
	}
}
