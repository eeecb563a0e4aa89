package testkit

import (
	"context"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// NewLoop starts a Lua loop offering libs, closed when the test ends.
func NewLoop(t testing.TB, libs []lua.Library) *lua.Loop {
	t.Helper()
	l := lua.NewLoop(lua.Options{Libraries: libs})
	t.Cleanup(func() { l.Close(nil) })
	return l
}

// CallLua runs src (a chunk returning one value) with args on l and returns
// the value as a string; a Lua error fails the test.
func CallLua(t testing.TB, l *lua.Loop, src string, args ...glua.LValue) string {
	t.Helper()
	var out string
	err := l.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, src, "test", 1, args...)
		if err == nil {
			out = rets[0].String()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunLua runs src on l; a Lua error fails the test.
func RunLua(t testing.TB, l *lua.Loop, src string) {
	t.Helper()
	err := l.Do(context.Background(), func(L *glua.LState) error {
		_, err := lua.DoChunk(L, src, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// RunLuaAsync runs src on the loop with a global done(...) that reports its
// arguments (converted by lua.ToGo) to the returned channel.
func RunLuaAsync(t testing.TB, l *lua.Loop, src string, vars map[string]string) <-chan []any {
	t.Helper()
	ch := make(chan []any, 256)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		L.SetGlobal("done", L.NewFunction(func(L *glua.LState) int {
			args := make([]any, L.GetTop())
			for i := range args {
				args[i] = lua.ToGo(L.Get(i + 1))
			}
			ch <- args
			return 0
		}))
		L.SetGlobal("OPTIONS", glua.LNil)
		for k, v := range vars {
			L.SetGlobal(k, glua.LString(v))
		}
		_, err := lua.DoChunk(L, src, "test", 0)
		return err
	})
	if err != nil {
		t.Fatalf("run Lua: %v", err)
	}
	return ch
}

// Await returns the next report from ch, failing the test after d.
func Await(t testing.TB, ch <-chan []any, d time.Duration) []any {
	t.Helper()
	select {
	case args := <-ch:
		return args
	case <-time.After(d):
		t.Fatalf("no report within %v", d)
		return nil
	}
}
