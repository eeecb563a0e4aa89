package compat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// runChunks runs each chunk (which asserts its own expectations) in a
// fresh loop.
func runChunks(t *testing.T, chunks map[string]string) {
	t.Helper()
	for name, src := range chunks {
		t.Run(name, func(t *testing.T) {
			l := newLoop(t)
			err := l.Do(context.Background(), func(L *glua.LState) error {
				_, err := lua.DoChunk(L, src, name, 0)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUtilJSONEdgesBeyondProsody(t *testing.T) {
	runChunks(t, map[string]string{
		"a cycle raises instead of overflowing the stack": `
			local json = require "util.json"
			local t = {}; t.t = t
			local ok, err = pcall(json.encode, t)
			assert(not ok and err:find("contains itself"), err)`,
		"deep but acyclic nesting encodes": `
			local json = require "util.json"
			local t = {}
			local cur = t
			for i = 1, 200 do cur.x = {}; cur = cur.x end
			assert(#json.encode(t) > 1000)`,
		"hostile nesting depth raises": `
			local json = require "util.json"
			local ok = pcall(json.decode, string.rep("[", 20000))
			assert(not ok)`,
		"an array-marked table without t[1] encodes as []": `
			local json = require "util.json"
			local array = require "util.array"
			local a = array(); a.x = 1
			assert(json.encode(a) == "[]")`,
		"non-finite numbers are written as Lua prints them": `
			local json = require "util.json"
			assert(json.encode(1/0) == "inf" and json.encode(-1/0) == "-inf")`,
		"whole numbers are written without exponent": `
			local json = require "util.json"
			assert(json.encode(2^53) == "9007199254740992", json.encode(2^53))`,
		"a non-list __array marker is dropped": `
			local json = require "util.json"
			local t = json.decode('{"__array":5,"a":1}')
			assert(t.a == 1 and t.__array == nil and t[1] == nil)`,
	})
}

func TestCJSONOptions(t *testing.T) {
	runChunks(t, map[string]string{
		"encode_sparse_array(true) converts sparse arrays to objects": `
			local cjson = require("cjson").new()
			cjson.encode_sparse_array(true)
			assert(cjson.encode({[1] = 1, [20] = 2}):find('"20":2', 1, true))`,
		"encode_invalid_numbers('null') writes null": `
			local cjson = require("cjson").new()
			cjson.encode_invalid_numbers("null")
			assert(cjson.encode(0/0) == "null")`,
		"encode_max_depth bounds nesting": `
			local cjson = require("cjson").new()
			cjson.encode_max_depth(2)
			assert(cjson.encode({{}}) == "[{}]")
			assert(not pcall(cjson.encode, {{{}}}))`,
		"new instances share null": `
			local cjson = require "cjson"
			assert(cjson.new().null == cjson.null)`,
	})
}

// roster is the shape of a roster as plugins keep it: JID → item.
func rosterLua(n int) string {
	var b strings.Builder
	b.WriteString("local roster = {}\n")
	fmt.Fprintf(&b, "for i = 1, %d do roster[\"user\" .. i .. \"@example.com\"] = { name = \"User \" .. i, groups = { \"Friends\" }, subscription = \"both\" } end\n", n)
	b.WriteString("return roster")
	return b.String()
}

func BenchmarkJSONRosterEncode(b *testing.B) {
	l := newLoop(b)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, rosterLua(100), "roster", 1)
		if err != nil {
			return err
		}
		roster := rets[0]
		encode := L.GetField(mustRequire(L, "util.json"), "encode")
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := lua.Call(L, encode, 1, roster); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkJSONRosterDecode(b *testing.B) {
	l := newLoop(b)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, rosterLua(100)+"\n", "roster", 1)
		if err != nil {
			return err
		}
		json := mustRequire(L, "util.json")
		text, err := lua.Call(L, L.GetField(json, "encode"), 1, rets[0])
		if err != nil {
			return err
		}
		decode := L.GetField(json, "decode")
		b.SetBytes(int64(len(text[0].String())))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := lua.Call(L, decode, 1, text[0]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func mustRequire(L *glua.LState, name string) glua.LValue {
	rets, err := lua.Call(L, L.GetGlobal("require"), 1, glua.LString(name))
	if err != nil {
		panic(err)
	}
	return rets[0]
}

// FuzzUtilJSONDecode feeds outside input to util.json.decode and re-encodes
// what it accepts: neither may raise (beyond the nesting limit) or panic.
func FuzzUtilJSONDecode(f *testing.F) {
	for _, seed := range []string{`{"a":[1,null,"\u00e9"]}`, `[1,]`, `{"__array":[1],"__hash":[2,3]}`, `"\ud83d\ude00"`, `1e400`, ``, `"\x"`} {
		f.Add(seed)
	}
	l := newLoop(f)
	f.Fuzz(func(t *testing.T, text string) {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			_, err := lua.DoChunk(L, `
				local json = require "util.json"
				local v = json.decode(...)
				if v ~= nil then json.encode(v) end`, "fuzz", 0, glua.LString(text))
			return err
		})
		if err != nil && !strings.Contains(err.Error(), "nesting too deep") {
			t.Fatalf("decode %q: %v", text, err)
		}
	})
}
