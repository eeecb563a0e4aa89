package host

import (
	"fmt"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/lua"
)

// storageUse is which stores of one host a storage driver is configured
// for: every store, the stores named, or every store but those named.
type storageUse struct {
	host   *config.Section
	every  bool
	stores []string // named stores; with every, the exceptions
}

func (u storageUse) String() string {
	kind := "VirtualHost"
	if u.host.Kind == config.Component {
		kind = "Component"
	}
	switch {
	case u.every && len(u.stores) == 0:
		return fmt.Sprintf("%s %q: every store", kind, u.host.Name)
	case u.every:
		return fmt.Sprintf("%s %q: every store but %s", kind, u.host.Name, strings.Join(u.stores, ", "))
	}
	return fmt.Sprintf("%s %q: %s", kind, u.host.Name, strings.Join(u.stores, ", "))
}

// storageDrivers reads, per enabled host, which driver each store gets, as
// Prosody's storagemanager (and modhost's) chooses it: storage as a driver
// name for every store, or a table store → driver; default_storage, else
// "internal", for the rest.
func storageDrivers(cfg *config.Config) map[string][]storageUse {
	uses := map[string][]storageUse{}
	for _, h := range cfg.Hosts {
		if !cfg.HostEnabled(h.Name) {
			continue
		}
		fallback := "internal"
		if d, _ := cfg.Get(h.Name, "default_storage"); d != nil {
			if s, ok := d.(string); ok && s != "" {
				fallback = s
			}
		}
		storage, _ := cfg.Get(h.Name, "storage")
		switch v := storage.(type) {
		case string:
			uses[v] = append(uses[v], storageUse{host: h, every: true})
		case map[string]any:
			named := map[string][]string{}
			var all []string
			for store, d := range v {
				if s, ok := d.(string); ok {
					named[s] = append(named[s], store)
					all = append(all, store)
				}
			}
			sort.Strings(all)
			for driver, stores := range named {
				sort.Strings(stores)
				uses[driver] = append(uses[driver], storageUse{host: h, stores: stores})
			}
			uses[fallback] = append(uses[fallback], storageUse{host: h, every: true, stores: all})
		default:
			uses[fallback] = append(uses[fallback], storageUse{host: h, every: true})
		}
	}
	return uses
}

// storageWarnings names every storage driver the config asks for that
// modhost cannot open, with the hosts and stores it affects: plugins that
// open those stores would fail. memory (the bundled mod_storage_memory) and
// internal (built in) always work; any other driver is loaded as Prosody
// loads it (mod_storage_NAME) to see.
func (rt *Runtime) storageWarnings(L *glua.LState) []string {
	uses := storageDrivers(rt.cfg)
	drivers := make([]string, 0, len(uses))
	for d := range uses {
		if d != "memory" && d != "internal" {
			drivers = append(drivers, d)
		}
	}
	sort.Strings(drivers)
	if len(drivers) == 0 {
		return nil
	}
	sm, err := lua.DoChunk(L, `return require "core.storagemanager"`, "storage check", 1)
	if err != nil {
		return []string{"storage drivers not checked: " + err.Error()}
	}
	loadDriver := L.GetField(sm[0], "load_driver")
	var warnings []string
	for _, driver := range drivers {
		var affected []string
		reason := ""
		for _, u := range uses[driver] {
			rets, err := lua.Call(L, loadDriver, 3, glua.LString(u.host.Name), glua.LString(driver))
			switch {
			case err != nil:
				reason = inWords(lua.ErrorMessage(err), rt.search.source)
			case rets[0] != glua.LNil:
				continue
			case glua.LVAsString(rets[2]) == "missing":
				reason = "no mod_storage_" + driver + " in any plugin folder"
			default:
				reason = inWords(glua.LVAsString(rets[1]), rt.search.source)
			}
			affected = append(affected, u.String())
		}
		if len(affected) == 0 {
			continue
		}
		warnings = append(warnings, fmt.Sprintf("storage driver %q is not available in modhost, so plugins that open these stores will fail:\n  %s\n(%s)",
			driver, strings.Join(affected, "\n  "), reason))
	}
	return warnings
}
