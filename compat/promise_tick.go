package compat

import (
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// DeferPromiseTicks makes util.promise run each executor, and so each
// handler attached to an already settled promise, in a later job of L's
// loop, as Prosody 0.12's startup does with a zero-delay timer. Without it
// the library runs them at once, which is what Prosody's library does
// outside a server (under busted, for instance). The host calls this once
// at startup, on the loop goroutine.
func DeferPromiseTicks(L *glua.LState) error {
	loop := lua.LoopOf(L)
	if loop == nil {
		return fmt.Errorf("defer promise ticks: state has no loop")
	}
	schedule := L.NewFunction(func(L *glua.LState) int {
		fn := L.CheckFunction(1)
		loop.Post(func(L *glua.LState) {
			loop.CallLogged(L, "promise tick", fn, 0)
		})
		return 0
	})
	L.Push(L.GetGlobal("require"))
	L.Push(glua.LString("util.promise"))
	if err := lua.PCall(L, 1, 1, nil); err != nil {
		return fmt.Errorf("defer promise ticks: %w", err)
	}
	promise := L.Get(-1)
	L.Pop(1)
	if _, err := lua.Call(L, L.GetField(promise, "set_nexttick"), 0, schedule); err != nil {
		return fmt.Errorf("defer promise ticks: %w", err)
	}
	return nil
}
