package host

import (
	"fmt"
	"log/slog"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/lua"
)

// nativeLibrary is "modhost.native": what modhost's core Lua (core.*)
// needs from Go. Plugins are not meant to use it; it is not part of the
// Prosody API.
func (rt *Runtime) nativeLibrary() lua.Library {
	return lua.Library{Name: "modhost.native", Open: func(L *glua.LState) int {
		t := L.SetFuncs(L.NewTable(), rt.rosters.natives())
		L.SetFuncs(t, map[string]glua.LGFunction{
			"config_get":       rt.luaConfigGet,
			"config_rawget":    rt.luaConfigRawGet,
			"config_all":       rt.luaConfigAll,
			"config_load":      rt.luaConfigLoad,
			"find_module":      rt.luaFindModule,
			"find_lib":         rt.luaFindLib,
			"load_chunk":       luaLoadChunk,
			"call_traced":      luaCallTraced,
			"call_logged":      rt.luaCallLogged,
			"logger":           rt.luaLogger,
			"send":             rt.luaSend,
			"after":            rt.luaAfter,
			"post":             rt.luaPost,
			"store_load":       rt.luaStoreLoad,
			"store_save":       rt.luaStoreSave,
			"store_users":      rt.luaStoreUsers,
			"user_exists":      rt.luaUserExists,
			"http_mount":       rt.luaHTTPMount,
			"http_unmount":     rt.luaHTTPUnmount,
			"http_url":         rt.luaHTTPURL,
			"link_send":        rt.luaLinkSend,
			"metric":           rt.luaMetric,
			"metrics_render":   rt.luaMetricsRender,
			"sessions_changed": rt.luaSessionsChanged,
			"shutdown":         rt.luaShutdown,
		})
		L.Push(t)
		return 1
	}}
}

// shutdown(reason, code): prosody.shutdown's request, kept if it is the
// first (the exit code is modhost's own: 0 after a clean stop).
func (rt *Runtime) luaShutdown(L *glua.LState) int {
	reason := L.OptString(1, "")
	select {
	case rt.shutdownReq <- reason:
		rt.log.Info("shutdown requested by a module", "reason", reason)
	default:
	}
	return 0
}

func (rt *Runtime) luaConfigGet(L *glua.LState) int {
	v, _ := rt.luaCfg.Get(L.CheckString(1), L.CheckString(2))
	L.Push(lua.FromGo(L, v))
	return 1
}

func (rt *Runtime) luaConfigRawGet(L *glua.LState) int {
	host, key := L.CheckString(1), L.CheckString(2)
	var v any
	if s := rt.luaCfg.Host(host); s != nil {
		v = s.Options[key]
	} else if host == "*" {
		v = rt.luaCfg.Global.Options[key]
	}
	L.Push(lua.FromGo(L, v))
	return 1
}

func (rt *Runtime) luaConfigAll(L *glua.LState) int {
	all := L.NewTable()
	all.RawSetString("*", lua.FromGo(L, rt.luaCfg.Global.Options))
	for _, h := range rt.luaCfg.Hosts {
		all.RawSetString(h.Name, lua.FromGo(L, h.Options))
	}
	L.Push(all)
	return 1
}

// find_module(name) → source, path | nil, message, kind: "builtin" for a
// module modhost provides itself (nothing to load), "server-side" for one
// only the XMPP server can run (wherever it is found), "missing", or
// "broken" for a file that cannot be read.
func (rt *Runtime) luaFindModule(L *glua.LState) int {
	name := L.CheckString(1)
	fail := func(msg, kind string) int {
		L.Push(glua.LNil)
		L.Push(glua.LString(msg))
		L.Push(glua.LString(kind))
		return 3
	}
	if builtInModules[name] {
		return fail("mod_"+name+" is built into modhost", "builtin")
	}
	if config.IsServerSide(name) && !rt.opts.LoadServerSide {
		msg := "mod_" + name + " is server-side: the XMPP server runs it, not modhost"
		if where := rt.search.locate(name); where != "" {
			msg += " (found at " + where + ")"
		}
		return fail(msg, "server-side")
	}
	src, where, _, err := rt.search.find(name)
	if err != nil {
		if where != "" {
			return fail(err.Error(), "broken")
		}
		return fail("searched "+rt.search.describe(rt.search.layoutNames(name)), "missing")
	}
	L.Push(glua.LString(src))
	L.Push(glua.LString(where))
	return 2
}

// builtInModules are Prosody modules whose work modhost does itself: its
// HTTP server is mod_http and answers errors as mod_http_errors would, its
// file store (Prosody's datamanager layout) is mod_storage_internal. Prosody's copies need the
// server's internals. A module that depends on one gets an empty module in
// its place.
var builtInModules = map[string]bool{"http": true, "http_errors": true, "storage_internal": true}

// find_lib(plugin, name) → source, path | nil, "where it searched"
func (rt *Runtime) luaFindLib(L *glua.LState) int {
	plugin, lib := L.CheckString(1), L.CheckString(2)
	src, where, err := rt.search.findLib(plugin, lib)
	if src == nil {
		L.Push(glua.LNil)
		if where != "" {
			L.Push(glua.LString(err.Error()))
		} else {
			L.Push(glua.LString(rt.search.describe([]string{lib + ".lib.lua", lib + ".lua"})))
		}
		return 2
	}
	L.Push(glua.LString(src))
	L.Push(glua.LString(where))
	return 2
}

// load_chunk(source, chunkname) → function | nil, message
func luaLoadChunk(L *glua.LState) int {
	src, name := L.CheckString(1), L.CheckString(2)
	fn, err := lua.Load(L, src, name)
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(lua.SyntaxHint(err).Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

// call_traced(f, ...) → true, results... | false, "message\ntraceback"
func luaCallTraced(L *glua.LState) int {
	fn := L.CheckAny(1)
	args := make([]glua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	rets, err := lua.Call(L, fn, glua.MultRet, args...)
	if err != nil {
		L.Push(glua.LFalse)
		L.Push(glua.LString(lua.ErrorMessage(err) + "\n" + lua.Traceback(err)))
		return 2
	}
	L.Push(glua.LTrue)
	for _, r := range rets {
		L.Push(r)
	}
	return 1 + len(rets)
}

// call_logged(what, f, ...) → true, results... | false (the error is logged)
func (rt *Runtime) luaCallLogged(L *glua.LState) int {
	what := L.CheckString(1)
	fn := L.CheckAny(2)
	args := make([]glua.LValue, 0, L.GetTop()-2)
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	rets, ok := rt.loop.CallLogged(L, what, fn, glua.MultRet, args...)
	L.Push(glua.LBool(ok))
	for _, r := range rets {
		L.Push(r)
	}
	return 1 + len(rets)
}

func slogLevel(level string) slog.Level {
	switch level {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// formatLogMessage applies string.format when arguments follow the format,
// as Prosody's logger does; a format that does not fit its arguments is
// logged raw with a note rather than raising.
func formatLogMessage(L *glua.LState, first int) string {
	format := L.Get(first)
	if L.GetTop() <= first {
		return glua.LVAsString(format)
	}
	args := []glua.LValue{format}
	for i := first + 1; i <= L.GetTop(); i++ {
		v := L.Get(i)
		if _, ok := v.(glua.LString); !ok {
			if _, isNum := v.(glua.LNumber); !isNum {
				v = glua.LString(L.ToStringMeta(v).String())
			}
		}
		args = append(args, v)
	}
	strfmt := L.GetField(L.GetGlobal("string"), "format")
	rets, err := lua.Call(L, strfmt, 1, args...)
	if err != nil || len(rets) == 0 {
		return fmt.Sprintf("%s (log format error: %s)", glua.LVAsString(format), lua.ErrorMessage(err))
	}
	return rets[0].String()
}

// logger(source) → function(level, format, ...)
func (rt *Runtime) luaLogger(L *glua.LState) int {
	log := rt.log.With("source", L.CheckString(1))
	L.Push(L.NewFunction(func(L *glua.LState) int {
		level := slogLevel(L.OptString(1, "info"))
		if !log.Enabled(rt.loop.Context(), level) {
			return 0
		}
		log.Log(rt.loop.Context(), level, formatLogMessage(L, 2))
		return 0
	}))
	return 1
}

// send(host, xml) → true | nil, error
func (rt *Runtime) luaSend(L *glua.LState) int {
	host, xml := L.CheckString(1), L.CheckString(2)
	sink := rt.sink()
	if sink == nil {
		rt.log.Debug("stanza dropped: no stanza sink (standalone, no session)", "host", host, "stanza", xml)
		L.Push(glua.LNil)
		L.Push(glua.LString("no route: modhost is standalone and the recipient has no session here"))
		return 2
	}
	if err := sink.SendStanza(host, xml); err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(glua.LTrue)
	return 1
}

// after(seconds, fn) → cancel function. fn(now) runs on the loop.
func (rt *Runtime) luaAfter(L *glua.LState) int {
	secs := float64(L.CheckNumber(1))
	fn := L.CheckFunction(2)
	if secs < 0 {
		secs = 0
	}
	d := time.Duration(secs * float64(time.Second))
	stop := rt.loop.After(d, func(L *glua.LState) {
		now := float64(time.Now().UnixNano()) / 1e9
		rt.loop.CallLogged(L, "timer", fn, 0, glua.LNumber(now))
	})
	L.Push(L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(stop()))
		return 1
	}))
	return 1
}

// luaPost queues fn to run in a later job of the loop and reports whether
// it could (false once the loop is closing). Unlike a zero-delay timer the
// job is queued at once, so it runs before the loop stops.
func (rt *Runtime) luaPost(L *glua.LState) int {
	fn := L.CheckFunction(1)
	L.Push(glua.LBool(rt.loop.Post(func(L *glua.LState) {
		rt.loop.CallLogged(L, "posted job", fn, 0)
	})))
	return 1
}

func (rt *Runtime) luaStoreLoad(L *glua.LState) int {
	v, err := rt.files.load(L, L.CheckString(1), L.CheckString(2), L.CheckString(3))
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(v)
	return 1
}

func (rt *Runtime) luaStoreSave(L *glua.LState) int {
	if err := rt.files.save(L.CheckString(1), L.CheckString(2), L.CheckString(3), L.Get(4)); err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(glua.LTrue)
	return 1
}

func (rt *Runtime) luaStoreUsers(L *glua.LState) int {
	users, err := rt.files.users(L.CheckString(1), L.CheckString(2))
	if err != nil {
		rt.log.Warn("listing store users", "error", err)
	}
	L.Push(lua.FromGo(L, users))
	return 1
}

func (rt *Runtime) luaUserExists(L *glua.LState) int {
	user, host := L.CheckString(1), L.CheckString(2)
	exists := true
	if f := rt.opts.UserExists; f != nil {
		exists = f(user, host)
	}
	L.Push(glua.LBool(exists))
	return 1
}
