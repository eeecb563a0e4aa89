package lua

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// results runs a chunk returning any values and renders them (or the error).
func results(L *glua.LState, src string) string {
	fn, err := L.LoadString(src)
	if err != nil {
		return "compile: " + err.Error()
	}
	top := L.GetTop()
	L.Push(fn)
	if err := L.PCall(0, glua.MultRet, nil); err != nil {
		L.SetTop(top)
		msg := ErrorMessage(err)
		return "error: " + msg
	}
	var parts []string
	for i := top + 1; i <= L.GetTop(); i++ {
		v := L.Get(i)
		parts = append(parts, fmt.Sprintf("%s:%q", v.Type(), v.String()))
	}
	L.SetTop(top)
	return strings.Join(parts, ", ")
}

// patternCases are calls whose results must be gopher-lua's own (where
// gopher-lua was right: its departures from Lua 5.1 are in the next test).
var patternCases = []string{
	`return ("hello world"):find("o w")`,
	`return ("hello world"):find("o", 6)`,
	`return ("hello world"):find("o", -3)`,
	`return ("hello world"):find("l+")`,
	`return ("hello world"):find("(l+)(o)")`,
	`return ("hello world"):find("()ll()")`,
	`return ("hello"):find("")`,
	`return ("hello"):find("^h")`,
	`return ("hello"):find("^e")`,
	`return ("hello"):find("o$")`,
	`return ("a.b"):find(".", 1, true)`,
	`return ("a.b"):find("%.")`,
	`return ("a+b"):find("+", 1, true)`,
	`return ("key = value"):match("^(%w+)%s*=%s*(%w+)$")`,
	`return ("  trim  "):match("^%s*(.-)%s*$")`,
	`return ("2024-01-02"):match("(%d+)-(%d+)-(%d+)")`,
	`return ("abc"):match(".", 2)`,
	`return ("abc"):match(".", -1)`,
	`return ("abc"):match("()", 4)`,
	`return ("f(a(b)c)d"):match("%b()")`,
	`return ("[x]"):match("%[(.-)%]")`,
	`return ("a1b2c3"):match("[%a%d]+")`,
	`return ("a-z"):match("[a%-z]+")`,
	`return ("]]"):match("[]]+")`,
	`return ("^x"):match("[%^x]+")`,
	`return ("abcabc"):match("(a)(b)c%1%2")`,
	`local t = {} for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do t[#t+1] = k .. v end return table.concat(t, ";")`,
	`local t = {} for w in ("one two  three"):gmatch("%a+") do t[#t+1] = w end return table.concat(t, ",")`,
	`local t = {} for p in ("abc"):gmatch("()") do t[#t+1] = p end return table.concat(t, ",")`,
	`local t = {} for w in ("abc"):gmatch("x*") do t[#t+1] = "<" .. w .. ">" end return table.concat(t)`,
	`return ("hello world"):gsub("o", "0")`,
	`return ("hello world"):gsub("(%w+)", "<%1>")`,
	`return ("hello world"):gsub("%w+", "%0 %0", 1)`,
	`return ("hello"):gsub("", "-")`,
	`return ("abc"):gsub("x*", "-")`,
	`return ("hello world"):gsub("(%w+) (%w+)", "%2 %1")`,
	`return ("100%"):gsub("%%", "%%%%")`,
	`return ("abc"):gsub("b", "%")`,
	`return ("abc"):gsub("b", "%x")`,
	`return ("abc"):gsub("b", "%2")`,
	`return ("abc"):gsub("b", "%1")`,
	`return ("abc"):gsub("()b()", "%1-%2")`,
	`return ("$name is $age"):gsub("%$(%w+)", { name = "bob", age = 42 })`,
	`return ("$name is $x"):gsub("%$(%w+)", { name = "bob" })`,
	`return ("abc"):gsub("%w", function (c) return c:upper() .. "." end)`,
	`return ("abc"):gsub("%w", function (c) if c == "b" then return false end return "!" end)`,
	`return ("a b c"):gsub("%s", "", 5)`,
	`return ("a,b,,c"):gsub(",", ";", 2)`,
	`return ("^abc^"):gsub("^%^", "")`,
	`return ("abc"):gsub("$", "!")`,
	`return ("x=1"):gsub("(%w)=(%w)", "%2=%1%0")`,
	`return string.find(123456, 34)`,
	`return string.gsub(1.5, "%.", ",")`,
}

func TestPatternsGiveGopherLuaResults(t *testing.T) {
	plain := glua.NewState()
	defer plain.Close()
	ours := glua.NewState()
	defer ours.Close()
	OpenPatterns(ours)
	for _, src := range patternCases {
		want, got := results(plain, src), results(ours, src)
		if got != want {
			t.Errorf("%s\n got  %s\n want %s (gopher-lua)", src, got, want)
		}
	}
}

// Where gopher-lua's wrappers differ from Lua 5.1, modhost's follow Lua
// (each want is what lua5.1 prints).
func TestPatternsFollowLuaWhereGopherLuaDiffers(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	OpenPatterns(L)
	for _, tt := range []struct{ src, want string }{
		{`return select("#", ("abc"):match("x"))`, `number:"1"`},
		{`return ("abc"):match("x")`, `nil:"nil"`},
		{`local it = ("a b c"):gmatch("%a") return it(), it(), it(), (it())`, `string:"a", string:"b", string:"c", nil:"nil"`},
		{`return ("aaa"):gsub("a", "b", 0)`, `string:"aaa", number:"0"`},
		{`return ("aaa"):gsub("a", "b", -1)`, `string:"aaa", number:"0"`},
		{`return ("a1"):gsub("%d", 7)`, `string:"a7", number:"1"`},
		{`return pcall(string.gsub, "abc", "b", function () return {} end)`, `boolean:"false", string:"<string>:1: invalid replacement value (a table)"`},
		{`return ("abc"):find("b", 10, true)`, `nil:"nil"`},
		// gopher-lua's frontier found 13 15 here, and its pattern errors
		// were its own ("unfinished capture at EOS", "unexpected EOS at 1").
		{`return ("THE (quick) fox"):find("%f[%a]%a+")`, `number:"1", number:"3"`},
		{`return ("x"):match("(")`, `error: <string>:1: unfinished capture`},
		{`return ("x"):match("[a")`, `error: <string>:1: malformed pattern (missing ']')`},
		{`return ("x"):match("(()")`, `error: <string>:1: unfinished capture`},
		// Lua 5.1 reads an init past the end as the end.
		{`return ("hello"):find("", 10)`, `number:"6", number:"5"`},
		{`return ("x"):match("()", 5)`, `number:"2"`},
		// In Lua 5.1's gmatch a leading ^ is an ordinary character.
		{`local t = {} for w in ("^a^a"):gmatch("^a") do t[#t+1] = w end return table.concat(t, ",")`, `string:"^a,^a"`},
	} {
		if got := results(L, tt.src); got != tt.want {
			t.Errorf("%s\n got  %s\n want %s", tt.src, got, tt.want)
		}
	}
}

// gopher-lua's gsub copied the whole string once per replacement, so a
// gsub with many matches was quadratic: 200,000 replacements in a 200 KB
// string took two minutes. Now it is linear.
func TestGsubIsLinear(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	OpenPatterns(L)
	start := time.Now()
	got := runBounded(t, L, `local s, n = ("x"):rep(200000):gsub("x", "yz") return #s, n`, 5*time.Second)
	if want := `number:"400000", number:"200000"`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("200,000 replacements took %v", d)
	}
}

// runBounded runs src on L in a goroutine and fails the test if it has not
// finished within limit (the goroutine is then left spinning, but the test
// ends).
func runBounded(t *testing.T, L *glua.LState, src string, limit time.Duration) string {
	t.Helper()
	done := make(chan string, 1)
	go func() { done <- results(L, src) }()
	select {
	case got := <-done:
		return got
	case <-time.After(limit):
		t.Fatalf("%s still running after %v", src, limit)
		return ""
	}
}

// A pattern that backtracks for ever is stopped by the state's context,
// as a Lua loop is, with the error at the caller's line.
func TestCatastrophicPatternsStopWithTheContext(t *testing.T) {
	for _, src := range []string{
		`local s = ("a"):rep(3000)
return s:find(".-.-.-.-.-x")`,
		`local s = ("a"):rep(3000)
return s:match("^(.-)(.-)(.-)(.-)x")`,
		`local s = ("a"):rep(3000)
for _ in s:gmatch(".-.-.-.-x") do end`,
		`local s = ("a"):rep(3000)
return s:gsub(".-.-.-.-x", "")`,
	} {
		L := glua.NewState()
		OpenPatterns(L)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		L.SetContext(ctx)
		start := time.Now()
		got := runBounded(t, L, src, 5*time.Second)
		if !strings.Contains(got, "<string>:2: context") {
			t.Errorf("%s\n got %s, want an error at line 2 naming the context", src, got)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stopped after %v", d)
		}
		cancel()
		L.Close()
	}
}
