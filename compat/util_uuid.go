package compat

import (
	"encoding/hex"

	glua "github.com/yuin/gopher-lua"
)

// newUUID returns a random (version 4, RFC 9562 §5.4) UUID in its
// lower-case text form.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10xx
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomNibbles returns n random lower-case hex digits.
func randomNibbles(n int) string {
	return hex.EncodeToString(randomBytes((n + 1) / 2))[:n]
}

// openUUID is util.uuid: generate() returns a random UUID; get_nibbles(n)
// returns n random hex digits. seed() is kept for plugins written for older
// Prosody; it does nothing (0.12 exports it as nil, so calling it there
// fails), since the generator needs no seeding.
func openUUID(L *glua.LState) int {
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"generate": func(L *glua.LState) int {
			L.Push(glua.LString(newUUID()))
			return 1
		},
		"get_nibbles": func(L *glua.LState) int {
			n := L.CheckInt(1)
			if n < 0 {
				n = 0
			}
			L.Push(glua.LString(randomNibbles(n)))
			return 1
		},
		"seed": func(L *glua.LState) int { return 0 },
	})
	L.Push(mod)
	return 1
}
