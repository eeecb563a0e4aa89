package config

import (
	glua "github.com/yuin/gopher-lua"
)

// ModuleSet is the modules Prosody 0.12 would load on a host.
type ModuleSet struct {
	// Enabled is the set Prosody's modulemanager computes, in order of first
	// appearance in: the autoloaded modules, the global modules_enabled, the
	// host's modules_enabled. (Prosody iterates a hash set; modhost loads in
	// this order so that runs are repeatable.)
	Enabled []string
	// Disabled are the names in the global and the host's modules_disabled
	// that are not in Enabled: each removed a module or would have, had it
	// been enabled. A caller can say "x: disabled by modules_disabled".
	Disabled []string
	// ComponentModule is the component's own module, which Prosody loads
	// before the others: "muc" for Component "x" "muc", "component" for a
	// plain (external) Component (mod_component, the XMPP server's end of
	// XEP-0114, which is server-side); "" for a VirtualHost.
	ComponentModule string
}

// autoloadModules are loaded on every host by Prosody 0.12's modulemanager
// whatever the config says; the first is the platform module, "posix" on
// the Linux builds modhost mirrors.
func autoloadModules() []string {
	return []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs"}
}

// componentInheritableModules are the only global modules a Component gets.
func componentInheritableModules() []string {
	return []string{"tls", "saslauth", "dialback", "iq", "s2s", "s2s_bidi", "smacks", "server_contact_info"}
}

// moduleLists holds a section's modules_enabled / modules_disabled as
// Prosody's set.new reads them (ipairs over a table; anything else is empty).
type moduleLists struct {
	enabled, disabled []string
	// A host list counts only when the host sets it to something other than
	// the global section's value: Prosody compares the two with == and drops
	// the host's when they are the same (the same table, when shared).
	ownEnabled, ownDisabled bool
}

func moduleListsOf(own, global *glua.LTable, isGlobal bool) moduleLists {
	var ml moduleLists
	if v := own.RawGetString("modules_enabled"); v != glua.LNil && (isGlobal || v != global.RawGetString("modules_enabled")) {
		ml.enabled, ml.ownEnabled = moduleNames(v), true
	}
	if v := own.RawGetString("modules_disabled"); v != glua.LNil && (isGlobal || v != global.RawGetString("modules_disabled")) {
		ml.disabled, ml.ownDisabled = moduleNames(v), true
	}
	return ml
}

// moduleNames lists the strings at 1, 2, … of a table, as ipairs visits them.
func moduleNames(v glua.LValue) []string {
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil
	}
	var names []string
	for i := 1; ; i++ {
		e := t.RawGetInt(i)
		if e == glua.LNil {
			return names
		}
		if s, ok := e.(glua.LString); ok {
			names = append(names, string(s))
		}
	}
}

// Modules computes host's modules as Prosody 0.12's modulemanager does:
//
//	global = autoload + global modules_enabled − global modules_disabled
//	global = global ∩ component-inheritable       (Components only)
//	modules = (global + host modules_enabled) − host modules_disabled
//	vcard is dropped when vcard_legacy is there too
//
// A host that is not declared, or whose enabled option is false, is not
// activated by Prosody and gets an empty set. "*" gives the global line
// alone: what a VirtualHost without lists of its own gets.
func (c *Config) Modules(host string) ModuleSet {
	var own *Section
	if host != "*" {
		if !c.HostEnabled(host) {
			return ModuleSet{}
		}
		own = c.byName[host]
	}
	g := c.Global.modules
	member := map[string]bool{}
	for _, m := range autoloadModules() {
		member[m] = true
	}
	for _, m := range g.enabled {
		member[m] = true
	}
	for _, m := range g.disabled {
		delete(member, m)
	}
	componentModule, _ := c.Get(host, "component_module")
	if cm, _ := componentModule.(string); cm != "" {
		inheritable := map[string]bool{}
		for _, m := range componentInheritableModules() {
			inheritable[m] = true
		}
		for m := range member {
			if !inheritable[m] {
				delete(member, m)
			}
		}
	}
	var hostEnabled, hostDisabled []string
	if own != nil {
		if own.modules.ownEnabled {
			hostEnabled = own.modules.enabled
		}
		if own.modules.ownDisabled {
			hostDisabled = own.modules.disabled
		}
	}
	for _, m := range hostEnabled {
		member[m] = true
	}
	for _, m := range hostDisabled {
		delete(member, m)
	}
	if member["vcard"] && member["vcard_legacy"] {
		delete(member, "vcard")
	}

	var set ModuleSet
	set.ComponentModule, _ = componentModule.(string)
	set.Enabled = firstAppearances(member, autoloadModules(), g.enabled, hostEnabled)
	notEnabled := map[string]bool{}
	for _, list := range [][]string{g.disabled, hostDisabled} {
		for _, m := range list {
			notEnabled[m] = !member[m]
		}
	}
	set.Disabled = firstAppearances(notEnabled, g.disabled, hostDisabled)
	return set
}

// firstAppearances lists the names in keep, once each, in the order they
// first appear in lists.
func firstAppearances(keep map[string]bool, lists ...[]string) []string {
	var out []string
	done := map[string]bool{}
	for _, list := range lists {
		for _, m := range list {
			if keep[m] && !done[m] {
				done[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
