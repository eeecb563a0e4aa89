package link

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
)

// writeQueue holds privileged roster sets in the order they were made: the
// server applies them in stream order, so a rename followed by a removal
// never lands the other way round. It never blocks the loop.
type writeQueue struct {
	mu      sync.Mutex
	pending []queuedWrite
	count   int // sets ever queued
	wake    chan struct{}
}

// queuedWrite is a roster set, or (then) what must follow the sets queued
// before it.
type queuedWrite struct {
	iq   *xmpp.Element
	then func()
}

func newWriteQueue() *writeQueue { return &writeQueue{wake: make(chan struct{}, 1)} }

func (q *writeQueue) push(iq *xmpp.Element) {
	q.mu.Lock()
	q.pending = append(q.pending, queuedWrite{iq: iq})
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

func isRemoval(iq *xmpp.Element) bool {
	items := component.ParseRoster(iq)
	return len(items) == 1 && items[0].Subscription == "remove"
}

// writeRosters sends the queued roster sets one at a time, each after the
// previous one's answer, until ctx ends. A failed write is not retried as
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
			iq := w.iq
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
			b.rt.Loop().Post(func(*glua.LState) { b.markUnsynced(user) })
		}
	}
}
