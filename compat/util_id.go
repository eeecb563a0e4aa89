package compat

import (
	"encoding/base64"

	glua "github.com/yuin/gopher-lua"
)

// randomID is n random bytes in unpadded base64url, the form every util.id
// generator returns.
func randomID(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// idGenerator is a Lua function returning a fresh random id of n bytes.
func idGenerator(n int) glua.LGFunction {
	return func(L *glua.LState) int {
		L.Push(glua.LString(randomID(n)))
		return 1
	}
}

// openID is util.id: random identifiers in base64url. The sizes are Prosody
// 0.12's (multiples of 3 bytes, so no padding): tiny 3 bytes (4 characters),
// short 9 (12), medium 18 (24), long 27 (36); custom(n) returns a generator
// of n-byte ids.
func openID(L *glua.LState) int {
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"tiny":   idGenerator(3),
		"short":  idGenerator(9),
		"medium": idGenerator(18),
		"long":   idGenerator(27),
		"custom": func(L *glua.LState) int {
			n := L.CheckInt(1)
			if n < 0 {
				L.ArgError(1, "id size must not be negative")
			}
			L.Push(L.NewFunction(idGenerator(n)))
			return 1
		},
	})
	L.Push(mod)
	return 1
}
