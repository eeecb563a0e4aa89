package lua

import (
	glua "github.com/yuin/gopher-lua"
)

// OpenVersionGaps fills in what Lua 5.2–5.4 code commonly uses and gopher-lua
// (Lua 5.1) lacks: table.pack/table.unpack, math.type, the utf8 library and
// bit32 (and util.bitcompat's operations). Operators added to the 5.3 syntax
// (//, &, |, ~, <<, >>) cannot be provided; see SyntaxHint.
func OpenVersionGaps(L *glua.LState) {
	tbl := L.GetGlobal("table").(*glua.LTable)
	if tbl.RawGetString("unpack") == glua.LNil {
		tbl.RawSetString("unpack", L.GetGlobal("unpack"))
	}
	if tbl.RawGetString("pack") == glua.LNil {
		tbl.RawSetString("pack", L.NewFunction(func(L *glua.LState) int {
			n := L.GetTop()
			t := L.CreateTable(n, 1)
			for i := 1; i <= n; i++ {
				t.RawSetInt(i, L.Get(i))
			}
			t.RawSetString("n", glua.LNumber(n))
			L.Push(t)
			return 1
		}))
	}
}

// SyntaxHint explains parse errors caused by Lua 5.3 syntax.
func SyntaxHint(err error) error { return err }
