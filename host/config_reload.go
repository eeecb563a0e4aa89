package host

import (
	"context"
	"errors"
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/lua"
)

// ReloadConfig re-reads the config file as Prosody 0.12 does on SIGHUP
// (prosody.reload_config in util/startup.lua): it logs "Reloading
// configuration file", fires the global "reloading-config", reads the file
// again and, if it loads, makes it what core.configmanager and
// module:get_option return and fires the global "config-reloaded" with
// { filename, config }. A file that cannot be read or run is logged as an
// error and the config in use stays as it was; the error is returned.
//
// What was set up from the config at start stays as it was, as in
// Prosody: modules are neither loaded nor unloaded, and the listeners,
// storage, the XMPP link and logging keep their settings until a restart.
func (rt *Runtime) ReloadConfig(ctx context.Context) error {
	if rt.loop == nil {
		return errors.New("reload config: runtime not started")
	}
	return rt.loop.Do(ctx, func(L *glua.LState) error {
		rets, err := lua.Call(L, L.GetField(L.GetGlobal("prosody"), "reload_config"), 2)
		if err != nil {
			return fmt.Errorf("reload config: %w", err)
		}
		if !glua.LVAsBool(rets[0]) {
			return fmt.Errorf("reload config: %s", glua.LVAsString(rets[1]))
		}
		return nil
	})
}

// luaConfigLoad is core.configmanager.load's Go half: config_load(filename)
// runs the file as at start and, if it loads, makes it the config Lua
// reads (config_all); it returns true, or nil, "file" or "parser" as
// Prosody's configmanager names the failure, and the message. The Go
// side's own settings (rt.cfg) are not touched.
func (rt *Runtime) luaConfigLoad(L *glua.LState) int {
	filename := L.CheckString(1)
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, config.DefaultTimeout)
	defer cancel()
	cfg, err := config.LoadWith(ctx, filename, config.Options{Print: rt.opts.Stderr})
	if err != nil {
		level := "file"
		var cerr *config.Error
		if errors.As(err, &cerr) {
			level = "parser"
		}
		L.Push(glua.LNil)
		L.Push(glua.LString(level))
		L.Push(glua.LString(err.Error()))
		return 3
	}
	cfg.LogTo(rt.log)
	rt.luaCfg = cfg
	L.Push(glua.LTrue)
	return 1
}
