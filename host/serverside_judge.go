package host

import (
	"regexp"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/lua"
)

// serverSideRefusal is the words find_module refuses a server-side module
// with; found in a load error, at any depth of module:depends, it names
// the server-side module a module needed.
var serverSideRefusal = regexp.MustCompile(`mod_(\S+) is server-side: the XMPP server runs it`)

// serverSideDependency returns the server-side module a failed load
// needed (through module:depends, directly or not), or "".
func serverSideDependency(msg string) string {
	if m := serverSideRefusal.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// skipServerSide reports name as server-side, for reason, as a listed one
// is reported: skipped, with the file the search finds it in.
func (rt *Runtime) skipServerSide(hr *HostReport, name, reason string) {
	where := rt.search.locate(name)
	hr.Skipped = append(hr.Skipped, SkippedModule{Name: name, File: where, Reason: reason})
	rt.log.Info("skipping server-side module (the XMPP server runs it)", "host", hr.Name, "module", name, "found", where, "because", reason)
}

// serverSideJudge judges a module that loaded and whose name has a
// server-side shape by what it hooks and provides (config.ServerSideByUse),
// through core.modulemanager's module_use; a module found server-side is
// unloaded again.
type serverSideJudge struct {
	L           *glua.LState
	use, unload glua.LValue
}

// byUse returns why host's module name is server-side, or "".
func (j serverSideJudge) byUse(host, name string) string {
	if !config.HasServerSideShape(name) {
		return ""
	}
	rets, err := lua.Call(j.L, j.use, 2, glua.LString(host), glua.LString(name))
	if err != nil {
		return ""
	}
	reason := config.ServerSideByUse(stringsOf(rets[0]), stringsOf(rets[1]))
	if reason != "" {
		// Its hooks go with it; a failing unload is logged by modulemanager.
		_, _ = lua.Call(j.L, j.unload, 0, glua.LString(host), glua.LString(name))
	}
	return reason
}

// stringsOf is a Lua list of strings as a Go slice.
func stringsOf(v glua.LValue) []string {
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil
	}
	out := make([]string, 0, t.Len())
	for i := 1; i <= t.Len(); i++ {
		out = append(out, glua.LVAsString(t.RawGetInt(i)))
	}
	return out
}
