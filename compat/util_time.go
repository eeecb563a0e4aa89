package compat

import (
	"time"

	glua "github.com/yuin/gopher-lua"
)

// unixSeconds is t as fractional seconds since the Unix epoch.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// openTime is util.time: now() is the wall clock in fractional seconds since
// the Unix epoch (gettimeofday in Prosody 0.12); monotonic() is fractional
// seconds on a clock that never goes back.
func openTime(L *glua.LState) int {
	// The monotonic clock counts from when the library was opened; only
	// differences between readings mean anything.
	epoch := time.Now()
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"now": func(L *glua.LState) int {
			L.Push(glua.LNumber(unixSeconds(time.Now())))
			return 1
		},
		"monotonic": func(L *glua.LState) int {
			L.Push(glua.LNumber(time.Since(epoch).Seconds()))
			return 1
		},
	})
	L.Push(mod)
	return 1
}
