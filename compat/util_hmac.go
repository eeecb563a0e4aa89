package compat

import (
	glua "github.com/yuin/gopher-lua"
)

// openUtilHMAC is util.hmac, Prosody's pre-0.9 name for util.hashes' HMACs:
// md5, sha1, sha256 and sha512 (key, message [, hex]) over crypto/hmac.
func openUtilHMAC(L *glua.LState) int {
	mod := L.NewTable()
	for _, name := range []string{"md5", "sha1", "sha256", "sha512"} {
		mod.RawSetString(name, L.NewFunction(hmacFunc(hashConstructors[name])))
	}
	L.Push(mod)
	return 1
}
