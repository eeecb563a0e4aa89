// Package link joins a modhost runtime's VirtualHosts to their XMPP server
// through a component connection (host/xmpp/component): the server's
// presence becomes sessions, delegated roster IQs (XEP-0355) become the
// events Prosody fires for a client, and roster changes are written to the
// server and pushed to clients with XEP-0356 privileges. The README's "The
// XMPP link" and host/link/README.md describe what it does per server.
//
// The package reaches the runtime only through the Runtime interface (the
// loop, sessions, host events and the roster store); the runtime hands
// itself in when it starts the links. Files: config.go (component_client),
// bridge.go (one host's link and what arrives on it), sessions.go (sessions
// and delegated IQs), login_roster.go (the server's roster at login),
// mirror.go (roster saves written to the server), server_roster.go (the
// server's roster of each user as last read or written, packed, or the
// committed packed roster itself, to diff saves against), resync.go (what
// did not reach the server), writer.go (the ordered write queue), roster_writer.go
// (the rosterWriter interface and its XEP-0356 implementation),
// ejabberd_writer.go (the ejabberd admin API one, for ejabberd_api),
// route.go (stanzas plugins send).
package link

import (
	"context"
	"fmt"
	"log/slog"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
)

// Runtime is what a link needs of the runtime it serves. Every method but
// Loop runs on the loop goroutine, with that loop's Lua state.
type Runtime interface {
	// Loop is the Lua loop that owns every plugin's state.
	Loop() *lua.Loop
	// Sessions is the sessions API (host/sessions.lua): login, incoming,
	// logout.
	Sessions(L *glua.LState) (*glua.LTable, error)
	// UserOnline reports whether user has a session on host; Session
	// returns the Lua session table of user@host/resource (nil if none).
	UserOnline(L *glua.LState, host, user string) bool
	Session(L *glua.LState, host, user, resource string) glua.LValue
	// HookHost adds fn as a handler of a host's event at priority, as
	// module:hook would.
	HookHost(L *glua.LState, host, event string, priority int, fn func(L *glua.LState, event *glua.LTable)) error
	// Roster reads user's stored roster (nil when there is none);
	// SetRoster stores one (core.storagemanager's "roster" keyval store).
	Roster(L *glua.LState, host, user string) (*glua.LTable, error)
	SetRoster(L *glua.LState, host, user string, roster *glua.LTable) error
	// OnlineRoster is the roster of an online user as it is now, whether
	// Go holds it packed or Lua has made it a table (nil if the user has
	// none loaded): a table to read, not to change.
	OnlineRoster(L *glua.LState, host, user string) (*glua.LTable, error)
	// LoginStep returns a login step (a function(session) for the sessions
	// API's before_bind) that calls start with the username and a done to
	// call on the loop when its work is over; the login waits for done (in
	// Lua: Go cannot yield), then finish runs.
	LoginStep(L *glua.LState, start func(user string, done func(L *glua.LState)), finish func(L *glua.LState, user string)) (glua.LValue, error)
}

// Set is the links of one runtime, one per linked VirtualHost.
type Set struct {
	bridges []*bridge
	cancel  context.CancelFunc
	done    []chan struct{}
}

// Start reads every enabled host's component_client option and starts a
// link for each host that has one. A Set with no links is returned when no
// host is linked.
func Start(ctx context.Context, rt Runtime, cfg *config.Config, over Options, log *slog.Logger) (*Set, error) {
	runCtx, cancel := context.WithCancel(context.Background())
	set := &Set{cancel: cancel}
	for _, h := range cfg.Hosts {
		if !cfg.HostEnabled(h.Name) {
			continue
		}
		s, ok, err := readSettings(cfg, h.Name, over)
		if err != nil {
			set.Stop(ctx)
			return nil, err
		}
		if !ok {
			continue
		}
		b := newBridge(rt, h.Name, s, log)
		if err := rt.Loop().Do(ctx, b.install); err != nil {
			set.Stop(ctx)
			return nil, fmt.Errorf("link for %s: %w", h.Name, err)
		}
		set.bridges = append(set.bridges, b)
		done, writerDone := make(chan struct{}), make(chan struct{})
		set.done = append(set.done, done, writerDone)
		go func() {
			defer close(done)
			if err := b.link.Run(runCtx); err != nil {
				b.log.Error("component link stopped", "error", err)
			}
		}()
		go func() {
			defer close(writerDone)
			b.writeRosters(runCtx)
		}()
		if b.api != nil {
			checkDone := make(chan struct{})
			set.done = append(set.done, checkDone)
			go func() {
				defer close(checkDone)
				b.checkSessions(runCtx)
			}()
		}
		b.log.Info("component link starting", "addr", s.component.Addr, "jid", s.component.JID, "roster_writer", b.roster.name())
	}
	return set, nil
}

// Stop closes every link and waits for its goroutines, or for ctx.
func (set *Set) Stop(ctx context.Context) {
	if set == nil {
		return
	}
	set.cancel()
	for _, done := range set.done {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
	for _, b := range set.bridges {
		if b.api != nil {
			b.api.Close()
		}
	}
}

// States reports each linked host's link state (for metrics, tests).
func (set *Set) States() map[string]string {
	out := map[string]string{}
	if set == nil {
		return out
	}
	for _, b := range set.bridges {
		out[b.host] = b.link.State().String()
	}
	return out
}

// PendingWrites reports, for each linked host, how many roster writes to
// the server are queued or waiting for the server's answer: 0 once the
// server holds every roster as modhost last wrote it.
func (set *Set) PendingWrites() map[string]int64 {
	out := map[string]int64{}
	if set == nil {
		return out
	}
	for _, b := range set.bridges {
		out[b.host] = b.writes.unanswered.Load()
	}
	return out
}

// Send routes a stanza a plugin sends (module:send and the like) on a
// linked host through its link, if the server can accept it from a
// component: from the component's own domain (or a subdomain) as it is, a
// message from a local user wrapped with the message privilege (XEP-0356
// §4.3). Anything else — presence on a user's behalf above all — would end
// the stream with invalid-from, so it is dropped and logged at debug. It
// reports false when host has no link. Runs on the loop.
func (set *Set) Send(L *glua.LState, host string, st *glua.LTable) bool {
	if set == nil {
		return false
	}
	for _, b := range set.bridges {
		if b.host == host {
			b.routeOut(L, st)
			return true
		}
	}
	return false
}

// Mirror writes a roster change made in Go (the runtime's Commit, see
// host/roster) to the server, as a roster-saved event would: roster is
// user's whole roster after the change, jids the contacts it changed.
// Runs on the loop; nothing happens for a host without a link.
func (set *Set) Mirror(L *glua.LState, host, user string, roster *glua.LTable, jids []string) {
	if set == nil {
		return
	}
	for _, b := range set.bridges {
		if b.host == host {
			b.mirrorChanged(user, roster, jids)
		}
	}
}

// SendElement is Send for a stanza built in Go (no Lua stanza made).
func (set *Set) SendElement(host string, e *xmpp.Element) bool {
	if set == nil {
		return false
	}
	for _, b := range set.bridges {
		if b.host == host {
			b.routeOutElement(e)
			return true
		}
	}
	return false
}

// Linked reports whether host has a link: what is built only to be
// mirrored need not be built otherwise.
func (set *Set) Linked(host string) bool {
	if set == nil {
		return false
	}
	for _, b := range set.bridges {
		if b.host == host {
			return true
		}
	}
	return false
}

// MirrorItems is Mirror for a change Go made to a roster it holds packed,
// from before to after: changed are the contacts' new items (Subscription
// "remove" for a removal). When the server held before, it is then
// remembered to hold after, with no copy of it kept.
func (set *Set) MirrorItems(host, user string, before, after *roster.Packed, changed []component.RosterItem) {
	if set == nil {
		return
	}
	whole := func() map[string]component.RosterItem {
		items := make(map[string]component.RosterItem, after.Len())
		for i := range after.Len() {
			if it, ok := packedItem(after, i); ok {
				items[it.JID] = it
			}
		}
		return items
	}
	for _, b := range set.bridges {
		if b.host == host {
			b.mirrorItems(user, changed, whole, packedCommit{before: before, after: after})
		}
	}
}
