package compat

import (
	"os"

	glua "github.com/yuin/gopher-lua"
)

// util.pposix, the read-only part of Prosody's POSIX library: uname,
// getpid, getuid, getgid and getrlimit answer as Prosody 0.12's do. What
// would change the process (setuid, daemonize, umask, setrlimit, setenv,
// …), write files (mkdir, atomic_append) or reach syslog raises an error
// saying why modhost does not: it is started as the user, with the limits,
// it should have, and logs through its own sinks. meminfo (malloc's
// statistics) and isatty are absent, so code that tests for them before
// calling them takes its other branch.

// pposixRefused are Prosody's pposix functions modhost refuses, with the reason.
var pposixRefused = map[string]string{
	"abort":              pposixProcess,
	"daemonize":          pposixProcess,
	"setuid":             pposixProcess,
	"setgid":             pposixProcess,
	"initgroups":         pposixProcess,
	"umask":              pposixProcess,
	"setrlimit":          pposixProcess,
	"setenv":             pposixProcess,
	"syslog_open":        pposixSyslog,
	"syslog_log":         pposixSyslog,
	"syslog_close":       pposixSyslog,
	"syslog_setminlevel": pposixSyslog,
	"mkdir":              pposixWrites,
	"atomic_append":      pposixWrites,
}

const (
	pposixProcess = "modhost does not change its own process; start it as the user, with the groups, limits, umask and environment it should have (e.g. systemd's User=, LimitNOFILE=, Environment=)"
	pposixSyslog  = "modhost has no syslog sink; it logs to the console or to files (the log option)"
	pposixWrites  = "modhost's util.pposix does not write files; use lfs or io"
)

func openUtilPposix(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("_NAME", glua.LString("pposix"))
	mod.RawSetString("_VERSION", glua.LString("0.4.0"))
	mod.RawSetString("ENOENT", glua.LNumber(2))
	mod.RawSetString("uname", L.NewFunction(pposixUname))
	for name, id := range map[string]func() int{"getpid": os.Getpid, "getuid": os.Getuid, "getgid": os.Getgid} {
		mod.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			L.Push(glua.LNumber(id()))
			return 1
		}))
	}
	mod.RawSetString("getrlimit", L.NewFunction(pposixGetrlimit))
	for name, reason := range pposixRefused {
		mod.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			L.RaiseError("util.pposix.%s: %s", name, reason)
			return 0
		}))
	}
	L.Push(mod)
	return 1
}

// uname() → { sysname, nodename, release, version, machine, domainname }
// | nil, message
func pposixUname(L *glua.LState) int {
	fields, err := uname()
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	t := L.NewTable()
	for k, v := range fields {
		t.RawSetString(k, glua.LString(v))
	}
	L.Push(t)
	return 1
}

// getrlimit(resource) → true, soft, hard ("unlimited" for no limit)
// | false, "invalid-arguments" | false, "invalid-resource"
func pposixGetrlimit(L *glua.LState) int {
	if L.GetTop() == 0 {
		L.Push(glua.LFalse)
		L.Push(glua.LString("invalid-arguments"))
		return 2
	}
	name, _ := L.Get(1).(glua.LString)
	soft, hard, ok := getrlimit(string(name))
	if !ok {
		L.Push(glua.LFalse)
		L.Push(glua.LString("invalid-resource"))
		return 2
	}
	L.Push(glua.LTrue)
	L.Push(rlimitValue(soft))
	L.Push(rlimitValue(hard))
	return 3
}

// rlimitValue is a limit as Prosody gives it: a number, or "unlimited".
func rlimitValue(v uint64) glua.LValue {
	if v == rlimInfinity {
		return glua.LString("unlimited")
	}
	return glua.LNumber(v)
}
