package compat_test

import (
	"context"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// callLua runs src (a chunk returning one value) with args and returns the
// value as a string.
func callLua(t testing.TB, l *lua.Loop, src string, args ...glua.LValue) string {
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

// The expectations were taken from Prosody 0.12's util.hex under Lua 5.4.
func TestHexDecodeMatchesProsody(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"00", "\x00"},
		{"abc", "\xabc"},
		{"ABCD", "\xab\xcd"},
		{"0x01,0x02", "0\x010\x02"},
		{"zz", "zz"},
		{"ZZ", "zz"},
		{"a b", "a b"},
		{"de:ad be-ef", "\xde\xad\xbe\xef"},
		{"g1h2", "g1h2"},
		{"1", "1"},
		{"12 3", "\x123"},
		{"xyz12", "\x12"},
		{"  ff  ", "\xff"},
		{"f f", "f f"},
		{"1g23", "1#"},
		{"\n0a\n", "\n"},
	}
	l := newLoop(t)
	for _, tc := range tests {
		got := callLua(t, l, `return require"util.hex".decode(...)`, glua.LString(tc.in))
		if got != tc.want {
			t.Errorf("decode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHexEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\x00\xff\x10", "00ff10"},
		{"hello", "68656c6c6f"},
	}
	l := newLoop(t)
	for _, tc := range tests {
		for _, fn := range []string{"encode", "to"} {
			got := callLua(t, l, `return require"util.hex"[select(1, ...)](select(2, ...))`, glua.LString(fn), glua.LString(tc.in))
			if got != tc.want {
				t.Errorf("%s(%q) = %q, want %q", fn, tc.in, got, tc.want)
			}
		}
	}
}
