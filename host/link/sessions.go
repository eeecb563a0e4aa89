package link

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
)

func (b *bridge) sessionsAPI(L *glua.LState) *glua.LTable {
	api, err := b.rt.Sessions(L)
	if err != nil {
		b.log.Error("sessions", "error", err)
		return nil
	}
	return api
}

// session returns the linked session of full, creating (logging in) it on
// first sight: a client's first delegated roster query usually arrives
// before its presence.
func (b *bridge) session(L *glua.LState, full string) *linkedSession {
	if s, ok := b.sessions[full]; ok {
		return s
	}
	user, resource, ok := b.userOf(full)
	if !ok {
		return nil
	}
	api := b.sessionsAPI(L)
	if api == nil {
		return nil
	}
	b.sessionSeq++
	s := &linkedSession{born: b.sessionSeq, pending: map[string]*component.DelegatedIQ{}}
	b.addSession(full, user, s)
	send := L.NewFunction(func(L *glua.LState) int {
		if st, ok := L.Get(1).(*glua.LTable); ok {
			b.sessionSend(L, s, full, st)
		}
		return 0
	})
	done := L.NewFunction(func(L *glua.LState) int {
		if _, ok := L.Get(1).(*glua.LTable); !ok {
			b.log.Warn("session not created", "jid", full, "reason", L.OptString(2, ""))
			b.dropSession(full, user)
			return 0
		}
		b.mirrorBound(L, user)
		return 0
	})
	var beforeBind glua.LValue = glua.LNil
	if b.roster.canRead() && !b.rt.UserOnline(L, b.host, user) {
		// Only a user's first resource starts from the server's roster: the
		// others share the roster already loaded, which the store must not
		// be rewritten under.
		beforeBind = b.serverRosterStep(L)
	}
	rets, err := lua.Call(L, L.GetField(api, "login"), 0, glua.LString(b.host), glua.LString(user), glua.LString(resource), send, done, beforeBind)
	_ = rets
	if err != nil {
		b.log.Error("session login", "jid", full, "error", lua.ErrorMessage(err))
		b.dropSession(full, user)
		return nil
	}
	s.ref = b.rt.Session(L, b.host, user, resource)
	if t, ok := s.ref.(*glua.LTable); ok {
		roster.SetSender(L, t, func(L *glua.LState, e *xmpp.Element) { b.sessionSendElement(L, s, full, e) })
		roster.SetAnswerSender(L, t, func(L *glua.LState, e *xmpp.Element, packed string) {
			b.sendToSession(L, s, full, e, !b.holdsAsServerRoster(full, packed))
		})
	}
	return s
}

func (b *bridge) presence(L *glua.LState, e *xmpp.Element) {
	from := attrOf(e, "from")
	if _, _, ok := b.userOf(from); !ok {
		return
	}
	typ := attrOf(e, "type")
	switch typ {
	case "", "unavailable":
	default:
		return // subscriptions, probes, errors: the server's business
	}
	if typ == "unavailable" {
		if s, ok := b.sessions[from]; ok {
			b.logout(L, from, s, "unavailable")
		}
		return
	}
	s := b.session(L, from)
	if s == nil || s.ref == nil {
		return
	}
	if isDelayed(e) {
		// A replayed presence (the link (re)connected while the client was
		// online): whether it fetched its roster was seen by a previous
		// connection or runtime, if at all. Nearly every client fetches it
		// before its initial presence, so it keeps getting pushes. (The
		// replay may come before the delegation advertisement, so this does
		// not depend on the mode; in server-held mode pushes are the
		// server's and interest is unused.)
		if t, ok := s.ref.(*glua.LTable); ok {
			t.RawSetString("interested", glua.LTrue)
		}
	}
	// Hand the presence over as the client's own, without the component as
	// its addressee, so presence events fire and session.presence is set.
	p := *e
	p.Attr = nil
	for _, a := range e.Attr {
		if a.Name.Space == "" && (a.Name.Local == "to" || a.Name.Local == "from") {
			continue
		}
		p.Attr = append(p.Attr, a)
	}
	b.incoming(L, s, &p)
}

// isDelayed says whether a presence carries a XEP-0203 delay: the server's
// replay of who is online, sent when the component connects.
func isDelayed(e *xmpp.Element) bool {
	for _, n := range e.Children {
		if c, ok := n.(*xmpp.Element); ok && c.Name == "delay" && c.NS == "urn:xmpp:delay" {
			return true
		}
	}
	return false
}

func (b *bridge) incoming(L *glua.LState, s *linkedSession, e *xmpp.Element) {
	st, err := compat.ElementToStanza(L, e)
	if err != nil {
		b.log.Warn("stanza from the server not usable", "error", err)
		return
	}
	api := b.sessionsAPI(L)
	if api == nil {
		return
	}
	if _, err := lua.Call(L, L.GetField(api, "incoming"), 0, s.ref, st); err != nil {
		b.log.Error("processing a client stanza", "error", lua.ErrorMessage(err))
	}
}

func (b *bridge) delegatedIQ(L *glua.LState, d *component.DelegatedIQ) {
	from := attrOf(d.IQ, "from")
	if !d.ForSelf() {
		// Another user's roster: never answer from either user's data.
		b.replyDelegated(d, component.ErrorReply(d.IQ, "cancel", "forbidden", "a roster belongs to its own account"))
		return
	}
	s := b.session(L, from)
	if s == nil || s.ref == nil {
		b.replyDelegated(d, component.ErrorReply(d.IQ, "wait", "internal-server-error", "no session for "+from))
		return
	}
	id := attrOf(d.IQ, "id")
	s.pending[id] = d
	// No delegated IQ is left unanswered: the server has no timeout.
	b.rt.Loop().After(b.replyDeadline, func(L *glua.LState) {
		if pending, ok := s.pending[id]; ok && pending == d {
			delete(s.pending, id)
			b.replyDelegated(d, component.ErrorReply(d.IQ, "wait", "remote-server-timeout", "no answer in time"))
		}
	})
	inner := *d.IQ
	inner.Attr = nil
	for _, a := range d.IQ.Attr {
		if a.Name.Space == "" && a.Name.Local == "from" {
			continue // the session sets it
		}
		inner.Attr = append(inner.Attr, a)
	}
	b.incoming(L, s, &inner)
}

func (b *bridge) replyDelegated(d *component.DelegatedIQ, answer *xmpp.Element) {
	wrapped, err := d.Reply(answer)
	if err != nil {
		b.log.Warn("delegated reply not sendable", "error", err)
		wrapped, _ = d.Reply(component.ErrorReply(d.IQ, "wait", "internal-server-error", ""))
	}
	if wrapped != nil {
		if err := b.link.Send(wrapped); err != nil {
			b.log.Warn("delegated reply not sent", "error", err)
		}
	}
}

// replyHold bounds how long a delegated roster result waits for the sets
// mirroring it to be answered before it is sent anyway.
const replyHold = 2 * time.Second

// sessionSend is session.send for a linked session: replies to delegated
// IQs are wrapped back, roster pushes go as privileged IQs from the user's
// bare JID, and anything else the server would refuse is dropped (a
// component cannot send as a user).
func (b *bridge) sessionSend(L *glua.LState, s *linkedSession, full string, st *glua.LTable) {
	e, err := compat.StanzaToElement(L, st)
	if err != nil {
		b.log.Warn("stanza for a client not usable", "error", err)
		return
	}
	b.sessionSendElement(L, s, full, e)
}

// sessionSendElement is sessionSend for a stanza built in Go.
func (b *bridge) sessionSendElement(L *glua.LState, s *linkedSession, full string, e *xmpp.Element) {
	b.sendToSession(L, s, full, e, true)
}

// holdsAsServerRoster says whether the server's roster of full's user, as
// last known, is the packed roster packed itself (serverRoster.mirror): a
// roster result built from it tells the client what the server holds, and
// comparing the two (mirrorTold) would find nothing to write. That
// comparison read every item of a login's answer back from the stanza.
func (b *bridge) holdsAsServerRoster(full, packed string) bool {
	user, _, isUser := b.userOf(full)
	return isUser && packed != "" && b.serverRoster[user].mirror == packed
}

// sendToSession is sessionSendElement; compare false skips mirroring what
// the client is told (holdsAsServerRoster).
func (b *bridge) sendToSession(_ *glua.LState, s *linkedSession, full string, e *xmpp.Element, compare bool) {
	typ := attrOf(e, "type")
	user, _, isUser := b.userOf(full)
	if compare && isUser && e.Name == "iq" && (typ == "result" || typ == "set") && isRosterPush(e) {
		b.mirrorTold(user, e, typ)
	}
	if e.Name == "iq" && (typ == "result" || typ == "error") {
		if d, ok := s.pending[attrOf(e, "id")]; ok {
			delete(s.pending, attrOf(e, "id"))
			if isUser && b.writesPending(user) {
				// The client's initial presence follows this answer: the
				// server must hold the contacts it reaches by then to
				// route it, be they written for this answer (mirrorTold,
				// just above) or, before it, for the roster it gives (a
				// login's fetch, committed in Go). Contacts offline here
				// are written after it (presenceWaits).
				b.writes.whenAnswered(b.lastWrite[user], replyHold, func() { b.replyDelegated(d, e) })
				return
			}
			b.replyDelegated(d, e)
			return
		}
	}
	if e.Name == "iq" && typ == "set" && isRosterPush(e) {
		if !b.privs.CanSendIQ(component.NSRoster, "set") {
			b.log.Debug("roster push not sent: no iq permission (server-held mode: the server pushes)", "to", full)
			return
		}
		// rostermanager sends one push, one id, to every resource; the
		// server tracks each privileged IQ by its inner id and refuses a
		// second one in flight with the same id, so each copy gets its own.
		b.pushSeq++
		inner := *e
		inner.Attr = nil
		for _, a := range e.Attr {
			if a.Name.Space == "" && (a.Name.Local == "from" || a.Name.Local == "to" || a.Name.Local == "id") {
				continue
			}
			inner.Attr = append(inner.Attr, a)
		}
		inner.Attr = append(inner.Attr, xmlAttr("to", full), xmlAttr("id", attrOf(e, "id")+"."+strconv.Itoa(b.pushSeq)))
		wrapped, err := component.PrivilegedIQ(b.cfg.JID, bareOf(full), &inner)
		if err != nil {
			b.log.Warn("roster push not sendable", "error", err)
			return
		}
		b.sendPush(wrapped, full)
		return
	}
	b.log.Debug("stanza for a client dropped: a component cannot send it", "to", full, "name", e.Name)
}

// addSession and dropSession keep b.sessions and, per user, the count of
// their sessions (b.resources).
func (b *bridge) addSession(full, user string, s *linkedSession) {
	if _, ok := b.sessions[full]; !ok {
		b.resources[user]++
	}
	b.sessions[full] = s
}

func (b *bridge) dropSession(full, user string) {
	if _, ok := b.sessions[full]; !ok {
		return
	}
	delete(b.sessions, full)
	if b.resources[user]--; b.resources[user] <= 0 {
		delete(b.resources, user)
	}
}

// presenceWaits says whether a set of contact in a user's server roster
// must be answered before the user's client is answered its roster
// (writesPending): the initial presence that follows is routed by the
// server's roster, to contacts online (and probes them). A contact that
// is a user of this host with no session, as the server's presence told
// (it replays who is online at every connect), is not reached by it:
// their set can come after, and a first login with a hundred contacts, few
// online, waits for a few sets, not a hundred (each of which costs the
// server a save of the whole roster). When that contact logs in later,
// the set has long been answered: their probe finds the subscription.
// A contact elsewhere may be online; ejabberd replays no presence, so
// there every set is waited for.
func (b *bridge) presenceWaits(contact string) bool {
	if b.api != nil {
		return true
	}
	at := strings.IndexByte(contact, '@')
	if at <= 0 || contact[at+1:] != b.host || strings.ContainsAny(contact, "/") {
		return true
	}
	node := contact[:at]
	for i := range len(node) {
		// Sessions are keyed by the server's (prepared) JIDs: a contact
		// JID the web app spelt otherwise might be one of them.
		if c := node[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return b.resources[node] > 0
}

// writesPending says whether sets queued for user's server roster that
// the client's answer waits for (presenceWaits) are still unanswered.
func (b *bridge) writesPending(user string) bool {
	last, ok := b.lastWrite[user]
	if !ok {
		return false
	}
	if b.writes.answeredUpTo(last) {
		delete(b.lastWrite, user)
		return false
	}
	return true
}

func isRosterPush(e *xmpp.Element) bool {
	for _, n := range e.Children {
		if c, ok := n.(*xmpp.Element); ok && c.Name == "query" && c.NS == component.NSRoster {
			return true
		}
	}
	return false
}

// sendPush sends a privileged roster push. The server answers it with the
// client's acknowledgement, which only comes if the client addressed its ack
// to its bare JID (mod_privilege matches on that; RFC 6121 lets a client
// omit it): a push left unanswered is normal, a refusal is not.
func (b *bridge) sendPush(iq *xmpp.Element, full string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		reply, err := b.link.SendIQ(ctx, iq)
		var refused *component.StanzaError
		switch {
		case err == nil && attrOf(reply, "type") != "error":
		case errors.As(err, &refused) || err == nil:
			b.log.Warn("roster push refused", "to", full, "error", component.ParseStanzaError(reply))
		default:
			b.log.Debug("roster push not acknowledged", "to", full, "error", err)
		}
	}()
}

func (b *bridge) logout(L *glua.LState, full string, s *linkedSession, reason string) {
	user, _, _ := b.userOf(full)
	b.dropSession(full, user)
	b.sessionSeq++
	b.endedAt[full] = b.sessionSeq
	for id, d := range s.pending {
		delete(s.pending, id)
		b.replyDelegated(d, component.ErrorReply(d.IQ, "cancel", "service-unavailable", "session ended"))
	}
	api := b.sessionsAPI(L)
	if api == nil || s.ref == nil {
		return
	}
	done := L.NewFunction(func(*glua.LState) int { return 0 })
	if _, err := lua.Call(L, L.GetField(api, "logout"), 0, s.ref, glua.LString(reason), done); err != nil {
		b.log.Warn("logout", "jid", full, "error", lua.ErrorMessage(err))
	}
}

// dropSessions ends every linked session: after a drop or reconnect, who is
// online is unknown until the server's presence replay rebuilds it.
func (b *bridge) dropSessions(L *glua.LState, reason string) {
	for full, s := range b.sessions {
		b.logout(L, full, s, reason)
	}
	for user := range b.reconciling {
		b.unsynced[user] = true // its read died with the connection
	}
	b.serverRoster = map[string]serverRoster{}
	b.reconciling = map[string]func() map[string]component.RosterItem{}
}
