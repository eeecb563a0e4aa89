package link

import (
	"context"
	"errors"
	"sort"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
)

// mirrorRoster writes a saved roster change into the server's roster through
// the host's rosterWriter, one item per write, so the server routes presence by it
// (and, in server-held mode, pushes it to its clients). Only what differs
// from the server's roster as last known is written; when that is unknown
// it is read first.
func (b *bridge) mirrorRoster(L *glua.LState, event *glua.LTable) {
	user := glua.LVAsString(L.GetField(event, "username"))
	roster, ok := L.GetField(event, "roster").(*glua.LTable)
	if !ok || user == "" {
		return
	}
	server, known, ok := b.serverRosterToDiff(user, func() map[string]component.RosterItem { return localRoster(roster) })
	if !ok {
		return
	}
	jid, ok := L.GetField(event, "jid").(glua.LString)
	if !ok {
		b.writeDifferences(user, localRoster(roster), server, known, nil)
		return
	}
	b.writeChanged(user, roster, server, known, []string{string(jid)})
}

// serverRosterToDiff is the step every mirroring takes first: the server's
// roster of user as last known (known false when it is not) to diff a
// change against, or ok false when nothing is to be diffed now. That is
// when nothing can be written (the whole roster is compared when the server
// is back and has said what it grants), when writing is not granted (said
// at connect), or when the user was not seen on this connection (offline,
// or modhost just (re)connected): the local roster may have been rebuilt
// from nothing, so only a whole comparison with the server's (whole gives
// the local side) removes what the server still holds.
func (b *bridge) serverRosterToDiff(user string, whole func() map[string]component.RosterItem) (server serverRoster, known, ok bool) {
	if !b.roster.ready() {
		b.unsynced[user] = true
		return serverRoster{}, false, false
	}
	if !b.roster.canWrite() {
		return serverRoster{}, false, false
	}
	server, known = b.serverRoster[user]
	if !known && b.roster.canRead() {
		b.reconcile(user, whole)
		return serverRoster{}, false, false
	}
	return server, known, true
}

// writeChanged writes the contacts at jids of roster (user's local roster)
// that differ from the server's. Only they are read: reading the whole
// roster per save made a refresh replacing n contacts cost n² (issue 13,
// point 1).
func (b *bridge) writeChanged(user string, roster *glua.LTable, server serverRoster, known bool, jids []string) {
	local := make(map[string]component.RosterItem, len(jids))
	for _, jid := range jids {
		if it, ok := localItem(roster.RawGetString(jid), jid); ok {
			local[jid] = it
		}
	}
	b.writeDifferences(user, local, server, known, jids)
}

// mirrorChanged is mirrorRoster for a change Go made to user's roster
// table (several contacts at once, no roster-saved event): the same writes.
func (b *bridge) mirrorChanged(user string, roster *glua.LTable, jids []string) {
	changed := make([]component.RosterItem, 0, len(jids))
	for _, jid := range jids {
		it, ok := localItem(roster.RawGetString(jid), jid)
		if !ok {
			it = component.RosterItem{JID: jid, Subscription: "remove"}
		}
		changed = append(changed, it)
	}
	whole := localRoster(roster) // read now: the table is the caller's
	b.mirrorItems(user, changed, func() map[string]component.RosterItem { return whole }, packedCommit{})
}

// mirrorItems writes the changed items (Subscription "remove" for a
// removal) of user's roster to the server, as mirrorRoster writes a save;
// whole gives the whole local roster when the server's must be compared
// first; commit is the packed change they come from, if any
// (link.Set.MirrorItems).
func (b *bridge) mirrorItems(user string, changed []component.RosterItem, whole func() map[string]component.RosterItem, commit packedCommit) {
	server, known, ok := b.serverRosterToDiff(user, whole)
	if !ok {
		return
	}
	local := make(map[string]component.RosterItem, len(changed))
	jids := make([]string, 0, len(changed))
	for _, it := range changed {
		jids = append(jids, it.JID)
		if it.Subscription != "remove" {
			sort.Strings(it.Groups)
			local[it.JID] = it
		}
	}
	b.writeDiff(user, local, server, known, jids, commit)
}

// writeDifferences queues the sets that make the server's roster of user
// hold local, for the given jids (all when nil), and remembers the result.
// known says whether server is the server's roster: if not, removals are
// written blindly. A JID given twice is written once.
func (b *bridge) writeDifferences(user string, local map[string]component.RosterItem, server serverRoster, known bool, jids []string) {
	b.writeDiff(user, local, server, known, jids, packedCommit{})
}

// packedCommit is a change Go made to a packed roster (host/roster): the
// roster before and after it. Mirrored, it lets the server's roster be
// remembered as the one after (serverRoster.mirror) rather than as a copy.
type packedCommit struct {
	before, after *roster.Packed
}

// writeDiff is writeDifferences for a change that may be a packed commit.
// When the server held the roster before it (a mirror of it), the server
// holds the one after once the changed contacts are written; otherwise,
// it does if the result says so.
func (b *bridge) writeDiff(user string, local map[string]component.RosterItem, server serverRoster, known bool, jids []string, commit packedCommit) {
	remembered := server
	inSync := commit.after != nil && commit.before != nil && server.mirror != "" && server.mirror == commit.before.Data()
	var view *mirrorView
	if server.mirror != "" {
		if jids == nil || len(jids) > mirrorLookups {
			server = server.expanded(b.roster.stored)
		} else if p := b.parsedMirror(server.mirror, commit.before); p != nil {
			view = &mirrorView{p: p, stored: b.roster.stored}
		} else {
			server = serverRoster{}
		}
	}
	var seen map[string]bool // only when jids may repeat
	if jids == nil {
		server = server.compacted()
		jids = make([]string, 0, len(local)+server.base.len())
		for jid := range local {
			jids = append(jids, jid)
		}
		for i := range server.base.len() {
			if jid := server.base.jid(i); !inMap(local, jid) {
				jids = append(jids, jid)
			}
		}
		sort.Strings(jids)
	} else if len(jids) > 1 {
		seen = make(map[string]bool, len(jids))
	}
	lookup := server.lookup
	if view != nil {
		lookup = view.lookup
	}
	var changes []change
	queued := b.writeBuf[:0] // the writes, packed (writeQueue)
	later := b.laterBuf[:0]  // those the client's answer need not wait for
	waited := 0
	for _, jid := range jids {
		if seen != nil {
			if seen[jid] {
				continue
			}
			seen[jid] = true
		}
		want, keep := local[jid]
		have, held := lookup(jid)
		var it component.RosterItem
		switch {
		case keep:
			b.scratch = appendBody(b.scratch[:0], b.roster.stored(want))
			if held && have == string(b.scratch) {
				continue
			}
			it = want
			changes = append(changes, change{jid: jid, body: string(b.scratch)})
		case held || !known:
			it = component.RosterItem{JID: jid, Subscription: "remove"}
			changes = append(changes, change{jid: jid, body: removedBody})
		default:
			continue
		}
		b.log.Debug("mirroring a roster change to the server", "user", user, "contact", jid, "subscription", it.Subscription)
		b.queued[user]++
		// A set that may take away what the contact sees (a removal, a
		// subscription without from) is always waited for: until it
		// lands, the server would still send them the user's presence.
		if grants := it.Subscription == "both" || it.Subscription == "from"; !grants || b.presenceWaits(jid) {
			queued = appendWrite(queued, it)
			waited++
		} else {
			later = appendWrite(later, it)
		}
	}
	// What presence needs goes first; a result waits for it alone.
	b.writes.push(user, string(queued), waited, false)
	if waited > 0 {
		b.lastWrite[user] = b.writes.queued()
	}
	b.writes.push(user, string(later), len(changes)-waited, true)
	b.writeBuf, b.laterBuf = queued, later
	if inSync {
		b.serverRoster[user] = serverRoster{mirror: commit.after.Data()}
		b.lastMirror = commit.after
		return
	}
	if len(changes) == 0 && remembered.mirror != "" {
		return // nothing written: the server still holds the mirror
	}
	if view != nil {
		server = server.expanded(b.roster.stored)
	}
	result := server.with(changes)
	if commit.after != nil && commit.after.Data() != "" && sameItems(result, serverRoster{mirror: commit.after.Data()}.expanded(b.roster.stored)) {
		result = serverRoster{mirror: commit.after.Data()}
		b.lastMirror = commit.after
	}
	b.serverRoster[user] = result
}

// parsedMirror is a mirror's packed roster, parsed: the commit's roster
// before, or the last one made a mirror (what a push of that commit is
// compared with), when it is that one; else parsed now. Nil if it does
// not parse.
func (b *bridge) parsedMirror(mirror string, before *roster.Packed) *roster.Packed {
	for _, p := range []*roster.Packed{before, b.lastMirror} {
		if p != nil && p.Data() == mirror {
			return p
		}
	}
	p, _ := roster.ParsePacked(mirror)
	return p
}

// sameItems reports whether a and b hold the same items.
func sameItems(a, b serverRoster) bool {
	a, b = a.compacted(), b.compacted()
	return a.base.data == b.base.data
}

// mirrorTold keeps the server's roster of user in step with what a plugin
// tells that user's client, whatever API the plugin used to build it (an
// unmodified plugin may write session.roster itself and send its own
// pushes, so roster-saved never fires): a roster result is the whole
// roster, a push one item or its removal. Only what differs from the
// server's roster is written.
func (b *bridge) mirrorTold(user string, iq *xmpp.Element, typ string) {
	if !b.roster.ready() || !b.roster.canWrite() {
		return
	}
	told := map[string]component.RosterItem{}
	var jids []string
	for _, it := range component.ParseRoster(iq) {
		jids = append(jids, it.JID)
		if it.Subscription == "remove" {
			continue
		}
		it.Subscription = orDefault(it.Subscription, "none")
		sort.Strings(it.Groups)
		told[it.JID] = it
	}
	server, known := b.serverRoster[user]
	if _, reading := b.reconciling[user]; reading && b.shared && typ == "set" {
		// A shared refresh's saves are being compared with ejabberd's
		// roster (forgetRoster): that comparison, over the live local
		// roster, writes this item if it differs. Written now, blindly,
		// every unchanged contact would be written and pushed again.
		return
	}
	if typ == "result" {
		if !known && b.roster.canRead() {
			b.reconcile(user, func() map[string]component.RosterItem { return told })
			return
		}
		jids = nil // the whole roster: what it lacks goes too
	}
	b.writeDifferences(user, told, server, known, jids)
}

// mirrorBound keeps the server in step with what a session's roster holds
// once its resource is bound, in server-held mode: there the server answers
// the client's roster query, so a plugin that fills session.roster itself
// at login (roster-load, resource-bind) tells the client nothing modhost
// could mirror. What differs is written, and the server pushes it. In
// delegated mode the roster result modhost sends is mirrored instead.
func (b *bridge) mirrorBound(L *glua.LState, user string) {
	if b.delegated[component.NSRoster] || !b.roster.ready() || !b.roster.canWrite() {
		return
	}
	roster, err := b.rt.OnlineRoster(L, b.host, user)
	if err != nil || roster == nil {
		return
	}
	if server, known := b.serverRoster[user]; known {
		b.writeDifferences(user, localRoster(roster), server, true, nil)
	} else if b.roster.canRead() {
		b.reconcile(user, func() map[string]component.RosterItem { return localRoster(roster) })
	}
}

// reconcile reads user's roster from the server, then writes whatever the
// local roster (as local gives it by then) differs in.
func (b *bridge) reconcile(user string, local func() map[string]component.RosterItem) {
	if _, reading := b.reconciling[user]; reading {
		b.reconciling[user] = local
		return
	}
	b.reconciling[user] = local
	forgotten := b.forgotten[user]
	go func() {
		items, err := b.readServerRoster(user)
		b.rt.Loop().Post(func(L *glua.LState) {
			local, ok := b.reconciling[user]
			delete(b.reconciling, user)
			if !ok {
				return // the link went down meanwhile: nothing is known
			}
			if b.forgotten[user] != forgotten {
				// A shared refresh began after this read went out: another
				// instance may have written since, so read again.
				b.reconcile(user, local)
				return
			}
			if errors.Is(err, component.ErrNotConnected) {
				b.log.Debug("server roster not read: link down; compared again when it is back", "user", user, "error", err)
				b.markUnsynced(user)
				return
			}
			if err != nil {
				b.logReadFailure("the server's roster of a user could not be read; its local items are written without removals and the comparison is retried", user, err)
				b.writeDifferences(user, local(), serverRoster{}, false, nil)
				b.markUnsynced(user)
				return
			}
			if b.refusals.recovered(user, "read") {
				b.log.Info("the server answers roster reads for this user again", "user", user)
			}
			b.writeDifferences(user, local(), packServerRoster(items), true, nil)
		})
	}()
}

// localRosterOf reads user's roster from the host's roster store; nil if
// there is none (or it cannot be read, which is logged).
func (b *bridge) localRosterOf(L *glua.LState, user string) *glua.LTable {
	roster, err := b.rt.Roster(L, b.host, user)
	if err != nil {
		b.log.Error("reading a local roster to write it to the server", "user", user, "error", lua.ErrorMessage(err))
		return nil
	}
	return roster
}

// localRoster reads a Prosody roster table (contacts by JID; roster[false]
// is metadata) into roster items.
func localRoster(roster *glua.LTable) map[string]component.RosterItem {
	out := map[string]component.RosterItem{}
	roster.ForEach(func(k, v glua.LValue) {
		if jid, ok := k.(glua.LString); ok {
			if it, ok := localItem(v, string(jid)); ok {
				out[string(jid)] = it
			}
		}
	})
	return out
}

// localItem reads the roster item v held at jid; false if it is none (a
// removed contact, metadata, the legacy "pending" entry).
func localItem(v glua.LValue, jid string) (component.RosterItem, bool) {
	item, isItem := v.(*glua.LTable)
	if !isItem || jid == "pending" {
		return component.RosterItem{}, false
	}
	it := component.RosterItem{JID: jid,
		Name:         glua.LVAsString(item.RawGetString("name")),
		Subscription: orDefault(glua.LVAsString(item.RawGetString("subscription")), "none")}
	if groups, ok := item.RawGetString("groups").(*glua.LTable); ok {
		groups.ForEach(func(k, _ glua.LValue) {
			if s, ok := k.(glua.LString); ok {
				it.Groups = append(it.Groups, string(s))
			}
		})
	}
	sort.Strings(it.Groups)
	return it, true
}

func inMap(m map[string]component.RosterItem, jid string) bool {
	_, ok := m[jid]
	return ok
}

// readServerRoster asks the server for user's roster through the host's
// writer; it waits, so it runs off the loop.
func (b *bridge) readServerRoster(user string) ([]component.RosterItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return b.roster.read(ctx, user)
}
