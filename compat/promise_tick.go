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
	schedule, err := postingTick(L)
	if err != nil {
		return fmt.Errorf("defer promise ticks: %w", err)
	}
	if err := callLibrary(L, "util.promise", "set_nexttick", schedule); err != nil {
		return fmt.Errorf("defer promise ticks: %w", err)
	}
	return nil
}

// ServerAsync sets util.async up as Prosody 0.12's startup does in a
// server: a runner that finishes the work it waited for goes back to
// "ready" (and on to its queue) one loop job later, and sleep() waits on
// util.timer. Without it (as under busted) the library does the former at
// once and sleep() fails for want of a schedule function. The host calls
// this once at startup, on the loop goroutine.
func ServerAsync(L *glua.LState) error {
	schedule, err := postingTick(L)
	if err != nil {
		return fmt.Errorf("server util.async: %w", err)
	}
	if err := callLibrary(L, "util.async", "set_nexttick", schedule); err != nil {
		return fmt.Errorf("server util.async: %w", err)
	}
	timer, err := requireLibrary(L, "util.timer")
	if err != nil {
		return fmt.Errorf("server util.async: %w", err)
	}
	if err := callLibrary(L, "util.async", "set_schedule_function", L.GetField(timer, "add_task")); err != nil {
		return fmt.Errorf("server util.async: %w", err)
	}
	return nil
}

// postingTick is a next_tick function that runs its argument as a later
// job of L's loop.
func postingTick(L *glua.LState) (*glua.LFunction, error) {
	loop := lua.LoopOf(L)
	if loop == nil {
		return nil, fmt.Errorf("state has no loop")
	}
	return L.NewFunction(func(L *glua.LState) int {
		fn := L.CheckFunction(1)
		loop.Post(func(L *glua.LState) {
			loop.CallLogged(L, "next tick", fn, 0)
		})
		return 0
	}), nil
}

func requireLibrary(L *glua.LState, name string) (glua.LValue, error) {
	L.Push(L.GetGlobal("require"))
	L.Push(glua.LString(name))
	if err := lua.PCall(L, 1, 1, nil); err != nil {
		return nil, err
	}
	mod := L.Get(-1)
	L.Pop(1)
	return mod, nil
}

// callLibrary calls require(name)[field](arg).
func callLibrary(L *glua.LState, name, field string, arg glua.LValue) error {
	mod, err := requireLibrary(L, name)
	if err != nil {
		return err
	}
	_, err = lua.Call(L, L.GetField(mod, field), 0, arg)
	return err
}
