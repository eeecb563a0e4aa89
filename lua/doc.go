// Package lua is modhost's bridge between Go and the embedded Lua VM
// (github.com/yuin/gopher-lua, Lua 5.1).
//
// Its centre is the Loop: one goroutine owns the single Lua state, as Prosody's
// single event loop does, and every other goroutine hands it work with Post or
// Do. Libraries (Prosody's util.*, net.*, core.*) are registered as Library
// values and loaded lazily by require through package.preload. ToGo and FromGo
// convert values between the two worlds. Every job has a budget: a job
// still running at its end is interrupted with a Lua error, logged with the
// plugin and line, and the loop goes on (watchdog.go; string patterns are
// interruptible too, patterns.go).
//
// All Lua source is compiled by Load, which rewrites the constructs
// gopher-lua v1.1.2 miscompiles; OpenVersionGaps and OpenLoaders replace the
// base functions that differ from Lua (pcall, xpcall, pairs, error, load...).
// README.md, "Lua compatibility", lists what is fixed and what is not.
//
// gopher-lua is imported as glua throughout modhost so that this package can
// keep the name lua.
package lua
