package link

import (
	"encoding/xml"
	"log/slog"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
)

// bridge joins one VirtualHost to its XMPP server through a component
// link: the server's presence becomes sessions, delegated roster IQs become
// the events Prosody fires for a client, and roster changes are written to
// the server and pushed to clients with XEP-0356 privileges. Its fields
// below link are owned by the loop goroutine.
type bridge struct {
	rt   Runtime
	host string
	cfg  component.Config
	link *component.Client
	log  *slog.Logger

	privs     component.Privileges
	delegated map[string]bool
	sessions  map[string]*linkedSession // by full JID
	resources map[string]int            // sessions per user (addSession)
	// serverRoster remembers, per user, the roster the server holds as
	// modhost last read or wrote it, packed (server_roster.go): a save
	// writes only what differs, and removes what is gone. A user missing
	// here is unknown (after a (re)connect, or never seen): the next save
	// reads the server first.
	serverRoster map[string]serverRoster
	// lastMirror is the packed roster last remembered as a user's server
	// roster (serverRoster.mirror), parsed: the push of that commit, next,
	// is compared with it without parsing it again.
	lastMirror *roster.Packed
	// lastWrite is, per user, the queue count (writeQueue.queued) of the
	// last set queued for that user's server roster that a delegated
	// roster result waits for (presenceWaits, writesPending), while it may
	// be unanswered.
	lastWrite map[string]int
	// scratch is where an item's packed body is written to compare it
	// with the server's, writeBuf and laterBuf where a save's writes are
	// packed (writeDifferences): those a delegated result waits for, and
	// the others.
	scratch, writeBuf, laterBuf []byte
	rosterReads                 map[string]serverRosterResult
	// reconciling holds, per user whose server roster is being read, the
	// latest local roster to mirror once the read is in.
	reconciling map[string]func() map[string]component.RosterItem
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
	// roster is how rosters reach the server: privileged IQs, or
	// ejabberd's admin API (api, set with the host's ejabberd_api).
	roster     rosterWriter
	privileged *privilegedWriter
	api        *ejabberdapi.Client
	// sessionsInterval is how often sessions are checked against the
	// server's own list (api only; sessions_check.go).
	sessionsInterval time.Duration
	sessionsKick     chan struct{}
	// sessionSeq counts sessions begun and ended; each session holds the
	// count at its start (born) and endedAt the count at each end since the
	// last check, so a check applies only what its read saw last.
	sessionSeq int
	endedAt    map[string]int
	// shared: other instances write these rosters too (shared_roster.go);
	// forgotten counts, per user, the refreshes that forgot what was known.
	shared    bool
	forgotten map[string]int
}

type linkedSession struct {
	born    int // bridge.sessionSeq at its start
	ref     glua.LValue
	pending map[string]*component.DelegatedIQ // delegated IQs awaiting a reply, by id
}

func newBridge(rt Runtime, host string, s settings, log *slog.Logger) *bridge {
	b := &bridge{rt: rt, host: host, cfg: s.component, replyDeadline: s.replyDeadline, resyncDelay: s.resyncDelay,
		log:       log.With("source", "link", "host", host),
		delegated: map[string]bool{}, sessions: map[string]*linkedSession{}, resources: map[string]int{},
		serverRoster: map[string]serverRoster{}, lastWrite: map[string]int{}, reconciling: map[string]func() map[string]component.RosterItem{},
		endedAt: map[string]int{}, forgotten: map[string]int{}, writes: newWriteQueue(), unsynced: map[string]bool{}, queued: map[string]int{}, refusals: &refusalLog{last: map[string]refusal{}}}
	b.cfg.DelegationFeatures = func(ns string, bare bool) []string {
		if bare {
			return nil
		}
		return []string{ns}
	}
	b.link = component.NewClient(b.cfg, b, log.With("source", "link"))
	b.privileged = &privilegedWriter{b: b}
	b.roster = b.privileged
	if s.api != nil {
		// Checked by readSettings: New cannot fail here.
		b.api, _ = ejabberdapi.New(*s.api)
		b.roster = &apiWriter{api: b.api, host: host, log: b.log}
		b.sessionsInterval = s.sessionsInterval
		b.sessionsKick = make(chan struct{}, 1)
		b.shared = s.shared
	}
	return b
}

// install hooks the host's roster saves so they are mirrored to the server.
func (b *bridge) install(L *glua.LState) error {
	if b.shared {
		if err := b.rt.HookHost(L, b.host, "roster-admin/fetched", -1000, b.forgetRoster); err != nil {
			return err
		}
	}
	return b.rt.HookHost(L, b.host, "roster-saved", -10, b.mirrorRoster)
}

// Connected implements component.Handler: whatever was known of who is
// online belongs to the previous connection.
func (b *bridge) Connected(c *component.Conn) {
	b.rt.Loop().Post(func(L *glua.LState) {
		b.dropSessions(L, "link reconnected")
	})
	b.kickSessionsCheck()
}

// Disconnected implements component.Handler.
func (b *bridge) Disconnected(err error) {
	b.rt.Loop().Post(func(L *glua.LState) {
		b.dropSessions(L, "link down")
	})
}

// Stanza implements component.Handler.
func (b *bridge) Stanza(e *xmpp.Element) {
	b.rt.Loop().Post(func(L *glua.LState) { b.dispatch(L, e) })
}

func (b *bridge) dispatch(L *glua.LState, e *xmpp.Element) {
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
			if attrOf(d.IQ, "from") == b.cfg.JID {
				// Our own privileged roster request, delegated back.
				b.privileged.delegatedBack(d.IQ)
				b.replyDelegated(d, component.ErrorReply(d.IQ, "cancel", "service-unavailable", "a component's own privileged request"))
				return
			}
			b.delegatedIQ(L, d)
			return
		}
	}
	b.log.Debug("stanza from the server not handled", "name", e.Name, "from", attrOf(e, "from"))
}

// logMode says at connect which roster mode the server's grants give, and
// what is missing, naming the server-side config that grants it in the
// server's own syntax: Prosody's Lua, or ejabberd's YAML (a server speaking
// urn:xmpp:privilege:1 is taken for ejabberd).
func (b *bridge) logMode() {
	mode := "server-held"
	if b.delegated[component.NSRoster] {
		mode = "delegated"
	}
	b.log.Info("roster mode", "mode", mode, "writer", b.roster.name(), "roster", b.privs.Roster, "presence", b.privs.Presence,
		"iq_roster", b.privs.IQ[component.NSRoster], "delegations", len(b.delegated))
	if b.privs.Server == "" {
		return
	}
	ejabberd := b.privs.NS == component.NSPrivilege1
	if !b.privs.SeesPresence() {
		if ejabberd {
			b.log.Error(`no presence permission: modhost cannot see who is online; in ejabberd.yml, modules: mod_privilege: presence: managed_entity: modhost (an access rule allowing acl modhost: server: "` + b.cfg.JID + `"; see: modhost prosody-snippet --server ejabberd)`)
		} else {
			b.log.Error(`no presence permission: modhost cannot see who is online; on the server, set privileged_entities = { ["` + b.cfg.JID + `"] = { presence = "managed_entity" } } (see: modhost prosody-snippet)`)
		}
	}
	if b.api == nil && !b.privs.CanSetRoster() {
		if ejabberd {
			b.log.Error(`no roster write permission: roster changes cannot reach the server; on ejabberd 23.01 privileged roster sets fail anyway: give the VirtualHost ejabberd_api = { url = "http://127.0.0.1:5281/api" } (see: modhost prosody-snippet --server ejabberd)`)
		} else {
			b.log.Error(`no roster write permission: roster changes cannot reach the server; set roster = "both" in privileged_entities for ` + b.cfg.JID)
		}
	}
	if mode == "delegated" && !b.privs.CanSendIQ(component.NSRoster, "set") {
		if ejabberd {
			b.log.Error(`delegated roster on an ejabberd (urn:xmpp:privilege:1 has no iq permission): clients will not see roster pushes, and 23.01 delegates modhost's own roster requests back; remove jabber:iq:roster from mod_delegation's namespaces in ejabberd.yml and use ejabberd_api (server-held mode)`)
		} else {
			b.log.Error(`delegated roster without iq permission: clients will not see roster pushes; set iq = { ["jabber:iq:roster"] = "both" } in privileged_entities for ` + b.cfg.JID)
		}
	}
}

func attrOf(e *xmpp.Element, name string) string {
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
func (b *bridge) userOf(full string) (user, resource string, ok bool) {
	at := strings.IndexByte(full, '@')
	slash := strings.IndexByte(full, '/')
	if at <= 0 || slash < at || full[at+1:slash] != b.host || slash == len(full)-1 {
		return "", "", false
	}
	return full[:at], full[slash+1:], true
}

func xmlAttr(name, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: name}, Value: value}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
