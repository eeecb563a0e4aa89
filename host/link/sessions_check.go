package link

import (
	"context"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp/component"
)

// checkSessions keeps a host's sessions equal to the server's own list, for
// a host with ejabberd_api: ejabberd forwards to a component only the
// presence a client sends, so a client that closes its stream without
// unavailable would stay online in modhost for ever, and nothing is replayed
// when the link (re)connects. Every sessionsInterval, and at once after each
// (re)connect, the server's sessions (connected_users_vhost) are read: a
// linked session the server no longer lists is logged out, and one it lists
// that modhost does not know is logged in. So a vanished client stops
// counting as online within sessionsInterval (plus one API call) of ejabberd
// noticing its connection closed. It runs until ctx ends.
func (b *bridge) checkSessions(ctx context.Context) {
	tick := time.NewTicker(b.sessionsInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-b.sessionsKick:
		}
		if b.link.State() != component.Online {
			continue // sessions come from the link; they are dropped while it is down
		}
		seq := make(chan int, 1)
		b.rt.Loop().Post(func(*glua.LState) { seq <- b.sessionSeq })
		var since int
		select {
		case since = <-seq:
		case <-ctx.Done():
			return
		}
		callCtx, cancel := context.WithTimeout(ctx, writeTimeout)
		listed, err := b.api.ConnectedUsers(callCtx, b.host)
		cancel()
		if err != nil {
			if ctx.Err() == nil && b.refusals.first("", "sessions", causeOf(err)) {
				b.log.Warn("ejabberd's sessions could not be read; who is online is known from presence only until they can", "error", err)
			}
			continue
		}
		if b.refusals.recovered("", "sessions") {
			b.log.Info("ejabberd's sessions can be read again")
		}
		b.rt.Loop().Post(func(L *glua.LState) { b.reconcileSessions(L, listed, since) })
	}
}

// reconcileSessions applies the server's list of full JIDs, read when the
// session sequence was since: only what did not change after the read is
// touched.
func (b *bridge) reconcileSessions(L *glua.LState, listed []string, since int) {
	if b.link.State() != component.Online {
		return
	}
	on := make(map[string]bool, len(listed))
	for _, full := range listed {
		on[full] = true
	}
	for full, s := range b.sessions {
		if !on[full] && s.born <= since {
			b.log.Debug("session gone from the server's list (closed without unavailable)", "jid", full)
			b.logout(L, full, s, "gone from the server's sessions")
		}
	}
	for full := range on {
		if _, known := b.sessions[full]; known || b.endedAt[full] > since {
			continue
		}
		if _, _, ok := b.userOf(full); !ok {
			continue
		}
		b.log.Debug("session listed by the server but not seen: logged in", "jid", full)
		b.session(L, full)
	}
	b.endedAt = map[string]int{}
}

// kickSessionsCheck asks checkSessions for a check now (after a connect).
func (b *bridge) kickSessionsCheck() {
	if b.sessionsKick == nil {
		return
	}
	select {
	case b.sessionsKick <- struct{}{}:
	default:
	}
}
