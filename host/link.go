package host

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/component"
	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/lua"
)

// LinkOptions override a host's component_client option (flags and
// environment variables of `modhost run`). Empty fields leave the config's
// value.
type LinkOptions struct {
	Addr       string // host:port
	JID        string
	Secret     string
	SecretFile string
}

// linkConfig reads `component_client = { host; port; jid; secret | secret_file }`
// from a VirtualHost (DESIGN §3) and applies overrides. ok is false when the
// host has no link.
func (rt *Runtime) linkConfig(host string) (cfg component.Config, ok bool, err error) {
	raw, _ := rt.cfg.Get(host, "component_client")
	opts, _ := raw.(map[string]any)
	over := rt.opts.Link
	if opts == nil && (over.JID == "" || !rt.onlyVirtualHost(host)) {
		// Overrides without a component_client option link a config's
		// only VirtualHost; with several, the option says which.
		return cfg, false, nil
	}
	str := func(k string) string { s, _ := opts[k].(string); return s }
	addrHost, port := str("host"), 5347
	if addrHost == "" {
		addrHost = "127.0.0.1"
	}
	if p, ok := opts["port"].(float64); ok {
		port = int(p)
	}
	cfg.Addr = addrHost + ":" + strconv.Itoa(port)
	cfg.JID = str("jid")
	cfg.Secret = str("secret")
	secretFile := str("secret_file")
	if over.Addr != "" {
		cfg.Addr = over.Addr
	}
	if over.JID != "" {
		cfg.JID = over.JID
	}
	if over.Secret != "" {
		cfg.Secret, secretFile = over.Secret, ""
	}
	if over.SecretFile != "" {
		secretFile = over.SecretFile
	}
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return cfg, true, fmt.Errorf("component_client of %s: secret_file: %w", host, err)
		}
		cfg.Secret = strings.TrimSpace(string(b))
	}
	if cfg.JID == "" {
		return cfg, true, fmt.Errorf("component_client of %s: jid is required (the component's name in the server's Component section)", host)
	}
	if cfg.Secret == "" {
		return cfg, true, fmt.Errorf("component_client of %s: secret or secret_file is required (the server's component_secret)", host)
	}
	return cfg, true, nil
}

// linkSeconds reads a duration in seconds from component_client:
// delegation_timeout (default 20), how long a delegated IQ may wait for a
// plugin's answer before modhost answers it with an error; resync_delay
// (default 30), how long after a refused or unanswered roster write the
// user's whole roster is compared with the server's again.
func (rt *Runtime) linkSeconds(host, key string, def time.Duration) (time.Duration, error) {
	raw, _ := rt.cfg.Get(host, "component_client")
	opts, _ := raw.(map[string]any)
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	secs, ok := v.(float64)
	if !ok || secs <= 0 {
		return 0, fmt.Errorf("component_client of %s: %s must be a positive number of seconds", host, key)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// linkBridge joins one VirtualHost to its XMPP server through a component
// link: the server's presence becomes sessions, delegated roster IQs become
// the events Prosody fires for a client, and roster changes are written to
// the server and pushed to clients with XEP-0356 privileges. Its fields
// below link are owned by the loop goroutine.
type linkBridge struct {
	rt   *Runtime
	host string
	cfg  component.Config
	link *component.Link
	log  *slog.Logger

	privs     component.Privileges
	delegated map[string]bool
	sessions  map[string]*linkedSession // by full JID
	// serverRoster remembers, per user, the roster the server holds as
	// modhost last read or wrote it: a save writes only what differs, and
	// removes what is gone. A user missing here is unknown (after a
	// (re)connect, or never seen): the next save reads the server first.
	serverRoster map[string]map[string]component.RosterItem
	rosterReads  map[string]serverRosterResult
	// reconciling holds, per user whose server roster is being read, the
	// latest local roster to mirror once the read is in.
	reconciling map[string]*glua.LTable
	pushSeq     int
	// replyDeadline bounds a delegated IQ's answer: the server has no
	// timeout of its own, so a plugin that never answers would leave the
	// client waiting for ever.
	replyDeadline time.Duration
	writes        *writeQueue // roster sets, in order
	// unsynced holds users whose local roster may differ from the
	// server's because a change did not reach it (link down, write
	// refused or unanswered). Their whole roster is compared and written
	// again once the server has granted the roster privilege after a
	// (re)connect, and resyncDelay after a failure while the link is up:
	// a refresh counted as updated reaches the server without anyone
	// refreshing or logging in again.
	unsynced map[string]bool
	// queued counts, per user, the roster sets queued so far: a login's
	// read of the server's roster sent before the latest one was answered
	// before it landed, so it is not the server's roster any more.
	queued      map[string]int
	resyncDelay time.Duration
	resyncArmed bool
	refusals    *refusalLog
}

type linkedSession struct {
	ref     glua.LValue
	pending map[string]*component.DelegatedIQ // delegated IQs awaiting a reply, by id
}

func (rt *Runtime) startLinks(ctx context.Context) error {
	for _, h := range rt.cfg.Hosts {
		if !rt.cfg.HostEnabled(h.Name) {
			continue
		}
		cfg, ok, err := rt.linkConfig(h.Name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		deadline, err := rt.linkSeconds(h.Name, "delegation_timeout", 20*time.Second)
		if err != nil {
			return err
		}
		resync, err := rt.linkSeconds(h.Name, "resync_delay", 30*time.Second)
		if err != nil {
			return err
		}
		b := &linkBridge{rt: rt, replyDeadline: deadline, resyncDelay: resync, host: h.Name, cfg: cfg, log: rt.log.With("source", "link", "host", h.Name),
			delegated: map[string]bool{}, sessions: map[string]*linkedSession{},
			serverRoster: map[string]map[string]component.RosterItem{}, reconciling: map[string]*glua.LTable{},
			writes: newWriteQueue(), unsynced: map[string]bool{}, queued: map[string]int{}, refusals: &refusalLog{last: map[string]refusal{}}}
		cfg.DelegationFeatures = func(ns string, bare bool) []string {
			if bare {
				return nil
			}
			return []string{ns}
		}
		b.link = component.NewLink(cfg, b, rt.log.With("source", "link"))
		if err := rt.loop.Do(ctx, b.install); err != nil {
			return fmt.Errorf("link for %s: %w", h.Name, err)
		}
		rt.links = append(rt.links, b)
		linkCtx, cancel := context.WithCancel(context.Background())
		rt.linkCancel = append(rt.linkCancel, cancel)
		done := make(chan struct{})
		rt.linkDone = append(rt.linkDone, done)
		writerDone := make(chan struct{})
		rt.linkDone = append(rt.linkDone, writerDone)
		go func() {
			defer close(done)
			if err := b.link.Run(linkCtx); err != nil {
				b.log.Error("component link stopped", "error", err)
			}
		}()
		go func() {
			defer close(writerDone)
			b.writeRosters(linkCtx)
		}()
		b.log.Info("component link starting", "addr", cfg.Addr, "jid", cfg.JID)
	}
	return nil
}

// install hooks the host's roster saves so they are mirrored to the server.
func (b *linkBridge) install(L *glua.LState) error {
	mirror := L.NewFunction(func(L *glua.LState) int {
		event := L.CheckTable(1)
		b.mirrorRoster(L, event)
		return 0
	})
	_, err := lua.DoChunk(L, `local host, f = ...; hosts[host].events.add_handler("roster-saved", f, -10)`, "link", 0, glua.LString(b.host), mirror)
	return err
}

// Connected implements component.Handler: whatever was known of who is
// online belongs to the previous connection.
func (b *linkBridge) Connected(c *component.Conn) {
	b.rt.loop.Post(func(L *glua.LState) {
		b.dropSessions(L, "link reconnected")
	})
}

// Disconnected implements component.Handler.
func (b *linkBridge) Disconnected(err error) {
	b.rt.loop.Post(func(L *glua.LState) {
		b.dropSessions(L, "link down")
	})
}

// Stanza implements component.Handler.
func (b *linkBridge) Stanza(e *compat.Element) {
	b.rt.loop.Post(func(L *glua.LState) { b.dispatch(L, e) })
}

func attrOf(e *compat.Element, name string) string {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func bareOf(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// userOf splits user@host/resource of this bridge's host.
func (b *linkBridge) userOf(full string) (user, resource string, ok bool) {
	at := strings.IndexByte(full, '@')
	slash := strings.IndexByte(full, '/')
	if at <= 0 || slash < at || full[at+1:slash] != b.host || slash == len(full)-1 {
		return "", "", false
	}
	return full[:at], full[slash+1:], true
}

func (b *linkBridge) dispatch(L *glua.LState, e *compat.Element) {
	switch e.Name {
	case "message":
		if p, ok := component.ParsePrivileges(e); ok {
			b.privs = p
			b.logMode()
			b.resync(L, false)
			return
		}
		if nss, ok := component.ParseDelegations(e); ok {
			for _, ns := range nss {
				b.delegated[ns] = true
			}
			b.logMode()
			return
		}
	case "presence":
		b.presence(L, e)
		return
	case "iq":
		if d, ok := component.UnwrapDelegated(e); ok {
			b.delegatedIQ(L, d)
			return
		}
	}
	b.log.Debug("stanza from the server not handled", "name", e.Name, "from", attrOf(e, "from"))
}

// logMode says at connect which roster mode the server's grants give, and
// what is missing, naming the server-side config that grants it.
func (b *linkBridge) logMode() {
	mode := "server-held"
	if b.delegated[component.NSRoster] {
		mode = "delegated"
	}
	b.log.Info("roster mode", "mode", mode, "roster", b.privs.Roster, "presence", b.privs.Presence,
		"iq_roster", b.privs.IQ[component.NSRoster], "delegations", len(b.delegated))
	if b.privs.Server == "" {
		return
	}
	if !b.privs.SeesPresence() {
		b.log.Error(`no presence permission: modhost cannot see who is online; on the server, set privileged_entities = { ["` + b.cfg.JID + `"] = { presence = "managed_entity" } } (see: modhost prosody-snippet)`)
	}
	if !b.privs.CanSetRoster() {
		b.log.Error(`no roster write permission: roster changes cannot reach the server; set roster = "both" in privileged_entities for ` + b.cfg.JID)
	}
	if mode == "delegated" && !b.privs.CanSendIQ(component.NSRoster, "set") {
		b.log.Error(`delegated roster without iq permission: clients will not see roster pushes; set iq = { ["jabber:iq:roster"] = "both" } in privileged_entities for ` + b.cfg.JID)
	}
}

func (b *linkBridge) sessionsAPI(L *glua.LState) *glua.LTable {
	api, err := b.rt.sessionsAPI(L)
	if err != nil {
		b.log.Error("sessions", "error", err)
		return nil
	}
	return api
}

// session returns the linked session of full, creating (logging in) it on
// first sight: a client's first delegated roster query usually arrives
// before its presence.
func (b *linkBridge) session(L *glua.LState, full string) *linkedSession {
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
	s := &linkedSession{pending: map[string]*component.DelegatedIQ{}}
	b.sessions[full] = s
	send := L.NewFunction(func(L *glua.LState) int {
		if st, ok := L.Get(1).(*glua.LTable); ok {
			b.sessionSend(L, s, full, st)
		}
		return 0
	})
	done := L.NewFunction(func(L *glua.LState) int {
		if L.Get(1) == glua.LNil {
			b.log.Warn("session not created", "jid", full, "reason", L.OptString(2, ""))
			delete(b.sessions, full)
		}
		return 0
	})
	var beforeBind glua.LValue = glua.LNil
	online := L.GetField(L.GetField(L.GetField(L.GetGlobal("hosts"), b.host), "sessions"), user) != glua.LNil
	if b.privs.CanGetRoster() && !online {
		// Only a user's first resource starts from the server's roster: the
		// others share the roster already loaded, which the store must not
		// be rewritten under.
		beforeBind = b.serverRosterStep(L)
	}
	rets, err := lua.Call(L, L.GetField(api, "login"), 0, glua.LString(b.host), glua.LString(user), glua.LString(resource), send, done, beforeBind)
	_ = rets
	if err != nil {
		b.log.Error("session login", "jid", full, "error", lua.ErrorMessage(err))
		delete(b.sessions, full)
		return nil
	}
	h := L.GetField(L.GetField(L.GetGlobal("hosts"), b.host), "sessions")
	s.ref = L.GetField(L.GetField(L.GetField(h, user), "sessions"), resource)
	return s
}

// serverRosterStep is the before_bind step of a linked login: it reads the
// user's roster from the server (privileged get) so that modhost starts from
// what the server holds. The waiting happens in Lua (a Go function cannot
// yield): start begins the read and calls done when it ends; finish stores
// what was read. A failure leaves the local store as it is.
const serverRosterStep = `
local start, finish = ...
return function (session)
	local async = require "util.async"
	if not async.ready() then return end
	local wait, done = async.waiter()
	start(session.username, done)
	wait()
	finish(session.username)
end`

type serverRosterResult struct {
	items []component.RosterItem
	err   error
	since int // the user's queued writes when the read was sent
}

func (b *linkBridge) serverRosterStep(L *glua.LState) glua.LValue {
	if b.rosterReads == nil {
		b.rosterReads = map[string]serverRosterResult{}
	}
	start := L.NewFunction(func(L *glua.LState) int {
		user := L.CheckString(1)
		done := L.CheckFunction(2)
		since := b.queued[user]
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reply, err := b.link.SendIQ(ctx, component.RosterGet(b.cfg.JID, user+"@"+b.host))
			if err == nil && attrOf(reply, "type") == "error" {
				err = component.ParseStanzaError(reply)
			}
			res := serverRosterResult{since: since}
			if err != nil {
				res.err = err
			} else {
				res.items = component.ParseRoster(reply)
			}
			b.rt.loop.Post(func(L *glua.LState) {
				b.rosterReads[user] = res
				b.rt.loop.CallLogged(L, "server roster read", done, 0)
			})
		}()
		return 0
	})
	finish := L.NewFunction(func(L *glua.LState) int {
		user := L.CheckString(1)
		res, ok := b.rosterReads[user]
		delete(b.rosterReads, user)
		if !ok {
			return 0
		}
		if res.err != nil {
			b.logReadFailure("server roster not read at login; starting from the local one", user, res.err)
			return 0
		}
		if b.queued[user] != res.since {
			// Writes of this user (a refresh racing the login) were queued
			// after the read went out: the local roster and what modhost
			// knows of the server's are newer than the read.
			b.log.Debug("server roster read at login overtaken by writes; keeping the local one", "user", user)
			return 0
		}
		if b.unsynced[user] {
			// The local roster is newer than the server's (a change never
			// reached it): keep it, and write the difference.
			if local := b.localRosterOf(L, user); local != nil {
				delete(b.unsynced, user)
				server := map[string]component.RosterItem{}
				for _, it := range res.items {
					server[it.JID] = it
				}
				b.writeDifferences(user, localRoster(local), server, true, nil)
				return 0
			}
		}
		b.storeServerRoster(L, user, res.items)
		return 0
	})
	rets, err := lua.DoChunk(L, serverRosterStep, "host/link.go", 1, start, finish)
	if err != nil {
		b.log.Error("server roster step", "error", err)
		return glua.LNil
	}
	return rets[0]
}

// logReadFailure reports a failed privileged roster read: a link that
// dropped (or a runtime stopping) is routine, anything else is not, and is
// logged once per user and cause.
func (b *linkBridge) logReadFailure(msg, user string, err error) {
	if errors.Is(err, component.ErrNotConnected) {
		b.log.Debug(msg, "user", user, "error", err)
		return
	}
	if b.refusals.first(user, "read", causeOf(err)) {
		b.log.Warn(msg, "user", user, "condition", causeOf(err), "error", err)
	}
}

// causeOf names why a privileged request failed, for an operator: the
// server's error condition (internal-server-error, forbidden, …), or that
// no answer came.
func causeOf(err error) string {
	var refused *component.StanzaError
	switch {
	case errors.As(err, &refused):
		return refused.Condition
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

// refusalLog keeps a server that refuses every privileged roster request
// from being logged once per item and retry: each user's failure is logged
// once per cause, and its end once, when the kind of request that failed
// (read or write) goes through again.
type refusalLog struct {
	mu   sync.Mutex
	last map[string]refusal // by user: the failure last logged
}

type refusal struct{ kind, cause string }

func (r *refusalLog) first(user, kind, cause string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last[user].cause == cause {
		return false
	}
	r.last[user] = refusal{kind, cause}
	return true
}

// recovered says whether user's logged failure was of this kind, and then
// forgets it.
func (r *refusalLog) recovered(user, kind string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last[user].kind != kind {
		return false
	}
	delete(r.last, user)
	return true
}

// storeServerRoster writes the server's roster of user into the local store,
// so rostermanager.load_roster (next in the login) starts from it.
func (b *linkBridge) storeServerRoster(L *glua.LState, user string, items []component.RosterItem) {
	known := map[string]component.RosterItem{}
	roster := L.CreateTable(0, len(items)+1) // NewTable reserves 32+32 slots
	for _, it := range items {
		known[it.JID] = it
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
	b.serverRoster[user] = known
	if _, err := lua.DoChunk(L, `local host, user, roster = ...
		local store = require "core.storagemanager".open(host, "roster", "keyval")
		local old = store:get(user)
		roster[false] = old and old[false] or { version = 1, pending = {} }
		store:set(user, roster)`, "host/link.go", 0, glua.LString(b.host), glua.LString(user), roster); err != nil {
		b.log.Warn("storing the server's roster", "user", user, "error", lua.ErrorMessage(err))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (b *linkBridge) presence(L *glua.LState, e *compat.Element) {
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
func isDelayed(e *compat.Element) bool {
	for _, n := range e.Children {
		if c, ok := n.(*compat.Element); ok && c.Name == "delay" && c.NS == "urn:xmpp:delay" {
			return true
		}
	}
	return false
}

func (b *linkBridge) incoming(L *glua.LState, s *linkedSession, e *compat.Element) {
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

func (b *linkBridge) delegatedIQ(L *glua.LState, d *component.DelegatedIQ) {
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
	b.rt.loop.After(b.replyDeadline, func(L *glua.LState) {
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

func (b *linkBridge) replyDelegated(d *component.DelegatedIQ, answer *compat.Element) {
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

// sessionSend is session.send for a linked session: replies to delegated
// IQs are wrapped back, roster pushes go as privileged IQs from the user's
// bare JID, and anything else the server would refuse is dropped (a
// component cannot send as a user).
func (b *linkBridge) sessionSend(L *glua.LState, s *linkedSession, full string, st *glua.LTable) {
	e, err := compat.StanzaToElement(L, st)
	if err != nil {
		b.log.Warn("stanza for a client not usable", "error", err)
		return
	}
	typ := attrOf(e, "type")
	if e.Name == "iq" && (typ == "result" || typ == "error") {
		if d, ok := s.pending[attrOf(e, "id")]; ok {
			delete(s.pending, attrOf(e, "id"))
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

func isRosterPush(e *compat.Element) bool {
	for _, n := range e.Children {
		if c, ok := n.(*compat.Element); ok && c.Name == "query" && c.NS == component.NSRoster {
			return true
		}
	}
	return false
}

// sendPush sends a privileged roster push. The server answers it with the
// client's acknowledgement, which only comes if the client addressed its ack
// to its bare JID (mod_privilege matches on that; RFC 6121 lets a client
// omit it): a push left unanswered is normal, a refusal is not.
func (b *linkBridge) sendPush(iq *compat.Element, full string) {
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

// mirrorRoster writes a saved roster change into the server's roster with
// privileged sets, one item per IQ, so the server routes presence by it
// (and, in server-held mode, pushes it to its clients). Only what differs
// from the server's roster as last known is written; when that is unknown
// it is read first.
func (b *linkBridge) mirrorRoster(L *glua.LState, event *glua.LTable) {
	user := glua.LVAsString(L.GetField(event, "username"))
	roster, ok := L.GetField(event, "roster").(*glua.LTable)
	if !ok || user == "" {
		return
	}
	if b.link.State() != component.Online || b.privs.Server == "" {
		// Nothing can be written now: the whole roster is compared when
		// the server is back and has said what it grants.
		b.unsynced[user] = true
		return
	}
	if !b.privs.CanSetRoster() {
		return // said at connect
	}
	server, known := b.serverRoster[user]
	if !known && b.privs.CanGetRoster() {
		// A user not seen on this connection (offline, or modhost just
		// (re)connected): the local roster may have been rebuilt from
		// nothing, so only a whole comparison with the server's removes
		// what the server still holds.
		b.reconcile(user, roster)
		return
	}
	var jids []string
	if jid, ok := L.GetField(event, "jid").(glua.LString); ok {
		jids = []string{string(jid)}
	}
	b.writeDifferences(user, localRoster(roster), server, known, jids)
}

// writeDifferences queues the sets that make the server's roster of user
// hold local, for the given jids (all when nil), and remembers the result.
// known says whether server is the server's roster: if not, removals are
// written blindly.
func (b *linkBridge) writeDifferences(user string, local, server map[string]component.RosterItem, known bool, jids []string) {
	if server == nil {
		server = map[string]component.RosterItem{}
	}
	if jids == nil {
		for jid := range local {
			jids = append(jids, jid)
		}
		for jid := range server {
			if _, ok := local[jid]; !ok {
				jids = append(jids, jid)
			}
		}
		sort.Strings(jids)
	}
	for _, jid := range jids {
		want, keep := local[jid]
		have, held := server[jid]
		var it component.RosterItem
		switch {
		case keep && held && sameItem(want, have):
			continue
		case keep:
			it = want
			server[jid] = want
		case held || !known:
			it = component.RosterItem{JID: jid, Subscription: "remove"}
			delete(server, jid)
		default:
			continue
		}
		b.log.Debug("mirroring a roster change to the server", "user", user, "contact", jid, "subscription", it.Subscription)
		b.queued[user]++
		b.writes.push(component.RosterSet(b.cfg.JID, user+"@"+b.host, it))
	}
	b.serverRoster[user] = server
}

// reconcile reads user's roster from the server, then writes whatever the
// local roster (as it is by then) differs in.
func (b *linkBridge) reconcile(user string, roster *glua.LTable) {
	if _, reading := b.reconciling[user]; reading {
		b.reconciling[user] = roster
		return
	}
	b.reconciling[user] = roster
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reply, err := b.link.SendIQ(ctx, component.RosterGet(b.cfg.JID, user+"@"+b.host))
		if err == nil && attrOf(reply, "type") == "error" {
			err = component.ParseStanzaError(reply)
		}
		b.rt.loop.Post(func(L *glua.LState) {
			roster, ok := b.reconciling[user]
			delete(b.reconciling, user)
			if !ok {
				return // the link went down meanwhile: nothing is known
			}
			if errors.Is(err, component.ErrNotConnected) {
				b.log.Debug("server roster not read: link down; compared again when it is back", "user", user, "error", err)
				b.markUnsynced(user)
				return
			}
			if err != nil {
				b.logReadFailure("the server's roster of a user could not be read; its local items are written without removals and the comparison is retried", user, err)
				b.writeDifferences(user, localRoster(roster), nil, false, nil)
				b.markUnsynced(user)
				return
			}
			if b.refusals.recovered(user, "read") {
				b.log.Info("the server answers roster reads for this user again", "user", user)
			}
			server := map[string]component.RosterItem{}
			for _, it := range component.ParseRoster(reply) {
				server[it.JID] = it
			}
			b.writeDifferences(user, localRoster(roster), server, true, nil)
		})
	}()
}

// markUnsynced notes that user's server roster may differ from the local
// one. While the link is up a resync is scheduled; while it is down, the
// next connect's privilege advertisement starts it.
func (b *linkBridge) markUnsynced(user string) {
	b.unsynced[user] = true
	delete(b.serverRoster, user)
	if b.resyncArmed || b.link.State() != component.Online {
		return
	}
	b.resyncArmed = true
	b.rt.loop.After(b.resyncDelay, func(L *glua.LState) {
		b.resyncArmed = false
		if b.link.State() == component.Online {
			b.resync(L, true)
		}
	})
}

// resync compares every unsynced user's local roster with the server's and
// writes the difference. A failure marks the user again. Retries after a
// refusal are logged at debug: the refusal itself was logged once.
func (b *linkBridge) resync(L *glua.LState, retry bool) {
	if !b.privs.CanSetRoster() || len(b.unsynced) == 0 {
		return
	}
	users := make([]string, 0, len(b.unsynced))
	for user := range b.unsynced {
		users = append(users, user)
	}
	sort.Strings(users)
	level := slog.LevelInfo
	if retry {
		level = slog.LevelDebug
	}
	b.log.Log(context.Background(), level, "writing rosters that did not reach the server", "users", len(users))
	for _, user := range users {
		delete(b.unsynced, user)
		roster := b.localRosterOf(L, user)
		if roster == nil {
			continue
		}
		if b.privs.CanGetRoster() {
			b.reconcile(user, roster)
			continue
		}
		b.writeDifferences(user, localRoster(roster), nil, false, nil)
		delete(b.serverRoster, user)
	}
}

// localRosterOf reads user's roster from the host's roster store; nil if
// there is none (or it cannot be read, which is logged).
func (b *linkBridge) localRosterOf(L *glua.LState, user string) *glua.LTable {
	rets, err := lua.DoChunk(L, `local host, user = ...
		return require "core.storagemanager".open(host, "roster", "keyval"):get(user)`, "host/link.go", 1, glua.LString(b.host), glua.LString(user))
	if err != nil {
		b.log.Error("reading a local roster to write it to the server", "user", user, "error", lua.ErrorMessage(err))
		return nil
	}
	roster, _ := rets[0].(*glua.LTable)
	return roster
}

// localRoster reads a Prosody roster table (contacts by JID; roster[false]
// is metadata) into roster items.
func localRoster(roster *glua.LTable) map[string]component.RosterItem {
	out := map[string]component.RosterItem{}
	roster.ForEach(func(k, v glua.LValue) {
		jid, ok := k.(glua.LString)
		item, isItem := v.(*glua.LTable)
		if !ok || !isItem || jid == "pending" {
			return
		}
		it := component.RosterItem{JID: string(jid),
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
		out[string(jid)] = it
	})
	return out
}

// sameItem compares what a privileged set writes: name, subscription and
// groups (ask is the server's own state).
func sameItem(a, b component.RosterItem) bool {
	if a.Name != b.Name || orDefault(a.Subscription, "none") != orDefault(b.Subscription, "none") || len(a.Groups) != len(b.Groups) {
		return false
	}
	ga, gb := append([]string{}, a.Groups...), append([]string{}, b.Groups...)
	sort.Strings(ga)
	sort.Strings(gb)
	for i := range ga {
		if ga[i] != gb[i] {
			return false
		}
	}
	return true
}

// writeQueue holds privileged roster sets in the order they were made: the
// server applies them in stream order, so a rename followed by a removal
// never lands the other way round. It never blocks the loop.
type writeQueue struct {
	mu      sync.Mutex
	pending []*compat.Element
	wake    chan struct{}
}

func newWriteQueue() *writeQueue { return &writeQueue{wake: make(chan struct{}, 1)} }

func (q *writeQueue) push(iq *compat.Element) {
	q.mu.Lock()
	q.pending = append(q.pending, iq)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *writeQueue) take() []*compat.Element {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

func isRemoval(iq *compat.Element) bool {
	items := component.ParseRoster(iq)
	return len(items) == 1 && items[0].Subscription == "remove"
}

// writeRosters sends the queued roster sets one at a time, each after the
// previous one's answer, until ctx ends. A failed write is not retried as
// such: its user is marked unsynced, and the whole roster compared and
// written again later (see linkBridge.unsynced).
func (b *linkBridge) writeRosters(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.writes.wake:
		}
		for _, iq := range b.writes.take() {
			wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			reply, err := b.link.SendIQ(wctx, iq)
			cancel()
			var refused *component.StanzaError
			if err == nil && attrOf(reply, "type") == "error" {
				err = component.ParseStanzaError(reply)
			}
			user, _, _ := strings.Cut(attrOf(iq, "to"), "@")
			switch {
			case err == nil:
				if b.refusals.recovered(user, "write") {
					b.log.Info("the server accepts roster writes for this user again", "user", user)
				}
				continue
			case ctx.Err() != nil:
				return
			case isRemoval(iq) && errors.As(err, &refused) && refused.Condition == "item-not-found":
				// A blind removal (the server's roster was unknown): already gone.
				continue
			case errors.Is(err, component.ErrNotConnected):
				b.log.Debug("roster write lost to a link drop; the roster is written again when the link is back", "user", user, "error", err)
			default:
				if b.refusals.first(user, "write", causeOf(err)) {
					b.log.Warn("a roster write did not reach the server's roster; the user's whole roster is compared and written again later",
						"user", user, "condition", causeOf(err), "retry_in", b.resyncDelay, "error", err)
				}
			}
			b.rt.loop.Post(func(*glua.LState) { b.markUnsynced(user) })
		}
	}
}

func (b *linkBridge) logout(L *glua.LState, full string, s *linkedSession, reason string) {
	delete(b.sessions, full)
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
func (b *linkBridge) dropSessions(L *glua.LState, reason string) {
	for full, s := range b.sessions {
		b.logout(L, full, s, reason)
	}
	for user := range b.reconciling {
		b.unsynced[user] = true // its read died with the connection
	}
	b.serverRoster = map[string]map[string]component.RosterItem{}
	b.reconciling = map[string]*glua.LTable{}
}

// stopLinks closes every link and waits for its goroutine.
func (rt *Runtime) stopLinks(ctx context.Context) {
	for _, cancel := range rt.linkCancel {
		cancel()
	}
	for _, done := range rt.linkDone {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}

// LinkStates reports each linked host's link state (for metrics, tests).
func (rt *Runtime) LinkStates() map[string]string {
	out := map[string]string{}
	for _, b := range rt.links {
		out[b.host] = b.link.State().String()
	}
	return out
}

func xmlAttr(name, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: name}, Value: value}
}

// onlyVirtualHost reports whether host is the config's one enabled
// VirtualHost and no host has a component_client option of its own.
func (rt *Runtime) onlyVirtualHost(host string) bool {
	n := 0
	for _, h := range rt.cfg.Hosts {
		if h.Kind != config.VirtualHost || !rt.cfg.HostEnabled(h.Name) {
			continue
		}
		if _, has := h.Options["component_client"]; has {
			return false
		}
		n++
	}
	return n == 1 && rt.cfg.Host(host) != nil && rt.cfg.Host(host).Kind == config.VirtualHost
}

// luaLinkSend is native.link_send(host, stanza): a stanza a plugin sends
// (module:send and the like) on a linked host leaves through the link if the
// server can accept it from a component: from the component's own domain
// (or a subdomain) as it is, a message from a local user wrapped with the
// message privilege (XEP-0356 §4.3). Anything else — presence on a user's
// behalf above all — would end the stream with invalid-from, so it is
// dropped and logged at debug. Returns false when the host has no link.
func (rt *Runtime) luaLinkSend(L *glua.LState) int {
	host := L.CheckString(1)
	st := L.CheckTable(2)
	for _, b := range rt.links {
		if b.host == host {
			b.routeOut(L, st)
			L.Push(glua.LTrue)
			return 1
		}
	}
	L.Push(glua.LFalse)
	return 1
}

func (b *linkBridge) routeOut(L *glua.LState, st *glua.LTable) {
	e, err := compat.StanzaToElement(L, st)
	if err != nil {
		b.log.Warn("stanza from a plugin not usable", "error", err)
		return
	}
	from := attrOf(e, "from")
	if from == "" {
		from = b.cfg.JID
		e.Attr = append(e.Attr, xmlAttr("from", from))
	}
	domain := component.DomainOf(from)
	switch {
	case domain == b.cfg.JID || strings.HasSuffix(domain, "."+b.cfg.JID):
		if err := b.link.Send(e); err != nil {
			b.log.Debug("stanza not sent", "error", err)
		}
		return
	case e.Name == "message" && domain == b.host && strings.Contains(from, "@") && b.privs.Message == component.AccessOutgoing:
		for i, a := range e.Attr {
			if a.Name.Space == "" && a.Name.Local == "from" {
				e.Attr[i].Value = bareOf(from)
			}
		}
		wrapped, err := component.PrivilegedMessage(b.privs.NS, b.cfg.JID, e)
		if err == nil {
			err = b.link.Send(wrapped)
		}
		if err != nil {
			b.log.Debug("message on behalf of a user not sent", "from", from, "error", err)
		}
		return
	}
	b.log.Debug("stanza dropped: a component cannot send it on the server's behalf", "name", e.Name, "from", from, "to", attrOf(e, "to"))
}
