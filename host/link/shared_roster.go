package link

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// forgetRoster runs, with ejabberd_api's shared = true, when a user's
// roster has been fetched from the web app and is about to be applied
// (roster-admin/fetched, last of its handlers). Several modhost instances
// then write the same ejabberd cluster: what this one last read or wrote
// of the user's roster may be stale, since another instance may have
// refreshed the user since. So the instance forgets it: the local roster
// is emptied (in place, so the user's sessions and rostermanager's cache
// see the same empty table, and in the store), and the server's roster as
// last known is dropped. The plugin then finds every fetched contact new
// and saves it; the first save reads ejabberd's roster (get_roster,
// mirror.go's reconcile) and only what differs from it is written, so the
// clients' pushes are the real changes, and removals of contacts another
// instance added are written too. Cost: one get_roster per refresh.
func (b *bridge) forgetRoster(L *glua.LState, event *glua.LTable) {
	user := glua.LVAsString(L.GetField(event, "username"))
	if user == "" {
		return
	}
	delete(b.serverRoster, user)
	b.forgotten[user]++
	rets, err := lua.Call(L, L.GetGlobal("require"), 1, glua.LString("core.rostermanager"))
	if err != nil {
		b.log.Error("shared rosters: rostermanager not loaded", "error", lua.ErrorMessage(err))
		return
	}
	rm, _ := rets[0].(*glua.LTable)
	if rm == nil {
		return
	}
	rets, err = lua.Call(L, L.GetField(rm, "load_roster"), 1, glua.LString(user), glua.LString(b.host))
	if err != nil {
		b.log.Error("shared rosters: local roster not loaded", "user", user, "error", lua.ErrorMessage(err))
		return
	}
	roster, _ := rets[0].(*glua.LTable)
	if roster == nil {
		return
	}
	var jids []glua.LValue
	roster.ForEach(func(k, _ glua.LValue) {
		if _, ok := k.(glua.LString); ok {
			jids = append(jids, k)
		}
	})
	for _, k := range jids {
		roster.RawSet(k, glua.LNil)
	}
	if err := b.rt.SetRoster(L, b.host, user, roster); err != nil {
		b.log.Error("shared rosters: emptied local roster not stored", "user", user, "error", lua.ErrorMessage(err))
	}
}
