package lua

import (
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// loadResults is results() for a chunk compiled by Load (so that a state
// with limits gets its `..` rewritten).
func loadResults(L *glua.LState, src string) string {
	fn, err := Load(L, src, "chunk")
	if err != nil {
		return "compile: " + err.Error()
	}
	L.SetGlobal("(chunk)", fn)
	return results(L, `return _G["(chunk)"]()`)
}

func limitedState(limits StringLimits) *glua.LState {
	L := glua.NewState()
	OpenPatterns(L)
	LimitStrings(L, limits)
	return L
}

// With limits, `..` is a checked call; it must mean what the VM's
// concatenation means.
func TestCheckedConcatenationMeansWhatTheVMDoes(t *testing.T) {
	plain := glua.NewState()
	defer plain.Close()
	limited := limitedState(StringLimits{MaxLen: 1 << 20, MaxTotal: 1 << 24})
	defer limited.Close()
	for _, src := range []string{
		`return "a" .. "b" .. "c"`,
		`return 1 .. 2, 1.5 .. "x", "x" .. -0`,
		`local a, b = "x", "y" return a .. b .. a, (a .. b) .. a`,
		`local t = setmetatable({}, { __concat = function (l, r) return "T(" .. tostring(type(l)) .. "," .. tostring(type(r)) .. ")" end })
		 return "a" .. t, t .. "b", "a" .. "b" .. t, t .. "a" .. "b", ("a" .. t) .. "b"`,
		`local order = {} local function f(x) order[#order + 1] = x return x end
		 local s = f("a") .. f("b") .. f("c") return s, table.concat(order)`,
		`return pcall(function () return "a" .. nil end)`,
		`return pcall(function () return {} .. "a" end)`,
		`local t = { ["k" .. 1] = "v" .. 2, "p" .. "q" } return t.k1, t[1]`,
		`local function f(...) return select("#", ...) end return f("a" .. "b")`,
		`local s = "" for i = 1, 5 do s = s .. i end return s`,
		`return #("ab" .. "cd"), ("x" .. "y"):upper(), not ("a" .. "b"), ("a" .. "b") == "ab"`,
		`local t = { f = function (self, x) return x end } return t:f("a" .. "b"), t.f(t, "c" .. "d")`,
		`repeat local x = "r" .. "s" until x == "rs" return "done"`,
		`if "a" .. "b" == "ab" then return "yes" .. "!" else return "no" end`,
	} {
		want := loadResults(plain, src)
		if got := loadResults(limited, src); got != want {
			t.Errorf("%s\n got  %s\n want %s", src, got, want)
		}
	}
}

// Every way of building a long string is refused before the string is
// built, and the total is bounded too.
func TestStringLimitsRefuseLongResultsBeforeBuildingThem(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"doubling with ..", `local s = ("x"):rep(1024) for i = 1, 40 do s = s .. s end`, "chunk:1: string concatenation (..): result longer than 1048576 bytes"},
		{"a long chain", `local s = ("x"):rep(600000) return #(s .. "-" .. s)`, "longer than 1048576 bytes"},
		{"table.concat of one string many times", `local s, t = ("x"):rep(2^20), {} for i = 1, 20000 do t[i] = s end return table.concat(t)`, "table.concat: result longer than 1048576 bytes"},
		{"table.concat with a long separator", `return table.concat({ 1, 2, 3 }, ("x"):rep(600000))`, "table.concat: result longer than"},
		{"string.rep", `return ("ab"):rep(2^20)`, "string.rep: result longer than 1048576 bytes"},
		{"gsub growing a string", `return (("x"):rep(1000)):gsub("x", ("y"):rep(2000))`, "string.gsub: result longer than 1048576 bytes"},
		{"many strings in all", `local t = {} for i = 1, 100 do t[i] = ("x"):rep(2^20 - i) end`, "more than 16777216 bytes of strings built in all"},
		{"string.format", `return string.format("%s%s", ("x"):rep(2^20 - 10), ("x"):rep(2^20 - 10))`, "string.format: result longer than"},
	} {
		L := limitedState(StringLimits{MaxLen: 1 << 20, MaxTotal: 1 << 24})
		start := time.Now()
		got := loadResults(L, tt.src)
		L.Close()
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s: %s\n got %s, want %q", tt.name, tt.src, got, tt.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", tt.name, d)
		}
	}
}

// Within the limits nothing changes.
func TestStringLimitsLeaveOrdinaryWorkAlone(t *testing.T) {
	L := limitedState(StringLimits{MaxLen: 1 << 20, MaxTotal: 1 << 24})
	defer L.Close()
	got := loadResults(L, `
		local parts = {}
		for i = 1, 100 do parts[#parts + 1] = "item" .. i end
		local joined = table.concat(parts, ",")
		local replaced = joined:gsub("item", "x")
		return #joined, #replaced, ("ab"):rep(3), string.format("%05d", 42), table.concat({}, ","), table.concat({ "a", "b" }, ",", 2)`)
	if want := `number:"691", number:"391", string:"ababab", string:"00042", string:"", string:"b"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
