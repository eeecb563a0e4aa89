package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
	"github.com/modhost/modhost/lua"
)

// markUnsynced notes that user's server roster may differ from the local
// one. While the link is up a resync is scheduled; while it is down, the
// next connect's privilege advertisement starts it.
func (b *bridge) markUnsynced(user string) {
	b.unsynced[user] = true
	delete(b.serverRoster, user)
	if b.resyncArmed || !b.roster.ready() {
		return
	}
	b.resyncArmed = true
	b.rt.Loop().After(b.resyncDelay, func(L *glua.LState) {
		b.resyncArmed = false
		if b.roster.ready() {
			b.resync(L, true)
		}
	})
}

// resync compares every unsynced user's local roster with the server's and
// writes the difference. A failure marks the user again. Retries after a
// refusal are logged at debug: the refusal itself was logged once.
func (b *bridge) resync(L *glua.LState, retry bool) {
	if !b.roster.canWrite() || len(b.unsynced) == 0 {
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
		if b.shared && b.refreshFromApp(L, user) {
			continue
		}
		roster := b.localRosterOf(L, user)
		if roster == nil {
			continue
		}
		if b.roster.canRead() {
			b.reconcile(user, func() map[string]component.RosterItem { return localRoster(roster) })
			continue
		}
		b.writeDifferences(user, localRoster(roster), serverRoster{}, false, nil)
		delete(b.serverRoster, user)
	}
}

// refreshFromApp asks the roster's owner to refresh user (the
// roster-admin/refresh event, which mod_http_roster_admin handles as a
// refresh the web app asked for): false when nothing handles it. With
// shared = true that replaces writing the local roster again: another
// instance may have refreshed the user since this one's write failed, and
// writing this instance's older roster over it would undo that refresh. The
// fetch gives the roster as it is now, and the refresh compares it with the
// server's (forgetRoster). A refresh that fails marks the user again.
func (b *bridge) refreshFromApp(L *glua.LState, user string) bool {
	h, ok := L.GetField(L.GetField(L.GetGlobal("prosody"), "hosts"), b.host).(*glua.LTable)
	if !ok {
		return false
	}
	events := L.GetField(h, "events")
	event := L.NewTable()
	event.RawSetString("username", glua.LString(user))
	event.RawSetString("host", glua.LString(b.host))
	event.RawSetString("done", L.NewFunction(func(L *glua.LState) int {
		if !L.ToBool(1) {
			b.log.Debug("roster not refreshed after a failed write; tried again later", "user", user, "reason", L.OptString(2, ""))
			b.markUnsynced(user)
		}
		return 0
	}))
	rets, err := lua.Call(L, L.GetField(events, "fire_event"), 1, glua.LString("roster-admin/refresh"), event)
	if err != nil {
		b.log.Error("roster-admin/refresh failed; the local roster is written instead", "user", user, "error", lua.ErrorMessage(err))
		return false
	}
	return rets[0] != glua.LNil
}

// logReadFailure reports a failed privileged roster read: a link that
// dropped (or a runtime stopping) is routine, anything else is not, and is
// logged once per user and cause.
func (b *bridge) logReadFailure(msg, user string, err error) {
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
	var apiErr *ejabberdapi.Error
	var netErr *net.OpError
	switch {
	case errors.As(err, &refused):
		return refused.Condition
	case errors.As(err, &apiErr):
		return fmt.Sprintf("ejabberd API HTTP %d", apiErr.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.As(err, &netErr):
		return "server unreachable"
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
