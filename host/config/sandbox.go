package config

import (
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// maxRepeat bounds string.rep: a config never needs megabytes of text, and
// an unbounded rep lets one line exhaust memory before any time limit bites.
const maxRepeat = 1 << 20

// openLibrary opens the Lua libraries in L and returns the table of what a
// config may use: the pure parts of the base library, string, table, math,
// os without anything that changes the system, and io reduced to reading
// regular files (reading /dev/zero would never end). No require, load, dofile or debug: a config runs no code but its
// own, Include and RunScript.
func openLibrary(L *glua.LState) *glua.LTable {
	for _, lib := range []struct {
		name string
		open glua.LGFunction
	}{
		{glua.BaseLibName, glua.OpenBase},
		{glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString},
		{glua.MathLibName, glua.OpenMath},
		{glua.OsLibName, glua.OpenOs},
		{glua.IoLibName, glua.OpenIo},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	// Configs written for Lua 5.2+ may say table.unpack.
	lua.OpenVersionGaps(L)
	lib := L.NewTable()
	for _, name := range []string{
		"assert", "ipairs", "next", "pairs", "pcall", "select",
		"tonumber", "tostring", "type", "unpack", "rawequal", "rawget",
		"rawset", "setmetatable", "getmetatable", "_VERSION",
	} {
		lib.RawSetString(name, L.GetGlobal(name))
	}
	// gopher-lua's error(msg, 2) reports the line of the function calling
	// error, not of its caller; configs are told the caller, as Lua says.
	lib.RawSetString("error", L.NewFunction(func(L *glua.LState) int {
		value, level := L.Get(1), L.OptInt(2, 1)
		if msg, ok := value.(glua.LString); ok && level > 0 {
			if dbg, ok := L.GetStack(level); ok {
				if _, err := L.GetInfo("Sl", dbg, glua.LNil); err == nil && dbg.CurrentLine > 0 {
					value = glua.LString(fmt.Sprintf("%s:%d: %s", dbg.Source, dbg.CurrentLine, msg))
				}
			}
		}
		L.Error(value, 0)
		return 0
	}))
	str := L.GetGlobal("string").(*glua.LTable)
	rep := str.RawGetString("rep")
	// Replaced in the shared string table so that ("x"):rep(n) is bounded too.
	str.RawSetString("rep", L.NewFunction(func(L *glua.LState) int {
		s, n := L.CheckString(1), L.CheckInt(2)
		if n > 0 && len(s) > 0 && n > maxRepeat/len(s) {
			L.RaiseError("string.rep: result longer than %d bytes", maxRepeat)
		}
		L.Push(rep)
		L.Push(glua.LString(s))
		L.Push(glua.LNumber(n))
		L.Call(2, 1)
		return 1
	}))
	lib.RawSetString("string", str)
	lib.RawSetString("table", L.GetGlobal("table"))
	lib.RawSetString("math", L.GetGlobal("math"))
	lib.RawSetString("os", subset(L, "os", "getenv", "time", "date", "clock", "difftime"))
	io := L.NewTable()
	realIO := L.GetGlobal("io").(*glua.LTable)
	open, lines := realIO.RawGetString("open"), realIO.RawGetString("lines")
	io.RawSetString("open", L.NewFunction(func(L *glua.LState) int {
		name := L.CheckString(1)
		switch mode := L.OptString(2, "r"); mode {
		case "r", "rb":
		default:
			L.ArgError(2, "a config may only open files for reading (mode \"r\")")
		}
		if err := regularFile(name); err != nil {
			L.Push(glua.LNil)
			L.Push(glua.LString(err.Error()))
			return 2
		}
		top := L.GetTop()
		L.Push(open)
		L.Push(glua.LString(name))
		L.Push(glua.LString("r"))
		L.Call(2, glua.MultRet)
		return L.GetTop() - top
	}))
	io.RawSetString("lines", L.NewFunction(func(L *glua.LState) int {
		name := L.CheckString(1)
		if err := regularFile(name); err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(lines)
		L.Push(glua.LString(name))
		L.Call(1, 1)
		return 1
	}))
	lib.RawSetString("io", io)
	return lib
}

// subset copies the named fields of global table lib into a new table.
func subset(L *glua.LState, lib string, names ...string) *glua.LTable {
	from := L.GetGlobal(lib).(*glua.LTable)
	t := L.NewTable()
	for _, n := range names {
		t.RawSetString(n, from.RawGetString(n))
	}
	return t
}
