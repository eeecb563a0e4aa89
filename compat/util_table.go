package compat

import (
	glua "github.com/yuin/gopher-lua"
)

// openUtilTable is util.table (C in Prosody): create(narray, nhash) returns
// an empty table with room preallocated for that many items, pack(...) a
// table of the arguments with n set to their count (nils included).
func openUtilTable(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("create", L.NewFunction(func(L *glua.LState) int {
		narr, nrec := L.OptInt(1, 0), L.OptInt(2, 0)
		L.Push(L.CreateTable(max(narr, 0), max(nrec, 0)))
		return 1
	}))
	mod.RawSetString("pack", L.NewFunction(func(L *glua.LState) int {
		n := L.GetTop()
		t := L.CreateTable(n, 1)
		for i := 1; i <= n; i++ {
			t.RawSetInt(i, L.Get(i))
		}
		t.RawSetString("n", glua.LNumber(n))
		L.Push(t)
		return 1
	}))
	L.Push(mod)
	return 1
}
