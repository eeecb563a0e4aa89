package link

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
)

type serverRosterResult struct {
	items []component.RosterItem
	err   error
	since int // the user's queued writes when the read was sent
}

// serverRosterStep is the before_bind step of a linked login: it reads the
// user's roster from the server (privileged get) so that modhost starts from
// what the server holds. A failure leaves the local store as it is.
func (b *bridge) serverRosterStep(L *glua.LState) glua.LValue {
	if b.rosterReads == nil {
		b.rosterReads = map[string]serverRosterResult{}
	}
	start := func(user string, done func(L *glua.LState)) {
		since := b.queued[user]
		go func() {
			items, err := b.readServerRoster(user)
			res := serverRosterResult{items: items, err: err, since: since}
			b.rt.Loop().Post(func(L *glua.LState) {
				b.rosterReads[user] = res
				done(L)
			})
		}()
	}
	finish := func(L *glua.LState, user string) {
		res, ok := b.rosterReads[user]
		delete(b.rosterReads, user)
		if !ok {
			return
		}
		if res.err != nil {
			b.logReadFailure("server roster not read at login; starting from the local one", user, res.err)
			return
		}
		if b.queued[user] != res.since {
			// Writes of this user (a refresh racing the login) were queued
			// after the read went out: the local roster and what modhost
			// knows of the server's are newer than the read.
			b.log.Debug("server roster read at login overtaken by writes; keeping the local one", "user", user)
			return
		}
		if b.unsynced[user] {
			// The local roster is newer than the server's (a change never
			// reached it): keep it, and write the difference.
			if local := b.localRosterOf(L, user); local != nil {
				delete(b.unsynced, user)
				b.writeDifferences(user, localRoster(local), packServerRoster(res.items), true, nil)
				return
			}
		}
		b.storeServerRoster(L, user, res.items)
	}
	step, err := b.rt.LoginStep(L, start, finish)
	if err != nil {
		b.log.Error("server roster step", "error", err)
		return glua.LNil
	}
	return step
}

// storeServerRoster writes the server's roster of user into the local store,
// so rostermanager.load_roster (next in the login) starts from it.
func (b *bridge) storeServerRoster(L *glua.LState, user string, items []component.RosterItem) {
	roster := L.CreateTable(0, len(items)+1) // NewTable reserves 32+32 slots
	for _, it := range items {
		item := L.CreateTable(0, 4)
		item.RawSetString("subscription", glua.LString(orDefault(it.Subscription, "none")))
		if it.Name != "" {
			item.RawSetString("name", glua.LString(it.Name))
		}
		if it.Ask != "" {
			item.RawSetString("ask", glua.LString(it.Ask))
		}
		groups := L.CreateTable(0, max(len(it.Groups), 1))
		for _, g := range it.Groups {
			groups.RawSetString(g, glua.LTrue)
		}
		item.RawSetString("groups", groups)
		roster.RawSetString(it.JID, item)
	}
	b.serverRoster[user] = packServerRoster(items)
	// The roster's metadata (roster[false]: version, pending subscriptions)
	// stays the local one.
	var meta glua.LValue = glua.LNil
	old, err := b.rt.Roster(L, b.host, user)
	if err == nil && old != nil {
		meta = old.RawGet(glua.LFalse)
	}
	if meta == glua.LNil {
		m := L.CreateTable(0, 2)
		m.RawSetString("version", glua.LNumber(1))
		m.RawSetString("pending", L.CreateTable(0, 0))
		meta = m
	}
	roster.RawSet(glua.LFalse, meta)
	if err == nil {
		err = b.rt.SetRoster(L, b.host, user, roster)
	}
	if err != nil {
		b.log.Warn("storing the server's roster", "user", user, "error", lua.ErrorMessage(err))
	}
}
