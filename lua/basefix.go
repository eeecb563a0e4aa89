package lua

import (
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// fixBaseFunctions replaces base functions whose gopher-lua versions break
// Prosody code:
//   - pcall and xpcall no longer detach the caller's variables from its
//     closures when they catch an error (see protectedCall); xpcall passes
//     extra arguments on, as Lua 5.2 does;
//   - pairs and ipairs honour __pairs and __ipairs (Lua 5.2; util.cache's
//     table() view and others set them);
//   - table.sort(t, nil) sorts with <, as Lua does, instead of raising;
//   - table.concat builds its result without pushing every part onto the
//     Lua stack: gopher-lua's overflows the registry (a panic the caller
//     cannot catch) past ~5000 parts, which a 600-contact roster result
//     reaches when serialised, and grows every coroutine's registry to the
//     size of the largest stanza it ever sent;
//   - error(msg, level) names the line of the function level levels up
//     (gopher-lua's is one level short: level 2 names error's caller);
//   - debug.getinfo and debug.getlocal take a coroutine first, and
//     getinfo gives short_src (fixDebugInfo);
//   - debug.traceback(msg) returns a msg that is not a string or number
//     untouched (Lua 5.2+), so error objects (tables) survive xpcall
//     handlers that add a traceback.
func fixBaseFunctions(L *glua.LState) {
	if pairs, ok := L.GetGlobal("pairs").(*glua.LFunction); ok && len(pairs.Upvalues) == 1 {
		L.SetGlobal("pairs", L.NewFunction(withMetamethod("__pairs", pairs, glua.LNil)))
	}
	if ipairs, ok := L.GetGlobal("ipairs").(*glua.LFunction); ok && len(ipairs.Upvalues) == 1 {
		L.SetGlobal("ipairs", L.NewFunction(withMetamethod("__ipairs", ipairs, glua.LNumber(0))))
	}
	if tbl, ok := L.GetGlobal("table").(*glua.LTable); ok {
		if concat, ok := tbl.RawGetString("concat").(*glua.LFunction); ok && concat.IsG {
			tbl.RawSetString("concat", L.NewFunction(tableConcat))
		}
		if sort, ok := tbl.RawGetString("sort").(*glua.LFunction); ok && sort.IsG {
			tbl.RawSetString("sort", L.NewFunction(func(L *glua.LState) int {
				if L.GetTop() >= 2 && L.Get(2) == glua.LNil {
					L.SetTop(1)
				}
				return sort.GFunction(L)
			}))
		}
	}
	if _, ok := L.GetGlobal("pcall").(*glua.LFunction); ok {
		L.SetGlobal("pcall", L.NewFunction(luaPCall))
	}
	if _, ok := L.GetGlobal("xpcall").(*glua.LFunction); ok {
		L.SetGlobal("xpcall", L.NewFunction(luaXPCall))
	}
	if _, ok := L.GetGlobal("error").(*glua.LFunction); ok {
		L.SetGlobal("error", L.NewFunction(luaError))
	}
	fixDebugInfo(L)
	if debug, ok := L.GetGlobal("debug").(*glua.LTable); ok {
		if traceback, ok := debug.RawGetString("traceback").(*glua.LFunction); ok && traceback.IsG {
			debug.RawSetString("traceback", L.NewFunction(func(L *glua.LState) int {
				switch msg := L.Get(1).(type) {
				case glua.LString, *glua.LNilType, *glua.LState:
				case glua.LNumber:
					L.Replace(1, glua.LString(msg.String()))
				default:
					L.SetTop(1)
					return 1
				}
				return traceback.GFunction(L)
			}))
		}
	}
}

// tableConcat is table.concat(list [, sep [, i [, j]]]) with gopher-lua's
// bounds (i and j are clamped to 1..#list; with exactly three arguments an
// i outside them gives "") and its error for a part that is neither a
// string nor a number.
func tableConcat(L *glua.LState) int {
	tbl := L.CheckTable(1)
	sep := L.OptString(2, "")
	n := tbl.Len()
	i := L.OptInt(3, 1)
	j := L.OptInt(4, n)
	if L.GetTop() == 3 && (i > n || i < 1) {
		L.Push(glua.LString(""))
		return 1
	}
	i = max(min(i, n), 1)
	j = min(j, n)
	if i > j {
		L.Push(glua.LString(""))
		return 1
	}
	var out strings.Builder
	for k := i; k <= j; k++ {
		v := tbl.RawGetInt(k)
		if !glua.LVCanConvToString(v) {
			L.RaiseError("invalid value (%s) at index %d in table for concat", v.Type().String(), k)
		}
		if k > i {
			out.WriteString(sep)
		}
		out.WriteString(glua.LVAsString(v))
	}
	L.Push(glua.LString(out.String()))
	return 1
}

// withMetamethod returns a version of the iterator constructor base (pairs
// or ipairs) that defers to the argument's metamethod event when it has one.
// Without one it returns what base does: base's own iterator (its upvalue),
// the table and the initial control value.
func withMetamethod(event string, base *glua.LFunction, control glua.LValue) glua.LGFunction {
	var iter glua.LValue = glua.LNil
	if len(base.Upvalues) > 0 {
		iter = base.Upvalues[0].Value()
	}
	return func(L *glua.LState) int {
		if mm := L.GetMetaField(L.Get(1), event); mm != glua.LNil {
			L.SetTop(1)
			L.Insert(mm, 1)
			L.Call(1, 3)
			return 3
		}
		t := L.CheckTable(1)
		L.Push(iter)
		L.Push(t)
		L.Push(control)
		return 3
	}
}

// luaError is error(value [, level]): a string (or number) value gets the
// position of the function level levels up the stack, if that one is Lua.
func luaError(L *glua.LState) int {
	value, level := L.Get(1), L.OptInt(2, 1)
	switch value.(type) {
	case glua.LString, glua.LNumber:
		if level > 0 {
			if dbg, ok := L.GetStack(level); ok {
				if _, err := L.GetInfo("Sl", dbg, glua.LNil); err == nil && dbg.CurrentLine > 0 {
					value = glua.LString(dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ": " + value.String())
				}
			}
		}
	}
	L.Error(value, 0)
	return 0
}
