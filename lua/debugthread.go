package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// fixDebugInfo replaces debug.getinfo and debug.getlocal with versions
// that take a coroutine as their first argument, as Lua 5.1's do
// (gopher-lua's inspect only the running one), and gives getinfo's table
// Lua's short_src: util.debug's tracebacks and Prosody's admin shell read
// both.
func fixDebugInfo(L *glua.LState) {
	debug, ok := L.GetGlobal("debug").(*glua.LTable)
	if !ok {
		return
	}
	if fn, ok := debug.RawGetString("getinfo").(*glua.LFunction); ok && fn.IsG {
		debug.RawSetString("getinfo", L.NewFunction(debugGetInfo))
	}
	if fn, ok := debug.RawGetString("getlocal").(*glua.LFunction); ok && fn.IsG {
		debug.RawSetString("getlocal", L.NewFunction(debugGetLocal))
	}
}

// debugTarget returns the state a debug call inspects (the coroutine
// given first, else the caller's) and the index of the next argument.
func debugTarget(L *glua.LState) (*glua.LState, int) {
	if co, ok := L.Get(1).(*glua.LState); ok {
		return co, 2
	}
	return L, 1
}

// debugGetInfo is debug.getinfo([thread,] f | level [, what]).
func debugGetInfo(L *glua.LState) int {
	target, arg := debugTarget(L)
	what := L.OptString(arg+1, "Slunf")
	var dbg *glua.Debug
	var fn glua.LValue
	var err error
	switch v := L.Get(arg).(type) {
	case *glua.LFunction:
		dbg = &glua.Debug{}
		fn, err = target.GetInfo(">"+what, dbg, v)
	case glua.LNumber:
		var ok bool
		if dbg, ok = target.GetStack(int(v)); !ok {
			L.Push(glua.LNil)
			return 1
		}
		fn, err = target.GetInfo(what, dbg, glua.LNil)
	default:
		L.ArgError(arg, "function or level expected")
	}
	if err != nil {
		L.Push(glua.LNil)
		return 1
	}
	info := L.NewTable()
	if dbg.Name != "" {
		info.RawSetString("name", glua.LString(dbg.Name))
	}
	info.RawSetString("what", glua.LString(dbg.What))
	info.RawSetString("source", glua.LString(dbg.Source))
	info.RawSetString("short_src", glua.LString(shortSource(dbg)))
	info.RawSetString("currentline", glua.LNumber(dbg.CurrentLine))
	info.RawSetString("nups", glua.LNumber(dbg.NUpvalues))
	info.RawSetString("linedefined", glua.LNumber(dbg.LineDefined))
	info.RawSetString("lastlinedefined", glua.LNumber(dbg.LastLineDefined))
	info.RawSetString("func", fn)
	L.Push(info)
	return 1
}

// shortSource is Lua's short_src: "[C]" for a function not written in
// Lua, else the chunk's name without the "@" or "=" that marks a file or
// a literal name.
func shortSource(dbg *glua.Debug) string {
	if dbg.What == "G" || dbg.Source == "" {
		return "[C]"
	}
	return strings.TrimLeft(dbg.Source[:1], "@=") + dbg.Source[1:]
}

// debugGetLocal is debug.getlocal([thread,] level, n): the name and value
// of local n at that level, nil past the last one.
func debugGetLocal(L *glua.LState) int {
	target, arg := debugTarget(L)
	level, idx := L.CheckInt(arg), L.CheckInt(arg+1)
	dbg, ok := target.GetStack(level)
	if !ok {
		L.ArgError(arg, "level out of range")
	}
	name, value := target.GetLocal(dbg, idx)
	if name == "" {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LString(name))
	L.Push(value)
	return 2
}
