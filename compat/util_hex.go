package compat

import (
	"encoding/hex"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// hexDecode decodes hex the lenient way Prosody 0.12 does: the input is
// lower-cased, each pair of adjacent hex digits becomes a byte and swallows
// the non-hex characters around it (so "de:ad be-ef" decodes), and anything
// that does not belong to a pair (a lone digit, text without any pair
// following) is kept as it is, lower-cased.
func hexDecode(s string) string {
	s = strings.ToLower(s)
	var out strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && !isHexDigit(s[j]) {
			j++
		}
		if j+1 < len(s) && isHexDigit(s[j]) && isHexDigit(s[j+1]) {
			out.WriteByte(unhex(s[j])<<4 | unhex(s[j+1]))
			i = j + 2
			for i < len(s) && !isHexDigit(s[i]) {
				i++
			}
			continue
		}
		out.WriteByte(s[i])
		i++
	}
	return out.String()
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// openHex is util.hex: encode (alias to) turns bytes into lower-case hex,
// decode (alias from) turns hex back into bytes, see hexDecode.
func openHex(L *glua.LState) int {
	encode := L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(hex.EncodeToString([]byte(L.CheckString(1)))))
		return 1
	})
	decode := L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(hexDecode(L.CheckString(1))))
		return 1
	})
	mod := L.NewTable()
	mod.RawSetString("encode", encode)
	mod.RawSetString("to", encode)
	mod.RawSetString("decode", decode)
	mod.RawSetString("from", decode)
	L.Push(mod)
	return 1
}
