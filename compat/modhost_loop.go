package compat

import (
	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// openModhostLoop pushes the modhost.loop library: Lua's handle on the loop
// that runs it. post(fn) runs fn as a later loop job of its own, so code that
// finishes asynchronous work (util.async's done) can continue a coroutine
// without doing it deep inside its caller's stack. It is not a Prosody
// library; Prosody-portable code reaches it only through util.async.
func openModhostLoop(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("post", L.NewFunction(loopPost))
	L.Push(mod)
	return 1
}

// loopPost is modhost.loop.post(fn). An error in fn is logged with its
// traceback and does not stop the loop.
func loopPost(L *glua.LState) int {
	fn := L.CheckFunction(1)
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("modhost.loop.post: this Lua state has no loop")
	}
	if !loop.Post(func(L *glua.LState) { loop.CallLogged(L, "function posted by modhost.loop.post", fn, 0) }) {
		L.RaiseError("modhost.loop.post: the loop is closed")
	}
	return 0
}
