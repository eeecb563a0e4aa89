package link

import (
	"context"
	"errors"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp/component"
)

// writeQueue holds roster writes in the order they were made, sent one at a
// time, so a rename followed by a removal never lands the other way round.
// It never blocks the loop.
type writeQueue struct {
	mu      sync.Mutex
	pending []queuedWrite
	count   int // sets ever queued
	wake    chan struct{}
}

// queuedWrite is one item written to user's server roster, or (then) what
// must follow the writes queued before it.
type queuedWrite struct {
	user string
	item component.RosterItem
	then func()
}

func newWriteQueue() *writeQueue { return &writeQueue{wake: make(chan struct{}, 1)} }

func (q *writeQueue) push(user string, it component.RosterItem) {
	q.mu.Lock()
	q.pending = append(q.pending, queuedWrite{user: user, item: it})
	q.count++
	q.mu.Unlock()
	q.signal()
}

// after runs fn once the sets queued before it have been answered, or
// after wait at the latest (a server that does not answer, a link that
// dropped), whichever comes first; fn runs once, on another goroutine.
func (q *writeQueue) after(wait time.Duration, fn func()) {
	var once sync.Once
	run := func() { once.Do(fn) }
	time.AfterFunc(wait, run)
	q.mu.Lock()
	q.pending = append(q.pending, queuedWrite{then: run})
	q.mu.Unlock()
	q.signal()
}

// queued is how many sets were ever queued: a change says a call queued some.
func (q *writeQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

func (q *writeQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *writeQueue) take() []queuedWrite {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

// writeRosters sends the queued roster writes through the host's writer one
// at a time, each after the previous one's answer, until ctx ends. A failed write is not retried as
// such: its user is marked unsynced, and the whole roster compared and
// written again later (see bridge.unsynced).
func (b *bridge) writeRosters(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.writes.wake:
		}
		for _, w := range b.writes.take() {
			if w.then != nil {
				w.then()
				continue
			}
			user := w.user
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := b.roster.write(wctx, user, w.item)
			cancel()
			switch {
			case err == nil:
				if b.refusals.recovered(user, "write") {
					b.log.Info("the server accepts roster writes for this user again", "user", user)
				}
				continue
			case ctx.Err() != nil:
				return
			case errors.Is(err, errNotSet):
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
			b.rt.Loop().Post(func(*glua.LState) { b.markUnsynced(user) })
		}
	}
}
