package lua

import (
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// BenchmarkStringMatching compares the matcher with gopher-lua's on the
// patterns Prosody code and the roster plugin use most.
func BenchmarkStringMatching(b *testing.B) {
	cases := []struct{ name, src string }{
		{"find-anchored-class", `return ("Contact 42 with a name"):find("^[ -~]*$")`},
		{"find-unanchored", `return ("romeo@example.net/balcony"):find("[%z\1-\8\11\12\14-\31]")`},
		{"match-captures", `return ("romeo@example.net/balcony"):match("^([^@/]+)@([^/]+)/?(.*)$")`},
		{"gsub-escape", `return ("user name?#%"):gsub("[^A-Za-z0-9%-%._~]", function (c) return string.format("%%%02X", c:byte()) end)`},
		{"gmatch-words", `local n = 0; for w in ("a b c d e f g h i j"):gmatch("%S+") do n = n + 1 end; return n`},
	}
	for _, fixed := range []bool{true, false} {
		for _, tc := range cases {
			name := tc.name + "/gopher-lua"
			if fixed {
				name = tc.name + "/modhost"
			}
			b.Run(name, func(b *testing.B) {
				L := glua.NewState()
				defer L.Close()
				if fixed {
					OpenPatterns(L)
				}
				fn, err := L.LoadString(tc.src)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					L.Push(fn)
					L.Call(0, glua.MultRet)
					L.SetTop(0)
				}
			})
		}
	}
}
