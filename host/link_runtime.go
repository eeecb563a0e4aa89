package host

import (
	"context"
	"fmt"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/link"
	"github.com/modhost/modhost/lua"
)

// linkRuntime is the runtime as the XMPP link sees it (link.Runtime): the
// loop, sessions, host events and the roster store, each reached through
// the Lua API Prosody's own modules use.
type linkRuntime struct{ rt *Runtime }

var _ link.Runtime = linkRuntime{}

func (r linkRuntime) Loop() *lua.Loop { return r.rt.loop }

func (r linkRuntime) Sessions(L *glua.LState) (*glua.LTable, error) { return r.rt.sessionsAPI(L) }

// hostTable is hosts[host][field] (nil when absent).
func hostTable(L *glua.LState, host, field string) *glua.LTable {
	h, _ := L.GetField(L.GetGlobal("hosts"), host).(*glua.LTable)
	if h == nil {
		return nil
	}
	t, _ := h.RawGetString(field).(*glua.LTable)
	return t
}

func (r linkRuntime) UserOnline(L *glua.LState, host, user string) bool {
	sessions := hostTable(L, host, "sessions")
	return sessions != nil && sessions.RawGetString(user) != glua.LNil
}

func (r linkRuntime) Session(L *glua.LState, host, user, resource string) glua.LValue {
	sessions := hostTable(L, host, "sessions")
	if sessions == nil {
		return glua.LNil
	}
	return L.GetField(L.GetField(sessions.RawGetString(user), "sessions"), resource)
}

// HookHost is hosts[host].events.add_handler(event, fn, priority).
func (r linkRuntime) HookHost(L *glua.LState, host, event string, priority int, fn func(L *glua.LState, event *glua.LTable)) error {
	events := hostTable(L, host, "events")
	if events == nil {
		return errNoHost(host)
	}
	handler := L.NewFunction(func(L *glua.LState) int {
		fn(L, L.CheckTable(1))
		return 0
	})
	_, err := lua.Call(L, L.GetField(events, "add_handler"), 0, glua.LString(event), handler, glua.LNumber(priority))
	return err
}

// rosterStore is core.storagemanager.open(host, "roster", "keyval").
func rosterStore(L *glua.LState, host string) (*glua.LTable, error) {
	sm, err := lua.Call(L, L.GetGlobal("require"), 1, glua.LString("core.storagemanager"))
	if err != nil {
		return nil, err
	}
	rets, err := lua.Call(L, L.GetField(sm[0], "open"), 1, glua.LString(host), glua.LString("roster"), glua.LString("keyval"))
	if err != nil {
		return nil, err
	}
	store, ok := rets[0].(*glua.LTable)
	if !ok {
		return nil, errNoStore(host)
	}
	return store, nil
}

func (r linkRuntime) Roster(L *glua.LState, host, user string) (*glua.LTable, error) {
	store, err := rosterStore(L, host)
	if err != nil {
		return nil, err
	}
	rets, err := lua.Call(L, L.GetField(store, "get"), 1, store, glua.LString(user))
	if err != nil {
		return nil, err
	}
	roster, _ := rets[0].(*glua.LTable)
	return roster, nil
}

func (r linkRuntime) SetRoster(L *glua.LState, host, user string, roster *glua.LTable) error {
	store, err := rosterStore(L, host)
	if err != nil {
		return err
	}
	_, err = lua.Call(L, L.GetField(store, "set"), 0, store, glua.LString(user), roster)
	return err
}

// OnlineRoster is the Lua table Lua has made of user's roster, or a
// transient one unpacked from what Go holds (host/rosters.go).
func (r linkRuntime) OnlineRoster(L *glua.LState, host, user string) (*glua.LTable, error) {
	if bare := bareSession(L, host, user); bare != nil {
		if live, ok := bare.RawGetString("roster").(*glua.LTable); ok {
			return live, nil
		}
	}
	return r.rt.rosters.unpackHeld(L, host, user)
}

// LoginStep is sessions.waiting_step (host/sessions.lua) over Go functions.
func (r linkRuntime) LoginStep(L *glua.LState, start func(user string, done func(*glua.LState)), finish func(*glua.LState, string)) (glua.LValue, error) {
	api, err := r.rt.sessionsAPI(L)
	if err != nil {
		return nil, err
	}
	luaStart := L.NewFunction(func(L *glua.LState) int {
		user, done := L.CheckString(1), L.CheckFunction(2)
		start(user, func(L *glua.LState) { r.rt.loop.CallLogged(L, "login step", done, 0) })
		return 0
	})
	luaFinish := L.NewFunction(func(L *glua.LState) int {
		finish(L, L.CheckString(1))
		return 0
	})
	rets, err := lua.Call(L, L.GetField(api, "waiting_step"), 1, luaStart, luaFinish)
	if err != nil {
		return nil, err
	}
	return rets[0], nil
}

func errNoHost(host string) error { return fmt.Errorf("no host %q in this runtime", host) }
func errNoStore(host string) error {
	return fmt.Errorf("core.storagemanager gave no roster store for %s", host)
}

// startLinks starts the XMPP link of every host with a component_client.
func (rt *Runtime) startLinks(ctx context.Context) error {
	links, err := link.Start(ctx, linkRuntime{rt}, rt.cfg, rt.opts.Link, rt.log)
	if err != nil {
		return err
	}
	rt.links = links
	return nil
}

// stopLinks closes every link and waits for its goroutines.
func (rt *Runtime) stopLinks(ctx context.Context) { rt.links.Stop(ctx) }

// LinkStates reports each linked host's link state (for metrics, tests).
func (rt *Runtime) LinkStates() map[string]string { return rt.links.States() }

// LinkPendingWrites reports each linked host's roster writes not yet
// answered by the server (see link.Set.PendingWrites).
func (rt *Runtime) LinkPendingWrites() map[string]int64 { return rt.links.PendingWrites() }

// luaLinkSend is native.link_send(host, stanza): a stanza a plugin sends on
// a linked host leaves through its link (link.Set.Send says which may);
// false when the host has no link.
func (rt *Runtime) luaLinkSend(L *glua.LState) int {
	L.Push(glua.LBool(rt.links.Send(L, L.CheckString(1), L.CheckTable(2))))
	return 1
}
