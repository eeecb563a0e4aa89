package compat

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// openModhostLoop pushes the modhost.loop library: Lua's handle on the loop
// that runs it. post(fn) runs fn as a later loop job of its own, for code
// that must not run deep inside its caller's stack. It is not a Prosody
// library; Prosody-portable code never needs it.
func openModhostLoop(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("post", L.NewFunction(loopPost))
	L.Push(mod)
	return 1
}

// loopPost is modhost.loop.post(fn): true once fn is queued. An error in fn
// is logged with its traceback and does not stop the loop. Once the loop has
// closed (the runtime is stopping) fn is dropped and post returns false:
// work finishing during shutdown (an HTTP answer resuming a login) has
// nothing left to resume, and that is not an error.
func loopPost(L *glua.LState) int {
	fn := L.CheckFunction(1)
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("modhost.loop.post: this Lua state has no loop")
	}
	queued := loop.Post(func(L *glua.LState) { loop.CallLogged(L, "function posted by modhost.loop.post", fn, 0) })
	if !queued {
		loop.Logger("modhost.loop").Debug("loop closed: posted function dropped")
	}
	L.Push(glua.LBool(queued))
	return 1
}
