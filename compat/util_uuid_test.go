package compat_test

import (
	"regexp"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUIDGenerate(t *testing.T) {
	l := newLoop(t)
	seen := map[string]bool{}
	variants := map[byte]bool{}
	for i := 0; i < 200; i++ {
		u := testkit.CallLua(t, l, `return require"util.uuid".generate()`)
		if !uuidV4.MatchString(u) {
			t.Fatalf("generate() = %q, not a lower-case v4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("generate() repeated %q", u)
		}
		seen[u] = true
		variants[u[19]] = true
	}
	// All four variant digits turn up, so those two bits are random too.
	if len(variants) != 4 {
		t.Errorf("variant digits seen: %v, want 8, 9, a and b", variants)
	}
}

func TestUUIDNibblesAndSeed(t *testing.T) {
	l := newLoop(t)
	hexDigits := regexp.MustCompile(`^[0-9a-f]*$`)
	for _, n := range []int{0, 1, 7, 12} {
		got := testkit.CallLua(t, l, `return require"util.uuid".get_nibbles(...)`, glua.LNumber(n))
		if len(got) != n || !hexDigits.MatchString(got) {
			t.Errorf("get_nibbles(%d) = %q", n, got)
		}
	}
	testkit.RunLua(t, l, `local uuid = require "util.uuid"; uuid.seed("anything"); assert(#uuid.generate() == 36)`)
}
