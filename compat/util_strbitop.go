package compat

import (
	glua "github.com/yuin/gopher-lua"
)

// strbitop is one of util.strbitop's functions: the bytes of the first
// string combined with op against the second's, which repeats as often as
// needed (an empty second string leaves the first as it is). The result is
// as long as the first string. Numbers are taken as their string form.
func strbitop(op func(a, b byte) byte) glua.LGFunction {
	return func(L *glua.LState) int {
		a, b := L.CheckString(1), L.CheckString(2)
		if b == "" {
			L.Push(glua.LString(a))
			return 1
		}
		out := make([]byte, len(a))
		for i := 0; i < len(a); i++ {
			out[i] = op(a[i], b[i%len(b)])
		}
		L.Push(glua.LString(out))
		return 1
	}
}

// openUtilStrbitop is util.strbitop (C in Prosody): sand, sor and sxor,
// bitwise and, or and exclusive or over strings, used for SCRAM and
// masking.
func openUtilStrbitop(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("sand", L.NewFunction(strbitop(func(a, b byte) byte { return a & b })))
	mod.RawSetString("sor", L.NewFunction(strbitop(func(a, b byte) byte { return a | b })))
	mod.RawSetString("sxor", L.NewFunction(strbitop(func(a, b byte) byte { return a ^ b })))
	L.Push(mod)
	return 1
}
