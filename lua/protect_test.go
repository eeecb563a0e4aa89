package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// upvalueDefects assert that a function's closures keep sharing its locals
// across a protected call that failed, and that closures escaping a failed
// function keep their own variables. gopher-lua's pcall and xpcall break
// each of them (see protect.go).
var upvalueDefects = []struct {
	name string
	src  string
}{
	{"pcall keeps a closure made before it attached", `
		local x = 1
		local get = function() return x end
		pcall(error, "boom")
		x = 2
		assert(get() == 2, "get() = " .. get())`},
	{"pcall keeps closures made before and after it sharing", `
		local x = 1
		local set = function(v) x = v end
		pcall(error, "boom")
		local get = function() return x end
		set(5)
		assert(get() == 5 and x == 5, "get() = " .. get())`},
	{"pcall inside a function keeps its caller's closures attached", `
		local function run()
			local count = 0
			local bump = function() count = count + 1 end
			local ok = pcall(function() bump(); error("boom") end)
			bump()
			return count, ok
		end
		local count, ok = run()
		assert(not ok and count == 2, "count = " .. count)`},
	{"an error after a nested pcall returned keeps the outer caller's closures", `
		local x = 1
		local get = function() return x end
		pcall(function()
			pcall(function() end)
			error("boom")
		end)
		x = 2
		assert(get() == 2, "get() = " .. get())`},
	{"xpcall leaves a closure escaping the failed function its own variable", `
		local keep
		local function fail()
			local y = 1
			keep = function() return y end
			error("boom")
		end
		xpcall(fail, function(e) return e end)
		local function other() local z = 10; return function() return z end end
		local h = other()
		assert(keep() == 1 and h() == 10, "keep() = " .. tostring(keep()))`},
}

func TestUpvalueDefectsFailInPlainGopherLua(t *testing.T) {
	for _, tc := range upvalueDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := glua.NewState()
			defer L.Close()
			fn, err := L.Load(stringsReader(tc.src), "upvalues.lua")
			if err != nil {
				t.Fatal(err)
			}
			L.Push(fn)
			if err := L.PCall(0, 0, nil); err == nil {
				t.Fatal("plain gopher-lua now gets this right: protectedCall may be simplified")
			}
		})
	}
}

func TestProtectedCallKeepsCallerUpvalues(t *testing.T) {
	if !vmOK {
		t.Fatal("gopher-lua's LState has no hasErrorFunc any more: protectedCall cannot stop errors closing the caller's upvalues")
	}
	for _, tc := range upvalueDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "upvalues.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestProtectedCallsKeepLuaSemantics(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"pcall results and errors", `
			local ok, a, b = pcall(function(x, y) return x + y, "z" end, 1, 2)
			assert(ok == true and a == 3 and b == "z")
			local e = { code = 1 }
			local ok2, err = pcall(error, e)
			assert(ok2 == false and err == e)
			local ok3, msg = pcall(function() local t = nil; return t.x end)
			assert(not ok3 and msg:find("upvalues.lua:7:"), msg)
			assert(select("#", pcall(function() end)) == 1)`},
		{"pcall of a callable table and of a non-function", `
			local c = setmetatable({}, { __call = function(_, v) return v * 2 end })
			local ok, v = pcall(c, 21)
			assert(ok and v == 42)
			local ok2, msg = pcall(42)
			assert(not ok2 and msg == "attempt to call a number value", msg)`},
		{"xpcall handler sees the error where it happened", `
			local ok, tb = xpcall(function() error("deep") end, debug.traceback)
			assert(not ok and tb:find("deep") and tb:find("stack traceback"), tb)
			local ok2, a, b = xpcall(function(x, y) return y, x end, print, 1, 2)
			assert(ok2 and a == 2 and b == 1)
			local ok3, v = xpcall(function() error({ 7 }) end, function(e) return e[1] end)
			assert(not ok3 and v == 7)`},
		{"nested pcalls", `
			local depth = 0
			local function nest(n)
				if n == 0 then error("bottom") end
				local ok, err = pcall(nest, n - 1)
				depth = depth + 1
				error(err, 0)
			end
			local ok, err = pcall(nest, 5)
			assert(not ok and depth == 5 and err:find("bottom"), err)`},
		{"a closure escaping a stack overflow keeps its variable", `
			local keep
			local function rec(n)
				local v = n
				if n == 1 then keep = function() return v end end
				return rec(n + 1) + 1
			end
			local ok, err = pcall(rec, 1)
			assert(not ok and err:find("stack overflow"), err)
			local function other() local z = 10; return function() return z end end
			local h = other()
			assert(keep() == 1 and h() == 10, "keep() = " .. tostring(keep()))`},
		{"loop variables captured around a failing pcall", `
			local fns = {}
			for i = 1, 3 do
				fns[i] = function() return i end
				pcall(error, "x")
			end
			assert(fns[1]() == 1 and fns[2]() == 2 and fns[3]() == 3)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "upvalues.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// lua.Call from Go code called by Lua (host natives do this) must not detach
// the calling Lua function's closures either.
func TestCallFromGoKeepsCallerUpvalues(t *testing.T) {
	L := newFixedState(t)
	L.SetGlobal("call_go", L.NewFunction(func(L *glua.LState) int {
		_, err := Call(L, L.Get(1), 0)
		L.Push(glua.LBool(err == nil))
		return 1
	}))
	src := `
		local x = 1
		local get = function() return x end
		assert(call_go(function() error("boom") end) == false)
		x = 2
		assert(get() == 2, "get() = " .. get())`
	if _, err := DoChunk(L, src, "call.lua", 0); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPCall(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"error", `error("x")`},
		{"success", `return 1`},
	} {
		for _, fixed := range []bool{false, true} {
			name := bc.name + "/gopher-lua"
			if fixed {
				name = bc.name + "/protectedCall"
			}
			b.Run(name, func(b *testing.B) { benchPCall(b, bc.body, fixed) })
		}
	}
}

func benchPCall(b *testing.B, body string, fixed bool) {
	{
		func() {
			L := glua.NewState()
			defer L.Close()
			if fixed {
				OpenVersionGaps(L)
			}
			fn, err := L.Load(stringsReader(`local f = function() `+body+` end
				for i = 1, 1000 do pcall(f) end`), "bench.lua")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				L.Push(fn)
				L.Call(0, 0)
			}
		}()
	}
}

// Call's errors carry the same traceback gopher-lua's L.PCall gives, so log
// lines and `modhost test` reports do not change with protectedCall.
func TestCallTracebackMatchesGopherLua(t *testing.T) {
	src := "local function inner() error('deep') end\nlocal function outer() inner() end\nreturn outer"
	L := newFixedState(t)
	rets, err := DoChunk(L, src, "tb.lua", 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Call(L, rets[0], 0)
	if err == nil {
		t.Fatal("no error")
	}
	plain := glua.NewState()
	defer plain.Close()
	fn, _ := plain.Load(stringsReader(src), "tb.lua")
	plain.Push(fn)
	plain.Call(0, 1)
	plain.Push(plain.Get(-1))
	perr := plain.PCall(0, 0, nil).(*glua.ApiError)
	if ErrorMessage(err) != perr.Object.String() {
		t.Errorf("message %q, gopher-lua %q", ErrorMessage(err), perr.Object.String())
	}
	if got, want := strings.TrimSpace(Traceback(err)), strings.TrimSpace(perr.StackTrace); got != want {
		t.Errorf("traceback\n%s\ngopher-lua's\n%s", got, want)
	}
}
