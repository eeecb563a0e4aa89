package compat

import (
	glua "github.com/yuin/gopher-lua"
)

// util.bitcompat returns the bit32 library, as Prosody's does on a Lua that
// has one (modhost's loop always installs it; see lua.OpenVersionGaps).
func openUtilBitcompat(L *glua.LState) int {
	bit32 := L.GetGlobal("bit32")
	if bit32 == glua.LNil {
		L.RaiseError("util.bitcompat: no bit32 library")
	}
	L.Push(bit32)
	return 1
}
