package config

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
)

// maxRepeat bounds string.rep: a config never needs megabytes of text, and
// an unbounded rep lets one line exhaust memory before any time limit bites.
const maxRepeat = 1 << 20

// ProcessType is prosody.process_type while modhost reads a config. Prosody
// sets "prosody" (the server) or "prosodyctl"; blocks a config guards with
// process_type == "prosody" (waiting for certificates, say) are the server's
// business and modhost skips them.
const ProcessType = "modhost"

// openGlobals makes L's global table what a config sees behind its options,
// as Prosody 0.12 lets a config fall back to its whole _G: Lua's standard
// library (with load, dofile and require compiling through lua.Load),
// require of the Prosody libraries modhost has that work without its
// running loop (util.pposix's read-only part among them), the globals
// Prosody has set by the time it reads its config (prosody, hosts, log,
// CFG_CONFIGDIR …) and _G itself. The config is the operator's own code, as
// in Prosody; what differs keeps loading bounded and the process alive:
// string.rep is bounded, files opened for reading must be regular files
// (/dev/zero would never end), os.exit is an error instead of an exit, and
// print and io.write go to ld.opts.Print (standard error), never to
// standard output, where modhost writes its reports.
func (ld *loader) openGlobals() *glua.LTable {
	L := ld.L
	for _, lib := range []struct {
		name string
		open glua.LGFunction
	}{
		{glua.BaseLibName, glua.OpenBase},
		{glua.LoadLibName, glua.OpenPackage},
		{glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString},
		{glua.MathLibName, glua.OpenMath},
		{glua.OsLibName, glua.OpenOs},
		{glua.IoLibName, glua.OpenIo},
		{glua.CoroutineLibName, glua.OpenCoroutine},
		{glua.DebugLibName, glua.OpenDebug},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	lua.OpenVersionGaps(L)
	lua.OpenLoaders(L)
	lua.Preload(L, compat.StandaloneLibraries())
	g := L.G.Global

	str := g.RawGetString("string").(*glua.LTable)
	rep := str.RawGetString("rep")
	// Replaced in the shared string table so that ("x"):rep(n) is bounded too.
	str.RawSetString("rep", L.NewFunction(func(L *glua.LState) int {
		s, n := L.CheckString(1), L.CheckInt(2)
		if n > 0 && len(s) > 0 && n > maxRepeat/len(s) {
			L.RaiseError("string.rep: result longer than %d bytes", maxRepeat)
		}
		L.Push(rep)
		L.Push(glua.LString(s))
		L.Push(glua.LNumber(n))
		L.Call(2, 1)
		return 1
	}))

	g.RawSetString("print", L.NewFunction(func(L *glua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		ld.write(strings.Join(parts, "\t") + "\n")
		return 0
	}))
	ld.openIO(g.RawGetString("io").(*glua.LTable))
	osLib := g.RawGetString("os").(*glua.LTable)
	osLib.RawSetString("exit", L.NewFunction(func(L *glua.LState) int {
		code := "true"
		if L.GetTop() > 0 {
			code = L.ToStringMeta(L.Get(1)).String()
		}
		ld.raise("the config called os.exit(%s); modhost does not exit from inside a config, so it stops loading here", code)
		return 0
	}))
	if ld.opts.sealed {
		ld.seal(g)
	}

	// What Prosody's startup has put in _G by the time it reads the config.
	prosody := L.NewTable()
	prosody.RawSetString("process_type", glua.LString(ProcessType))
	prosody.RawSetString("config_loaded", glua.LFalse)
	prosody.RawSetString("config_file", glua.LString(ld.main))
	platform := "posix"
	if runtime.GOOS == "windows" {
		platform = "windows"
	}
	prosody.RawSetString("platform", glua.LString(platform))
	configDir := strings.TrimSuffix(dirOf(ld.main), "/")
	if configDir == "" {
		configDir = "."
	}
	paths := L.NewTable()
	paths.RawSetString("config", glua.LString(configDir))
	paths.RawSetString("data", glua.LString("data"))
	prosody.RawSetString("paths", paths)
	for _, name := range []string{"hosts", "bare_sessions", "full_sessions"} {
		t := L.NewTable()
		prosody.RawSetString(name, t)
		g.RawSetString(name, t)
	}
	logFn := L.NewFunction(ld.luaLog)
	prosody.RawSetString("log", logFn)
	g.RawSetString("log", logFn)
	g.RawSetString("prosody", prosody)
	g.RawSetString("CFG_CONFIGDIR", glua.LString(configDir))
	return g
}

// openIO points io's output at ld.opts.Print (io.stdout and io.output() at
// stderr) and keeps reads bounded.
func (ld *loader) openIO(ioLib *glua.LTable) {
	L := ld.L
	open, lines, stderr := ioLib.RawGetString("open"), ioLib.RawGetString("lines"), ioLib.RawGetString("stderr")
	ioLib.RawSetString("write", L.NewFunction(func(L *glua.LState) int {
		var b strings.Builder
		for i := 1; i <= L.GetTop(); i++ {
			switch v := L.Get(i).(type) {
			case glua.LString, glua.LNumber:
				b.WriteString(v.String())
			default:
				L.ArgError(i, "string expected, got "+v.Type().String())
			}
		}
		ld.write(b.String())
		L.Push(stderr)
		return 1
	}))
	ioLib.RawSetString("stdout", stderr)
	// io.output() is the default file io.write would use: stderr too.
	L.Push(ioLib.RawGetString("output"))
	L.Push(stderr)
	L.Call(1, 0)
	ioLib.RawSetString("open", L.NewFunction(func(L *glua.LState) int {
		name, mode := L.CheckString(1), L.OptString(2, "r")
		if strings.HasPrefix(mode, "r") {
			if err := regularFile(name); err != nil {
				L.Push(glua.LNil)
				L.Push(glua.LString(err.Error()))
				return 2
			}
		} else if ld.opts.sealed {
			L.ArgError(2, "this config may only open files for reading")
		}
		top := L.GetTop()
		L.Push(open)
		L.Push(glua.LString(name))
		L.Push(glua.LString(mode))
		L.Call(2, glua.MultRet)
		return L.GetTop() - top
	}))
	ioLib.RawSetString("lines", L.NewFunction(func(L *glua.LState) int {
		if L.GetTop() == 0 {
			L.Push(lines)
			L.Call(0, 1)
			return 1
		}
		name := L.CheckString(1)
		if err := regularFile(name); err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(lines)
		L.Push(glua.LString(name))
		L.Call(1, 1)
		return 1
	}))
}

// seal takes away, for Options.sealed, what reaches outside modhost:
// commands, changes to files, standard input.
func (ld *loader) seal(g *glua.LTable) {
	L := ld.L
	refuse := func(lib string, names ...string) {
		t := g.RawGetString(lib).(*glua.LTable)
		for _, name := range names {
			t.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
				L.RaiseError("%s.%s is not available to this config", lib, name)
				return 0
			}))
		}
	}
	refuse("os", "execute", "remove", "rename", "tmpname", "setlocale")
	refuse("io", "popen", "read", "input", "output", "tmpfile")
	lines := g.RawGetString("io").(*glua.LTable).RawGetString("lines")
	g.RawGetString("io").(*glua.LTable).RawSetString("lines", L.NewFunction(func(L *glua.LState) int {
		if L.GetTop() == 0 {
			L.RaiseError("io.lines() (standard input) is not available to this config")
		}
		top := L.GetTop()
		L.Push(lines)
		L.Push(L.Get(1))
		L.Call(1, glua.MultRet)
		return L.GetTop() - top
	}))
}

// write sends what the config prints to ld.opts.Print.
func (ld *loader) write(s string) {
	_, _ = io.WriteString(ld.opts.Print, s)
}

// luaLog is log(level, message, ...), Prosody's global logger ("general"):
// the line is kept in Config.Logs and logged once modhost's logger exists
// (Prosody has no sinks yet while it reads the config and drops it).
// Levels other than debug, info, warn and error are ignored, as Prosody
// ignores them.
func (ld *loader) luaLog(L *glua.LState) int {
	level := L.CheckString(1)
	if _, ok := levelIndex(level); !ok {
		return 0
	}
	msg := L.ToStringMeta(L.Get(2)).String()
	if L.GetTop() > 2 {
		args := []glua.LValue{glua.LString(msg)}
		for i := 3; i <= L.GetTop(); i++ {
			args = append(args, L.Get(i))
		}
		format := L.GetField(L.GetGlobal("string"), "format")
		if rets, err := lua.Call(L, format, 1, args...); err == nil && len(rets) == 1 {
			msg = rets[0].String()
		} else {
			for _, a := range args[1:] {
				msg += " [" + L.ToStringMeta(a).String() + "]"
			}
		}
	}
	ld.logs = append(ld.logs, LogLine{Level: level, Message: msg})
	return 0
}

// LogLine is a line a config logged with log(level, message, ...).
type LogLine struct {
	Level   string // debug, info, warn or error
	Message string // formatted as string.format does
}

// String is the line as Prosody's sinks show it after the source column.
func (l LogLine) String() string { return fmt.Sprintf("%s\t%s", l.Level, l.Message) }
