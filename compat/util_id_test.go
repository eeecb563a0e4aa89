package compat_test

import (
	"encoding/base64"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
)

func TestIDLengthsAndAlphabet(t *testing.T) {
	tests := []struct {
		expr   string
		length int
		bytes  int
	}{
		{`id.tiny()`, 4, 3},
		{`id.short()`, 12, 9},
		{`id.medium()`, 24, 18},
		{`id.long()`, 36, 27},
		{`id.custom(1)()`, 2, 1},
		{`id.custom(5)()`, 7, 5},
		{`id.custom(0)()`, 0, 0},
	}
	l := newLoop(t)
	for _, tc := range tests {
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			got := testkit.CallLua(t, l, `local id = require "util.id"; return `+tc.expr)
			if len(got) != tc.length {
				t.Fatalf("%s = %q: length %d, want %d", tc.expr, got, len(got), tc.length)
			}
			raw, err := base64.RawURLEncoding.DecodeString(got)
			if err != nil || len(raw) != tc.bytes {
				t.Fatalf("%s = %q: not %d bytes of unpadded base64url (%v)", tc.expr, got, tc.bytes, err)
			}
			seen[got] = true
		}
		if tc.bytes >= 3 && len(seen) < 19 {
			t.Errorf("%s repeated itself: %d distinct in 20", tc.expr, len(seen))
		}
	}
}

func TestIDCustomRejectsNegativeSize(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `assert(not pcall(require"util.id".custom, -1))`)
}

func TestRandomBytes(t *testing.T) {
	l := newLoop(t)
	for _, n := range []int{0, 1, 32, 4096} {
		got := testkit.CallLua(t, l, `return require"util.random".bytes(...)`, glua.LNumber(n))
		if len(got) != n {
			t.Errorf("bytes(%d) gave %d bytes", n, len(got))
		}
	}
	testkit.RunLua(t, l, `assert(not pcall(require"util.random".bytes, -1))`)
}
