package compat

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"hash"

	glua "github.com/yuin/gopher-lua"
)

// util.hashes as Prosody 0.12 has it: digests and HMACs return raw bytes, or
// lower-case hex when the last argument is truthy; PBKDF2 returns raw bytes
// of the hash's size; equals compares in constant time.

var hashConstructors = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha224": sha256.New224,
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

func pushDigest(L *glua.LState, sum []byte, hexArg int) {
	if L.ToBool(hexArg) {
		L.Push(glua.LString(hex.EncodeToString(sum)))
	} else {
		L.Push(glua.LString(sum))
	}
}

func digestFunc(newHash func() hash.Hash) glua.LGFunction {
	return func(L *glua.LState) int {
		h := newHash()
		h.Write([]byte(L.CheckString(1)))
		pushDigest(L, h.Sum(nil), 2)
		return 1
	}
}

// hmacFunc is hmac_X(key, message [, hex]).
func hmacFunc(newHash func() hash.Hash) glua.LGFunction {
	return func(L *glua.LState) int {
		key, msg := L.CheckString(1), L.CheckString(2)
		m := hmac.New(newHash, []byte(key))
		m.Write([]byte(msg))
		pushDigest(L, m.Sum(nil), 3)
		return 1
	}
}

// pbkdf2Func is pbkdf2_hmac_X(password, salt, iterations). Like OpenSSL,
// it fails (raises) for fewer than one iteration.
func pbkdf2Func(newHash func() hash.Hash) glua.LGFunction {
	return func(L *glua.LState) int {
		password, salt := L.CheckString(1), L.CheckString(2)
		n := L.CheckNumber(3)
		if float64(n) != float64(int64(n)) {
			L.ArgError(3, "number has no integer representation")
		}
		if n < 1 {
			L.RaiseError("PKCS5_PBKDF2_HMAC() failed")
		}
		key, err := pbkdf2.Key(newHash, password, []byte(salt), int(n), newHash().Size())
		if err != nil {
			L.RaiseError("PKCS5_PBKDF2_HMAC() failed: %v", err)
		}
		L.Push(glua.LString(key))
		return 1
	}
}

func openUtilHashes(L *glua.LState) int {
	mod := L.NewTable()
	for name, h := range hashConstructors {
		mod.RawSetString(name, L.NewFunction(digestFunc(h)))
	}
	for _, name := range []string{"md5", "sha1", "sha256", "sha512"} {
		mod.RawSetString("hmac_"+name, L.NewFunction(hmacFunc(hashConstructors[name])))
	}
	pbkdf2SHA1 := L.NewFunction(pbkdf2Func(sha1.New))
	mod.RawSetString("pbkdf2_hmac_sha1", pbkdf2SHA1)
	mod.RawSetString("scram_Hi_sha1", pbkdf2SHA1) // the SCRAM name for the same function
	mod.RawSetString("pbkdf2_hmac_sha256", L.NewFunction(pbkdf2Func(sha256.New)))
	mod.RawSetString("equals", L.NewFunction(func(L *glua.LState) int {
		a, b := L.CheckString(1), L.CheckString(2)
		L.Push(glua.LBool(subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1))
		return 1
	}))
	mod.RawSetString("version", glua.LString("modhost"))
	L.Push(mod)
	return 1
}
