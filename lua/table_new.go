package lua

import glua "github.com/yuin/gopher-lua"

// openTableNew registers LuaJIT's `table.new` module: require "table.new"
// returns new(narray, nhash), a table with room for that many entries.
// gopher-lua gives a table filled after `{}` room for 32 keyed entries (about
// a kilobyte); code that knows its sizes (rosters: thousands of small group
// sets) saves most of that. Code written for PUC Lua guards it with pcall,
// as for LuaJIT, so it stays portable to Prosody.
func openTableNew(L *glua.LState) {
	if _, ok := L.GetGlobal("package").(*glua.LTable); !ok {
		return // a state opened without the package library has no require
	}
	L.PreloadModule("table.new", func(L *glua.LState) int {
		L.Push(L.NewFunction(func(L *glua.LState) int {
			narr := L.OptInt(1, 0)
			nrec := L.OptInt(2, 0)
			if narr < 0 || narr > 1<<20 {
				narr = 0
			}
			if nrec < 0 || nrec > 1<<20 {
				nrec = 0
			}
			if nrec == 0 {
				// A zero hash size would give the default 32 on the
				// first keyed store; 1 keeps small sets small.
				nrec = 1
			}
			L.Push(L.CreateTable(narr, nrec))
			return 1
		}))
		return 1
	})
}
