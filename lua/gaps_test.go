package lua

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

func newGapsState(t *testing.T) *glua.LState {
	t.Helper()
	L := glua.NewState()
	t.Cleanup(L.Close)
	OpenVersionGaps(L)
	return L
}

// Each chunk asserts its own expectations; values were checked against
// lua5.4 (and lua-bit32 under lua5.1 for bit32).
func TestVersionGapsBehaveAsLua52Plus(t *testing.T) {
	tests := []struct{ name, src string }{
		{"table.pack counts nils", `local t = table.pack(1, nil, 3); assert(t.n == 3 and t[3] == 3)`},
		{"table.unpack is unpack", `local a, b = table.unpack({1, 2}); assert(a == 1 and b == 2)`},
		{"table.move left overlap", `assert(table.concat(table.move({1,2,3,4,5}, 2, 4, 1), ",") == "2,3,4,4,5")`},
		{"table.move right overlap", `assert(table.concat(table.move({1,2,3,4,5}, 1, 3, 3), ",") == "1,2,1,2,3")`},
		{"table.move to another table", `local d = table.move({1,2,3}, 1, 3, 2, {9}); assert(table.concat(d, ",") == "9,1,2,3")`},
		{"math.type", `assert(math.type(1) == "integer" and math.type(1.5) == "float" and math.type("1") == nil)`},
		{"math.tointeger", `assert(math.tointeger(3) == 3 and math.tointeger(3.5) == nil and math.tointeger("x") == nil)`},
		{"math.huge is infinite", `assert(math.huge == 1/0 and -math.huge == -1/0)`},
		{"rawlen", `assert(rawlen({1,2,3}) == 3 and rawlen("abcd") == 4 and not pcall(rawlen, 5))`},
		{"load string with env", `local f = load("return x + 1", "chunk", "t", {x = 41}); assert(f() == 42)`},
		{"load reports syntax errors", `local f, err = load("syntax error here"); assert(f == nil and err:find("syntax error here", 1, true))`},
		{"load refuses text in binary mode", `local f, err = load("return 1", "=n", "b"); assert(f == nil and err:find("mode"))`},
		{"load reader function", `local i = 0; local f = load(function() i = i + 1; return ({"return ", "2"})[i] end); assert(f() == 2)`},
		{"load function chunk with env", `local f = load(function() return nil end, "x", "t", {}); assert(type(f) == "function")`},
		{"utf8.char", `assert(utf8.char(72, 233, 0x1F600) == "H\195\169\240\159\152\128")`},
		{"utf8.char beyond unicode", `assert(utf8.char(0x7FFFFFFF) == "\253\191\191\191\191\191" and utf8.char(0xD800) == "\237\160\128")`},
		{"utf8.charpattern", `assert(("\195\169x"):match(utf8.charpattern) == "\195\169")`},
		{"utf8.len", `local s = "a\195\169b\240\159\152\128"; assert(utf8.len(s) == 4 and utf8.len(s, 2) == 3 and utf8.len("") == 0)`},
		{"utf8.len invalid", `local n, pos = utf8.len("a\195\169\255"); assert(n == nil and pos == 4); n, pos = utf8.len("a\195\169", 3); assert(n == nil and pos == 3)`},
		{"utf8.len bounds", `assert(not pcall(utf8.len, "abc", 5) and utf8.len("abc", 4) == 0)`},
		{"utf8.codepoint", `local a, b, c = utf8.codepoint("a\195\169b", 1, -1); assert(a == 97 and b == 233 and c == 98)`},
		{"utf8.codepoint invalid", `assert(not pcall(utf8.codepoint, "\255"))`},
		{"utf8.offset", `local s = "a\195\169b\240\159\152\128"; assert(utf8.offset(s, 3) == 4 and utf8.offset(s, -1) == 5 and utf8.offset(s, 0, 3) == 2 and utf8.offset(s, 10) == nil)`},
		{"utf8.offset continuation", `assert(not pcall(utf8.offset, "a\195\169", 1, 3))`},
		{"utf8.codes", `local out = {}; for p, c in utf8.codes("a\195\169b") do out[#out+1] = p .. ":" .. c end; assert(table.concat(out, " ") == "1:97 2:233 4:98")`},
		{"utf8.codes invalid", `assert(not pcall(function() for _ in utf8.codes("a\255") do end end))`},
		{"bit32 identities", `assert(bit32.band() == 4294967295 and bit32.bor() == 0 and bit32.bnot(0) == 4294967295)`},
		{"bit32 negative operands wrap", `assert(bit32.band(-1, 0xFF) == 255 and bit32.bnot(1.5) == 4294967293 and bit32.band(-1.5) == 4294967294)`},
		{"bit32 shifts", `assert(bit32.lshift(1, 31) == 2147483648 and bit32.lshift(1, 32) == 0 and bit32.rshift(-1, 28) == 15 and bit32.rshift(0x80000000, -1) == 0)`},
		{"bit32 arshift", `assert(bit32.arshift(-1, 28) == 4294967295 and bit32.arshift(0x80000000, 1) == 3221225472 and bit32.arshift(1, -2) == 4 and bit32.arshift(0x80000000, 40) == 4294967295)`},
		{"bit32 rotates", `assert(bit32.lrotate(1, -1) == 2147483648 and bit32.rrotate(1, 33) == 2147483648 and bit32.lrotate(0x80000001, 1) == 3)`},
		{"bit32 fields", `assert(bit32.extract(0xF0, 4, 4) == 15 and bit32.replace(0, 0xF, 4, 4) == 240 and bit32.replace(0xFFFFFFFF, 0, 31) == 2147483647)`},
		{"bit32 field errors", `assert(not pcall(bit32.extract, 1, 30, 3) and not pcall(bit32.extract, 1, -1))`},
		{"bit32 btest and bxor", `assert(bit32.btest(3, 2) and not bit32.btest(1, 2) and bit32.bxor(1, 3, 7) == 5)`},
		{"format %q quotes as Lua", `assert(string.format("%q", 'a\n"b"\0\1\r\\z\0009') == '"a\\\n\\"b\\"\\0\\1\\13\\\\z\\0009"')`},
		{"format %q keeps other conversions' arguments", `assert(string.format("%5s|%q|%d%%", "x", "%s", 7) == "    x|\"%s\"|7%")`},
		{"format %q of numbers", `assert(string.format("%q", 42) == "42")`},
		{"format without %q", `assert(string.format("%d-%s", 1, "a") == "1-a")`},
		{"format %g has six digits", `assert(string.format("%g|%G|%.3g|%g", 2^66, 2^66, 1/3, 0.5) == "7.3787e+19|7.3787E+19|0.333|0.5")`},
		{"format infinities and NaN as C", `assert(string.format("%e|%E|%f|%g|%010f|%-5g|%+g|%g", 1/0, -1/0, 1/0, -1/0, 1/0, 1/0, 1/0, -(0/0)) == "inf|-INF|inf|-inf|       inf|inf  |+inf|nan")`},
		{"format of finite floats unchanged", `assert(string.format("%.2f|%e|%5.1f", 3.14159, 12345.678, 2.25) == "3.14|1.234568e+04|  2.2")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newGapsState(t)
			if err := L.DoString(tt.src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSyntaxHintNamesLua53And54Constructs(t *testing.T) {
	tests := []struct {
		src, construct, instead string
		line                    int
	}{
		{"local a = 7 // 2", "operator // (floor division)", "math.floor(a / b)", 1},
		{"local a = {\n  b = 7 //2,\n}", "operator // (floor division)", "math.floor(a / b)", 2},
		{"local a = 1 & 2", "operator & (bitwise and)", "bit32.band(a, b)", 1},
		{"local a = 1 | 2", "operator | (bitwise or)", "bit32.bor(a, b)", 1},
		{"local a = ~1", "unary operator ~ (bitwise not)", "bit32.bnot(a)", 1},
		{"return ~1", "unary operator ~ (bitwise not)", "bit32.bnot(a)", 1},
		{"local a = 1 ~ 2", "operator ~ (bitwise exclusive or)", "bit32.bxor(a, b)", 1},
		{"local a = f() ~ 2", "operator ~ (bitwise exclusive or)", "bit32.bxor(a, b)", 1},
		{"local a = 1 << 2", "operator << (shift left)", "bit32.lshift(a, n)", 1},
		{"local a = 1\r\nlocal b = a >> 3", "operator >> (shift right)", "bit32.rshift(a, n)", 2},
		{"\tlocal x <const> = 5", "attribute <const>", "a plain local", 1},
		{"local f < close > = io.open('x')", "attribute <close>", "a plain local and close", 1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			L := newGapsState(t)
			_, err := Load(L, tt.src, "@mod_x.lua")
			if err == nil {
				t.Fatal("expected a syntax error")
			}
			var hint *NewerSyntaxError
			if !errors.As(SyntaxHint(err), &hint) {
				t.Fatalf("SyntaxHint(%v) is not a *NewerSyntaxError", err)
			}
			if !strings.Contains(hint.Construct, tt.construct) || !strings.HasPrefix(hint.Instead, tt.instead) || hint.File != "mod_x.lua" || hint.Line != tt.line {
				t.Errorf("hint = %+v, want %q, %q at mod_x.lua:%d", hint, tt.construct, tt.instead, tt.line)
			}
			want := fmt.Sprintf("mod_x.lua:%d: Lua 5.", tt.line)
			if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "is not supported by modhost's Lua 5.1 VM; instead write "+tt.instead) {
				t.Errorf("message %q does not read %q… construct … instead write %s…", msg, want, tt.instead)
			}
		})
	}
}

func TestSyntaxHintLeavesOtherErrorsAlone(t *testing.T) {
	L := newGapsState(t)
	for _, src := range []string{
		"if a then",
		"x = 1 < < 2",         // not 5.3 syntax either
		"// a comment from C", // a line starting with // is no division
		"x = a > = b",
	} {
		_, err := Load(L, src, "@x.lua")
		if err == nil {
			t.Fatalf("%s: expected a syntax error", src)
		}
		if got := SyntaxHint(err); got != err {
			t.Errorf("%s: SyntaxHint changed %v into %v", src, err, got)
		}
	}
	if got := SyntaxHint(nil); got != nil {
		t.Errorf("SyntaxHint(nil) = %v", got)
	}
}
