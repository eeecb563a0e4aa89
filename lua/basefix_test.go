package lua

import (
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// baseFunctionDefects assert Lua's behaviour where gopher-lua's base
// functions differ. Each fails in a plain state and passes after
// OpenVersionGaps.
var baseFunctionDefects = []struct {
	name string
	src  string
}{
	{"table.sort with a nil comparator", `
		local t = { 3, 1, 2 }
		table.sort(t, nil)
		assert(t[1] == 1 and t[2] == 2 and t[3] == 3)`},
	{"pairs honours __pairs", `
		local hidden = { a = 1, b = 2 }
		local view = setmetatable({}, { __pairs = function(self)
			return next, hidden, nil
		end })
		local n = 0
		for k, v in pairs(view) do n = n + v end
		assert(n == 3, "sum " .. n)`},
	{"ipairs honours __ipairs", `
		local proxy = setmetatable({}, { __ipairs = function(self)
			return function(_, i) if i < 2 then return i + 1, "v" end end, self, 0
		end })
		local n = 0
		for i, v in ipairs(proxy) do n = n + i end
		assert(n == 3, "sum " .. n)`},
	{"error level 2 names the caller's line", `
		local function check(x) if not x then error("bad argument", 2) end end
		local ok, err = pcall(function()
			check(false) -- line 4
		end)
		assert(err == "gaps.lua:4: bad argument", err)`},
	{"string.byte with an explicit nil end takes one byte", `
		local n = select("#", ("barfoo"):byte(1, nil))
		assert(n == 1, n)`},
	{"string.byte from position 0 starts at the first byte", `
		local a, b = ("abc"):byte(0, 2)
		assert(a == 97 and b == 98, tostring(a) .. " " .. tostring(b))`},
	{"debug.getlocal reads a suspended coroutine", `
		local co = coroutine.create(function () local inside = 1; coroutine.yield(); end)
		coroutine.resume(co)
		assert(debug.getlocal(co, 1, 1) == "inside")`},
	{"debug.traceback returns an error table untouched", `
		local e = { code = 42 }
		assert(debug.traceback(e) == e)
		local ok, got = xpcall(function() error(e) end, debug.traceback)
		assert(not ok and got == e)`},
}

func TestBaseFunctionDefectsFailInPlainGopherLua(t *testing.T) {
	for _, tc := range baseFunctionDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := glua.NewState()
			defer L.Close()
			fn, err := L.Load(stringsReader(tc.src), "gaps.lua")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Call(L, fn, 0); err == nil {
				t.Fatal("plain gopher-lua now gets this right: the override for it may go")
			}
		})
	}
}

func TestVersionGapsFixBaseFunctions(t *testing.T) {
	for _, tc := range baseFunctionDefects {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "gaps.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// gopher-lua's own table.concat pushes every part onto the registry, which
// panics (uncatchably) past its size: a 600-contact roster result did.
func TestTableConcatHasNoPartLimit(t *testing.T) {
	L := newFixedState(t)
	_, err := DoChunk(L, `
		local t = {}
		for i = 1, 20000 do t[i] = "x" end
		assert(#table.concat(t, ",") == 39999)
		local co = coroutine.create(function () return table.concat(t) end)
		local ok, s = coroutine.resume(co)
		assert(ok and #s == 20000, s)`, "gaps.lua", 0)
	if err != nil {
		t.Fatal(err)
	}
}

func TestVersionGapsKeepBaseBehaviour(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"pairs and ipairs of plain tables", `
			local n = 0
			for k, v in pairs({ a = 1, 2 }) do n = n + v end
			for i, v in ipairs({ 10, 20, nil, 40 }) do n = n + i * v end
			assert(n == 53, n)`},
		{"pairs of a non-table raises", `
			local ok, err = pcall(pairs, "s")
			assert(not ok and err:find("table expected"), err)`},
		{"table.concat with separators, bounds and numbers", `
			assert(table.concat({}) == "")
			assert(table.concat({ "a", 1, 2.5 }, "-") == "a-1-2.5")
			assert(table.concat({ "a", "b", "c" }, ",", 2) == "b,c")
			assert(table.concat({ "a", "b", "c" }, ",", 2, 2) == "b")
			assert(table.concat({ "a", "b", "c" }, ",", 3, 2) == "")
			assert(table.concat({ "a", "b" }, ",", 5) == "")
			assert(table.concat({ "a", "b" }, ",", 1, 9) == "a,b")
			local ok, err = pcall(table.concat, { "a", {} })
			assert(not ok and err:find("invalid value %(table%) at index 2"), err)`},
		{"table.sort with a comparator and without", `
			local t = { 1, 3, 2 }
			table.sort(t, function(a, b) return a > b end)
			assert(t[1] == 3 and t[3] == 1)
			table.sort(t)
			assert(t[1] == 1 and t[3] == 3)`},
		{"error levels 0 and 1, and non-string values", `
			local ok, err = pcall(error, "plain", 0)
			assert(err == "plain", err)
			ok, err = pcall(function() error("here") end)
			assert(err == "gaps.lua:4: here", err)
			local e = {}
			ok, err = pcall(error, e, 2)
			assert(err == e)
			ok, err = pcall(function() error(42, 1) end)
			assert(err == "gaps.lua:9: 42", err)`},
		{"error with a level beyond the stack adds nothing", `
			local ok, err = pcall(function() error("far", 50) end)
			assert(err == "far", err)`},
		{"debug.traceback of strings, numbers and nothing", `
			assert(debug.traceback("msg"):find("^msg\nstack traceback:"))
			assert(debug.traceback(7):find("^7\nstack traceback:"))
			assert(debug.traceback():find("^stack traceback:"))
			assert(debug.traceback(nil):find("^stack traceback:"))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			L := newFixedState(t)
			if _, err := DoChunk(L, tc.src, "gaps.lua", 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// #t honours __len on tables in gopher-lua v1.1.2 (a Lua 5.2 behaviour
// Prosody code relies on): pinned so that a change shows up here.
func TestLengthOperatorHonoursLenMetamethod(t *testing.T) {
	L := newFixedState(t)
	rets, err := DoChunk(L, `return #setmetatable({}, { __len = function() return 5 end })`, "len.lua", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rets[0] != glua.LNumber(5) {
		t.Fatalf("#t = %v, want 5 from __len", rets[0])
	}
}
