package compat

import (
	"crypto/rand"

	glua "github.com/yuin/gopher-lua"
)

// randomBytes returns n bytes from the system's secure generator. Since Go
// 1.24 crypto/rand.Read never returns an error (it aborts the program when
// the kernel cannot supply randomness), so there is nothing to report.
func randomBytes(n int) []byte {
	buf := make([]byte, n)
	rand.Read(buf)
	return buf
}

// openRandom is util.random: bytes(n) returns n secure random bytes as a
// string. Prosody 0.12 reads /dev/urandom; _source names where ours come from.
func openRandom(L *glua.LState) int {
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"bytes": func(L *glua.LState) int {
			n := L.CheckInt(1)
			if n < 0 {
				L.ArgError(1, "byte count must not be negative")
			}
			L.Push(glua.LString(randomBytes(n)))
			return 1
		},
	})
	mod.RawSetString("_source", glua.LString("crypto/rand"))
	L.Push(mod)
	return 1
}
