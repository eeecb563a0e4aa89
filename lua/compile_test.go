package lua

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// newFixedState is a state set up as NewLoop sets up its own.
func newFixedState(t testing.TB) *glua.LState {
	t.Helper()
	L := glua.NewState()
	t.Cleanup(L.Close)
	OpenVersionGaps(L)
	OpenLoaders(L)
	return L
}

// compilerDefects are snippets that assert Lua's behaviour where gopher-lua
// v1.1.2's compiler gets it wrong. Each must fail under plain DoString
// (pinning the defect: when gopher-lua fixes one, its case says so) and pass
// when compiled by Load.
var compilerDefects = []struct {
	name string
	src  string
}{
	{"swap of two locals", `
		local a, b = 1, 2
		a, b = b, a
		assert(a == 2 and b == 1, "got " .. a .. ", " .. b)`},
	{"rotation of three locals", `
		local a, b, c = 1, 2, 3
		a, b, c = b, c, a
		assert(a == 2 and b == 3 and c == 1, "got " .. a .. b .. c)`},
	{"value computed from a target local", `
		local a, b = 1, 2
		a, b = b + 10, a + 10
		assert(a == 12 and b == 11, "got " .. a .. ", " .. b)`},
	{"swap of locals inside a function body", `
		local function f(x, y) x, y = y, x; return x, y end
		local x, y = f(1, 2)
		assert(x == 2 and y == 1, "got " .. x .. ", " .. y)`},
	{"generic for over a callable field of a call result", `
		local calls = setmetatable({}, { __call = function(_, _, i)
			i = (i or 0) + 1
			if i <= 3 then return i end
		end })
		local function holder() return { field = calls } end
		local n = 0
		for i in holder().field do n = n + i end
		assert(n == 6, "sum " .. n)`},
	{"generic for over an explicit iterator triple from a call", `
		local function source() return { iter = next } end
		local t, n = { 1, 2, 3 }, 0
		for _, v in source().iter, t, nil do n = n + v end
		assert(n == 6, "sum " .. n)`},
	{"keyed call last in a constructor stays keyed", `
		local function two() return 1, 2 end
		local t = { "a", x = two() }
		assert(t.x == 1 and t[2] == nil and t[3] == nil, "t[2]=" .. tostring(t[2]))`},
	{"bracket-keyed call last in a constructor stays keyed", `
		local function two() return 7, 8 end
		local t = { "a", ["k"] = two() }
		assert(t.k == 7 and t[2] == nil, "t[2]=" .. tostring(t[2]))`},
	{"local assigned a parenthesised call that reads it", `
		local function f(path) path = (path:gsub("x", "")); return path end
		assert(f("axb") == "ab", "got " .. tostring(f("axb")))`},
	{"parameter assigned a parenthesised function call on it", `
		local function f(s) s = (string.upper(s)); return s end
		assert(f("ab") == "AB")`},
	{"keyed vararg last in a constructor stays keyed", `
		local function build(...) return { "a", x = ... } end
		local t = build(5, 6)
		assert(t.x == 5 and t[2] == nil, "t[2]=" .. tostring(t[2]))`},
}

func TestCompilerDefectsFailInPlainGopherLua(t *testing.T) {
	for _, tc := range compilerDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := glua.NewState()
			defer L.Close()
			if err := L.DoString(tc.src); err == nil {
				t.Fatal("plain gopher-lua now gets this right: the rewrite for it may go")
			}
		})
	}
}

func TestLoadCompilesDefectsCorrectly(t *testing.T) {
	for _, tc := range compilerDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "defect.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Constructs next to the defective ones that gopher-lua compiles right: the
// rewrite must keep them right.
func TestLoadKeepsLuaSemantics(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"assignment evaluates target keys before values", `
			local i, t = 3, {}
			i, t[i] = i + 1, 20
			assert(i == 4 and t[3] == 20 and t[4] == nil)`},
		{"target key read after an earlier target changes it", `
			local i, t = 3, {}
			t[i], i = 20, i + 1
			assert(i == 4 and t[3] == 20 and t[4] == nil)`},
		{"multiple results spread over targets", `
			local function three() return 1, 2, 3 end
			local a, b, c = 0, 0, 0
			a, b, c = three()
			assert(a == 1 and b == 2 and c == 3)
			a, b, c = 9, three()
			assert(a == 9 and b == 1 and c == 2)
			a, b, c = (three())
			assert(a == 1 and b == nil and c == nil)`},
		{"missing values are nil and extra ones still run", `
			local ran = false
			local function mark() ran = true end
			local a, b = 1, 2
			a, b = 5
			assert(a == 5 and b == nil)
			a, b = 1, 2, mark()
			assert(ran and a == 1 and b == 2)`},
		{"globals, upvalues and fields as targets", `
			local up1, up2 = 1, 2
			local t = { x = 1, y = 2 }
			g1, g2 = 1, 2
			local function swap()
				up1, up2 = up2, up1
				g1, g2 = g2, g1
				t.x, t.y = t.y, t.x
			end
			swap()
			assert(up1 == 2 and up2 == 1 and g1 == 2 and g2 == 1 and t.x == 2 and t.y == 1)`},
		{"a swap that clears", `
			local x, y = 1, 2
			x, y = y, nil
			assert(x == 2 and y == nil)`},
		{"rightmost target assigned first when a name repeats", `
			local a
			a, a = 1, 2
			assert(a == 1, "a=" .. a)`},
		{"generic for forms", `
			local t, n = { 10, 20 }, 0
			for _, v in ipairs(t) do n = n + v end
			for k in pairs({ a = 1 }) do assert(k == "a") end
			for _, v in next, t do n = n + v end
			local function each(...) local s = 0; for _, v in ipairs({ ... }) do s = s + v end; return s end
			assert(n == 60 and each(1, 2, 3) == 6)`},
		{"break and closures in a rewritten loop", `
			local fns, t = {}, { 1, 2, 3 }
			for _, v in next, t do
				fns[#fns + 1] = function() return v end
				if v == 2 then break end
			end
			assert(#fns == 2 and fns[1]() == 1 and fns[2]() == 2)`},
		{"goto out of a rewritten loop", `
			local found
			for _, v in next, { 5, 6 } do
				if v == 6 then found = v; goto done end
			end
			::done::
			assert(found == 6)`},
		{"positional calls still spread in constructors", `
			local function two() return 1, 2 end
			local t = { "a", two() }
			assert(#t == 3 and t[3] == 2)
			local u = { two(), x = 1 }
			assert(u[1] == 1 and u[2] == nil and u.x == 1)`},
		{"swaps inside nested function expressions", `
			local t = { f = function() local a, b = 1, 2; a, b = b, a; return a end }
			assert(t.f() == 2)
			local r = (function() local p, q = "p", "q"; p, q = q, p; return p .. q end)()
			assert(r == "qp")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "semantics.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadKeepsSourceLinesInErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"error in a rewritten assignment", "local a, b = 1, nil\n\na, b = b.x, a\n", "lines.lua:3:"},
		{"error in a rewritten loop header", "local o = {}\nfor x in o.f().g do\nend\n", "lines.lua:2:"},
		{"error in a rewritten loop body", "for _ in next, { 1 } do\n\tlocal z = nil\n\treturn z.y\nend\n", "lines.lua:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			_, err := DoChunk(L, tc.src, "lines.lua", 0)
			if err == nil || !strings.HasPrefix(ErrorMessage(err), tc.want) {
				t.Fatalf("error %v, want it to start with %q", err, tc.want)
			}
		})
	}
}

func TestLoadReportsSyntaxErrorsLikeGopherLua(t *testing.T) {
	L := newFixedState(t)
	_, err := Load(L, "local x = 1\nlocal y = = 2\n", "plugins/mod_bad.lua")
	if err == nil {
		t.Fatal("no error")
	}
	var api *glua.ApiError
	if !errors.As(err, &api) || api.Type != glua.ApiErrorSyntax {
		t.Fatalf("error %T %v, want a syntax *glua.ApiError", err, err)
	}
	var pe *parse.Error
	if !errors.As(api.Cause, &pe) || pe.Pos.Line != 2 {
		t.Fatalf("cause %#v, want a *parse.Error at line 2", api.Cause)
	}
	if !strings.Contains(err.Error(), "plugins/mod_bad.lua line:2") {
		t.Fatalf("message %q does not name the chunk and line", err.Error())
	}
}

func TestLoadCachesByChunknameAndSource(t *testing.T) {
	L := newFixedState(t)
	a, err := Load(L, "return 1", "a.lua")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load(L, "return 1", "a.lua")
	c, _ := Load(L, "return 1", "c.lua")
	if a == b || a.Proto != b.Proto {
		t.Error("same chunk: want two closures over one prototype")
	}
	if a.Proto == c.Proto || c.Proto.SourceName != "c.lua" {
		t.Error("another chunkname must not share the prototype")
	}
}

// Prototypes keep arrays of their own size: gopher-lua compiles every
// function into 12 KiB of buffers and keeps them as its code, which made
// compiled plugins most of modhost's heap. Both compile paths compact.
func TestCompiledPrototypesKeepNoSpareCapacity(t *testing.T) {
	src := "local function f(x) return x + 1 end\nlocal t = { g = function() return f(1) end }\nreturn t.g()\n"
	for _, limited := range []bool{false, true} {
		L := newFixedState(t)
		if limited {
			LimitStrings(L, StringLimits{MaxLen: 1 << 20})
		}
		fn, err := Load(L, src, "compact.lua")
		if err != nil {
			t.Fatal(err)
		}
		var walk func(p *glua.FunctionProto, depth int) int
		walk = func(p *glua.FunctionProto, depth int) int {
			// Clone rounds up to a size class: a little slack, not 1024.
			if c, n := cap(p.Code), len(p.Code); c > n+16 {
				t.Errorf("limits %v, depth %d: code has cap %d for %d instructions", limited, depth, c, n)
			}
			if c, n := cap(p.DbgSourcePositions), len(p.DbgSourcePositions); c > n+16 {
				t.Errorf("limits %v, depth %d: line numbers have cap %d for %d", limited, depth, c, n)
			}
			if c, n := cap(p.DbgCalls), len(p.DbgCalls); c > n+16 {
				t.Errorf("limits %v, depth %d: call records have cap %d for %d", limited, depth, c, n)
			}
			protos := 1
			for _, child := range p.FunctionPrototypes {
				protos += walk(child, depth+1)
			}
			return protos
		}
		if n := walk(fn.Proto, 0); n != 3 {
			t.Fatalf("walked %d prototypes, want 3", n)
		}
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil || L.Get(-1).String() != "2" {
			t.Fatalf("compacted chunk ran to %v, %v; want 2", L.Get(-1), err)
		}
	}
}

// The Lua-level loaders compile through Load too.
func TestLuaLoadersUseLoad(t *testing.T) {
	dir := t.TempDir()
	swap := "local a, b = 1, 2\na, b = b, a\nreturn a * 10 + b\n"
	if err := os.WriteFile(filepath.Join(dir, "swapper.lua"), []byte(swap), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg", "mod.lua"), []byte("local a, b = 1, 2\na, b = b, a\nreturn { v = a * 10 + b, name = ... }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.lua"), []byte("local = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, src string }{
		{"loadstring", `assert(loadstring(SWAP)() == 21)`},
		{"load of a string", `assert(load(SWAP)() == 21)`},
		{"load of a reader function", `
			local parts = { SWAP:sub(1, 5), SWAP:sub(6) }
			local i = 0
			assert(load(function() i = i + 1; return parts[i] end)() == 21)`},
		{"load with an environment", `
			local f = load("x = 5; return y", "env", "t", { y = 7 })
			assert(f() == 7 and x == nil)`},
		{"loadfile", `assert(loadfile(DIR .. "/swapper.lua")() == 21)`},
		{"dofile", `assert(dofile(DIR .. "/swapper.lua") == 21)`},
		{"require from package.path", `
			package.path = DIR .. "/?.lua"
			local m = require("pkg.mod")
			assert(m.v == 21 and m.name == "pkg.mod", tostring(m.name))`},
		{"require names the files it tried", `
			package.path = DIR .. "/?.lua"
			local ok, err = pcall(require, "nowhere")
			assert(not ok and err:find("no file '" .. DIR .. "/nowhere.lua'", 1, true), err)`},
		{"loadstring syntax error names chunk and line", `
			local f, err = loadstring("local x\nx = = 1", "chunky")
			assert(f == nil and err:find("chunky line:2", 1, true), err)`},
		{"loadfile syntax error names the file", `
			local f, err = loadfile(DIR .. "/broken.lua")
			assert(f == nil and err:find("broken.lua line:1", 1, true), err)`},
		{"loadfile of a missing file", `
			local f, err = loadfile(DIR .. "/missing.lua")
			assert(f == nil and err:find("cannot open", 1, true), err)`},
		{"dofile raises a syntax error", `
			local ok, err = pcall(dofile, DIR .. "/broken.lua")
			assert(not ok and err:find("broken.lua line:1", 1, true), err)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			L.SetGlobal("SWAP", glua.LString(swap))
			L.SetGlobal("DIR", glua.LString(dir))
			if _, err := DoChunk(L, tc.src, "loaders.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLibrarySourcesCompileThroughLoad(t *testing.T) {
	L := newFixedState(t)
	Preload(L, []Library{{Name: "swapper", Source: "local a, b = 1, 2\na, b = b, a\nreturn { a = a, b = b }"}})
	rets, err := DoChunk(L, "local m = require 'swapper'; return m.a * 10 + m.b", "main.lua", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rets[0] != glua.LNumber(21) {
		t.Fatalf("got %v, want 21", rets[0])
	}
}

// BenchmarkLoad measures compiling a 500-line plugin, with and without the
// rewrite, and a cached reload.
func BenchmarkLoad(b *testing.B) {
	src := benchPlugin(500)
	b.Run("gopher-lua L.Load", func(b *testing.B) {
		L := glua.NewState()
		defer L.Close()
		for i := 0; i < b.N; i++ {
			if _, err := L.Load(strings.NewReader(src), "mod_bench.lua"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Compile (parse, rewrite, compile)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Compile(src, "mod_bench.lua"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load cached", func(b *testing.B) {
		L := glua.NewState()
		defer L.Close()
		for i := 0; i < b.N; i++ {
			if _, err := Load(L, src, "mod_bench.lua"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPlugin returns a plugin-shaped source of about lines lines: options,
// helpers with swaps and loops, hooks.
func benchPlugin(lines int) string {
	var b strings.Builder
	b.WriteString("local st = require \"util.stanza\"\nlocal jid_split = require \"util.jid\".split\n")
	b.WriteString("local max = module:get_option_number(\"max_things\", 10)\n")
	for n := 3; n < lines; n += 12 {
		b.WriteString(`local function helper` + strings.Repeat("x", n%7) + `(event, a, b)
	local stanza, origin = event.stanza, event.origin
	a, b = b, a
	local t = { "first", count = #stanza, kind = stanza:get_child("x") }
	for k, v in pairs(t) do
		if type(v) == "string" then t[k] = v:upper() end
	end
	for i = 1, max do a = a + i end
	origin.send(st.reply(stanza):tag("ok", { xmlns = "urn:x" }):up())
	return a, b, jid_split(stanza.attr.from)
end
module:hook("message/bare", helper` + strings.Repeat("x", n%7) + `, 10)
`)
	}
	return b.String()
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
