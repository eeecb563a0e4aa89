package storagememory_test

import (
	"strconv"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// packPrelude gives each case pack, unpack, a round trip and a structural
// comparison (same shape, different tables).
const packPrelude = `
local pack = require "modhost.pack";
local function round(v) return pack.unpack(pack.pack(v)); end
local function same(a, b, seen)
	if type(a) ~= "table" or type(b) ~= "table" then
		return a == b or (a ~= a and b ~= b);
	end
	seen = seen or {};
	if seen[a] then return seen[a] == b; end
	seen[a] = b;
	if a == b or getmetatable(a) ~= getmetatable(b) then return false; end
	for k, v in pairs(a) do
		if type(k) ~= "table" and not same(v, b[k], seen) then return false; end
	end
	for k in pairs(b) do
		if type(k) ~= "table" and a[k] == nil then return false; end
	end
	return true;
end
`

func TestPackRoundTripKeepsWhatADeepCopyKeeps(t *testing.T) {
	cases := []struct{ name, src string }{
		{"nil stays nil, not a packed value", `assert(pack.pack(nil) == nil); assert(pack.unpack(nil) == nil)`},
		{"booleans", `assert(round(true) == true); assert(round(false) == false)`},
		{"integers small and large", `for _, n in ipairs({0, 1, -1, 127, 128, -300, 2^31, 2^53 - 1, -2^53 + 1, 2^53, 2^60, -2^62}) do assert(round(n) == n, n) end`},
		{"negative zero keeps its sign", `assert(1 / round(-0.0) == -math.huge)`},
		{"fractions, infinities and NaN", `for _, n in ipairs({1.5, -0.1, 1e300, math.huge, -math.huge}) do assert(round(n) == n, n) end; local nan = round(0/0); assert(nan ~= nan)`},
		{"strings with any bytes", `for _, s in ipairs({"", "a", "a\0b", string.rep("x", 300)}) do assert(round(s) == s) end`},
		{"nested tables, fresh each time", `
			local v = { 1, 2, "three", { x = { y = "z" } }, name = "n", [false] = { version = 3 }, [2.5] = true, [10] = "sparse" };
			local a, b = round(v), round(v);
			assert(same(v, a) and same(v, b)); assert(a ~= b and a[4] ~= b[4])`},
		{"a table reached twice is one table again", `
			local shared = { "s" }; local v = { a = shared, b = shared };
			local c = round(v); assert(c.a == c.b and c.a ~= shared and c.a[1] == "s")`},
		{"cycles survive", `
			local v = { name = "loop" }; v.self = v; v.list = { v };
			local c = round(v); assert(c.self == c and c.list[1] == c and c ~= v)`},
		{"table keys are copied", `
			local k = { "key" }; local v = { [k] = "value" };
			local c = round(v); local ck, cv = next(c);
			assert(type(ck) == "table" and ck ~= k and ck[1] == "key" and cv == "value")`},
		{"metatables kept by reference", `
			local array_mt = { __index = table }; local v = setmetatable({ 1, 2, inner = setmetatable({}, array_mt) }, array_mt);
			local c = round(v); assert(getmetatable(c) == array_mt and getmetatable(c.inner) == array_mt and c ~= v)`},
		{"util.json arrays stay arrays", `
			local json = require "util.json"; local v = json.decode('{"a":[],"b":[1,2]}');
			local c = round(v); assert(json.encode(c.a) == "[]" and json.encode(c.b) == "[1,2]", json.encode(c))`},
		{"functions kept by reference", `
			local f = function () end; local p = pack.pack({ f = f, g = f });
			assert(type(p) == "userdata"); local c = pack.unpack(p); assert(c.f == f and c.g == f)`},
		{"plain data packs to a string", `assert(type(pack.pack({ a = { 1, 2 } })) == "string")`},
		{"iteration order is kept", `
			local v = {}; for i = 1, 50 do v["k" .. (i * 7 % 50)] = i end; v[false] = 0;
			local order, c = {}, round(v);
			for k in pairs(v) do order[#order + 1] = tostring(k) end
			local i = 0; for k in pairs(c) do i = i + 1; assert(tostring(k) == order[i], k) end
			assert(i == #order)`},
		{"array length is kept", `local c = round({ "a", "b", "c" }); assert(#c == 3 and c[3] == "c")`},
		{"changing an unpacked table leaves the packed one alone", `
			local p = pack.pack({ groups = { Friends = true } }); local a = pack.unpack(p);
			a.groups.Friends = nil; a.extra = 1; local b = pack.unpack(p);
			assert(b.groups.Friends == true and b.extra == nil)`},
	}
	l := testkit.NewLoop(t, append(compat.Libraries(), storagememory.Library()))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testkit.CallLua(t, l, packPrelude+tc.src+"\nreturn true")
		})
	}
}

func TestPackUnpackRejectsWhatItDidNotPack(t *testing.T) {
	cases := []struct {
		name string
		arg  glua.LValue
	}{
		{"empty string", glua.LString("")},
		{"unknown tag", glua.LString("?")},
		{"truncated string", glua.LString("s\x05ab")},
		{"truncated table", glua.LString("{\x02\x00\x00-i\x02")},
		{"huge table count", glua.LString("{\xff\xff\xff\xff\x0f\x00\x00-")},
		{"string back-reference to nothing", glua.LString("r\x00")},
		{"trailing bytes", glua.LString("TT")},
		{"a number", glua.LNumber(1)},
	}
	l := testkit.NewLoop(t, append(compat.Libraries(), storagememory.Library()))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := testkit.CallLua(t, l, `local ok, err = pcall(require "modhost.pack".unpack, ...); return ok and "accepted" or tostring(err)`, tc.arg)
			if !strings.Contains(got, "modhost.pack") {
				t.Errorf("unpack(%v): %s, want a modhost.pack error", tc.arg, got)
			}
		})
	}
}

// A 100-contact roster as mod_http_roster_admin keeps it: packed it must
// cost its text and a few tags per contact (about 60 bytes), not the
// kilobyte or more its tables take.
func TestPackKeepsARosterCompact(t *testing.T) {
	l := testkit.NewLoop(t, append(compat.Libraries(), storagememory.Library()))
	got := testkit.CallLua(t, l, packPrelude+`
		local roster = { [false] = { version = 1, pending = {} } };
		for i = 1, 100 do
			roster[("contact%03d@example.com"):format(i)] = { name = "Contact " .. i, groups = { Bench = true }, subscription = "both" };
		end
		local p = pack.pack(roster); assert(same(roster, pack.unpack(p)));
		return #p`)
	size, err := strconv.Atoi(got)
	if err != nil {
		t.Fatal(err)
	}
	if size > 100*64 {
		t.Errorf("packed roster of 100 contacts is %d bytes, want at most 6400", size)
	}
	t.Logf("packed 100-contact roster: %d bytes", size)
}

// Unpacking any bytes either gives a value or raises a modhost.pack error;
// it never panics or allocates by a corrupt count. Seeds are real packs.
func FuzzPackUnpackArbitraryBytes(f *testing.F) {
	l := testkit.NewLoop(f, append(compat.Libraries(), storagememory.Library()))
	for _, src := range []string{
		`return { 1, "two", { x = true }, [false] = 3.5, n = -7 }`,
		`local t = { "s" }; t.self = t; return { a = t, b = t }`,
		`return "plain"`,
	} {
		f.Add(testkit.CallLua(f, l, `return require "modhost.pack".pack((loadstring(...))())`, glua.LString(src)))
	}
	f.Fuzz(func(t *testing.T, data string) {
		got := testkit.CallLua(t, l, `local ok, err = pcall(require "modhost.pack".unpack, ...); return ok and "ok" or tostring(err)`, glua.LString(data))
		if got != "ok" && !strings.Contains(got, "modhost.pack") {
			t.Errorf("unpack(%q): %s", data, got)
		}
	})
}
