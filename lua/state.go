package lua

import (
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Library is a module that Lua code can require by Name. Exactly one of Source
// (Lua code, run as a chunk that returns the module) and Open (a Go loader that
// pushes the module and returns 1) is set.
type Library struct {
	Name      string
	Source    string
	Chunkname string // for error messages, e.g. "compat/util/stanza.lua"
	Open      glua.LGFunction
}

// Preload registers libs in package.preload so require loads them on first
// use. NewLoop does it for its Libraries; a state of one's own (the config
// loader's) calls it directly.
func Preload(L *glua.LState, libs []Library) {
	for _, lib := range libs {
		lib := lib
		if lib.Open != nil {
			L.PreloadModule(lib.Name, lib.Open)
			continue
		}
		L.PreloadModule(lib.Name, func(L *glua.LState) int {
			chunk := lib.Chunkname
			if chunk == "" {
				chunk = strings.ReplaceAll(lib.Name, ".", "/") + ".lua"
			}
			fn, err := Load(L, lib.Source, chunk)
			if err != nil {
				L.RaiseError("loading %s: %s", lib.Name, err.Error())
			}
			L.Push(fn)
			L.Push(glua.LString(lib.Name))
			L.Call(1, 1)
			return 1
		})
	}
}

// DoChunk runs src (named chunkname in errors) with args and returns its
// results. It must be called on the loop goroutine.
func DoChunk(L *glua.LState, src, chunkname string, nret int, args ...glua.LValue) ([]glua.LValue, error) {
	fn, err := Load(L, src, chunkname)
	if err != nil {
		return nil, err
	}
	return Call(L, fn, nret, args...)
}

// Call calls fn in protected mode and returns nret results (glua.MultRet for
// all). A Lua error comes back as an error carrying the Lua traceback. Like
// pcall, it leaves the upvalues of the Lua functions below it alone (see
// protectedCall), which matters when Go code called from Lua calls back.
func Call(L *glua.LState, fn glua.LValue, nret int, args ...glua.LValue) (rets []glua.LValue, err error) {
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := protectedCall(L, len(args), nret, nil, true); err != nil {
		L.SetTop(top)
		return nil, err
	}
	n := L.GetTop() - top
	rets = make([]glua.LValue, n)
	for i := 0; i < n; i++ {
		rets[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return rets, nil
}

// ErrorMessage returns the message of a Lua error without its traceback.
func ErrorMessage(err error) string {
	if ae, ok := err.(*glua.ApiError); ok {
		if ae.Object != nil {
			return ae.Object.String()
		}
	}
	return err.Error()
}

// Traceback returns the Lua stack traceback carried by err, if any.
func Traceback(err error) string {
	if ae, ok := err.(*glua.ApiError); ok {
		return ae.StackTrace
	}
	return ""
}

// ArgError raises a Lua error for a bad argument in the style of luaL_argerror.
func ArgError(L *glua.LState, n int, format string, args ...any) {
	L.ArgError(n, fmt.Sprintf(format, args...))
}
