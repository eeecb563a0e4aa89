package compat

import (
	"context"
	"log/slog"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// logLevels maps Prosody's log levels onto slog's.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// luaLogger sends log lines from Lua code to slog, tagged with the source name.
type luaLogger struct {
	log *slog.Logger
	ctx context.Context
}

func newLuaLogger(L *glua.LState, name string) *luaLogger {
	if loop := lua.LoopOf(L); loop != nil {
		return &luaLogger{log: loop.Logger(name), ctx: loop.Context()}
	}
	return &luaLogger{log: slog.Default().With("source", name), ctx: context.Background()}
}

// emit logs the message at stack index first with the arguments after it.
func (lg *luaLogger) emit(L *glua.LState, level slog.Level, first int) {
	if !lg.log.Enabled(lg.ctx, level) {
		return
	}
	var args []glua.LValue
	for i := first + 1; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	lg.log.Log(lg.ctx, level, formatLogMessage(L, L.Get(first), args))
}

// formatLogMessage renders a log call the way Prosody's log sinks do, with
// string.format, but never fails: with no arguments the message is taken as
// it is (so a stray % is harmless); a missing or nil argument shows as (nil);
// an argument of the wrong type for its conversion is shown with tostring in
// brackets; arguments beyond the format's conversions are appended in
// brackets. If string.format still fails, the raw message is logged with the
// arguments appended.
func formatLogMessage(L *glua.LState, message glua.LValue, args []glua.LValue) string {
	raw := L.ToStringMeta(message).String()
	if len(args) == 0 {
		return raw
	}
	format, fargs := adaptFormat(L, raw, args)
	rets, err := lua.Call(L, L.GetField(L.GetGlobal("string"), "format"), 1, append([]glua.LValue{glua.LString(format)}, fargs...)...)
	if err == nil && len(rets) == 1 {
		if s, ok := rets[0].(glua.LString); ok {
			return string(s)
		}
	}
	var b strings.Builder
	b.WriteString(raw)
	for _, a := range args {
		b.WriteString(" [" + L.ToStringMeta(a).String() + "]")
	}
	return b.String()
}

// adaptFormat rewrites a Lua format string and its arguments so that
// string.format accepts them (see formatLogMessage).
func adaptFormat(L *glua.LState, format string, args []glua.LValue) (string, []glua.LValue) {
	var out strings.Builder
	var fargs []glua.LValue
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			out.WriteByte(c)
			continue
		}
		// A conversion is %, flags, width, precision, then one letter.
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			out.WriteString("%%" + format[i+1:])
			break
		}
		spec, conv := format[i:j+1], format[j]
		i = j
		if conv == '%' {
			out.WriteString("%%")
			continue
		}
		if strings.IndexByte("cdiouxXeEfgGqsaA", conv) < 0 {
			// Not a conversion string.format knows: keep it as text.
			out.WriteString("%" + spec)
			continue
		}
		var arg glua.LValue = glua.LNil
		if next < len(args) {
			arg = args[next]
		}
		next++
		num, isNum := arg.(glua.LNumber)
		switch {
		case arg == glua.LNil:
			out.WriteString("(%s)")
			fargs = append(fargs, glua.LString("nil"))
		case conv == 's' || conv == 'q':
			out.WriteString(spec)
			fargs = append(fargs, glua.LString(L.ToStringMeta(arg).String()))
		case !isNum, strings.IndexByte("cdioux", conv|0x20) >= 0 && !lua.IsInteger(num):
			out.WriteString("[%s]")
			fargs = append(fargs, glua.LString(L.ToStringMeta(arg).String()))
		default:
			out.WriteString(spec)
			fargs = append(fargs, arg)
		}
	}
	for ; next < len(args); next++ {
		out.WriteString(" [%s]")
		fargs = append(fargs, glua.LString(L.ToStringMeta(args[next]).String()))
	}
	return out.String(), fargs
}

// openLogger is util.logger: init(name) returns log(level, message, ...)
// for the levels debug, info, warn and error (other levels are ignored, as in
// Prosody); make_logger(name, level) (alias new) returns a function(message,
// ...) for one level. Prosody's sink management (add_level_sink,
// add_simple_sink, reset) belongs to its logging manager and is not provided:
// lines go to the loop's slog logger.
func openLogger(L *glua.LState) int {
	mod := L.NewTable()
	makeLogger := L.NewFunction(func(L *glua.LState) int {
		lg := newLuaLogger(L, L.ToStringMeta(L.Get(1)).String())
		levelName, _ := L.Get(2).(glua.LString)
		level, known := logLevels[string(levelName)]
		L.Push(L.NewFunction(func(L *glua.LState) int {
			if known {
				lg.emit(L, level, 1)
			}
			return 0
		}))
		return 1
	})
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"init": func(L *glua.LState) int {
			lg := newLuaLogger(L, L.ToStringMeta(L.Get(1)).String())
			L.Push(L.NewFunction(func(L *glua.LState) int {
				name, _ := L.Get(1).(glua.LString)
				if level, ok := logLevels[string(name)]; ok {
					lg.emit(L, level, 2)
				}
				return 0
			}))
			return 1
		},
	})
	mod.RawSetString("make_logger", makeLogger)
	mod.RawSetString("new", makeLogger)
	L.Push(mod)
	return 1
}
