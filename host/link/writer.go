package link

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp/component"
)

// writeQueue holds roster writes in the order they were made, sent one at a
// time, so a rename followed by a removal never lands the other way round.
// It never blocks the loop. The items of one save are queued packed, in one
// string (appendWrite): a login's writes wait seconds behind the others'
// (each waits for the server's answer), and as RosterItems they cost ~110
// bytes a contact and kept alive the packed local roster their strings
// pointed into.
type writeQueue struct {
	mu      sync.Mutex
	pending []queuedWrite
	count   int // sets ever queued
	wake    chan struct{}
	// unanswered is how many queued sets the server has not answered yet
	// (modhost_link_roster_writes_pending).
	unanswered atomic.Int64
	// answered is how many queued sets the server has answered (or that
	// failed), in queue order: every set queued up to count n has been
	// answered once answered reaches n.
	answered atomic.Int64
	// waiters run when answered reaches their count (whenAnswered).
	waiters []*answerWaiter
}

// queuedWrite is the items of one save written to user's server roster,
// packed by appendWrite.
type queuedWrite struct {
	user       string
	items      string
	background bool
}

// answerWaiter is a whenAnswered call waiting for the n-th set's answer.
type answerWaiter struct {
	n   int64
	run func()
}

func newWriteQueue() *writeQueue { return &writeQueue{wake: make(chan struct{}, 1)} }

// push queues n sets of user's roster, packed by appendWrite into items;
// background when no answer waits for them (presenceWaits).
func (q *writeQueue) push(user, items string, n int, background bool) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	q.pending = append(q.pending, queuedWrite{user: user, items: items, background: background})
	q.count += n
	q.unanswered.Add(int64(n))
	q.mu.Unlock()
	q.signal()
}

// appendWrite packs it for the queue: JID, name, subscription, ask and
// groups as they are (nextWrite reads it back).
func appendWrite(out []byte, it component.RosterItem) []byte {
	out = appendText(out, it.JID)
	out = appendText(out, it.Name)
	out = appendText(out, it.Subscription)
	out = appendText(out, it.Ask)
	out = binary.AppendUvarint(out, uint64(len(it.Groups)))
	for _, g := range it.Groups {
		out = appendText(out, g)
	}
	return out
}

// nextWrite reads the first item of packed writes; rest is what follows.
func nextWrite(items string) (it component.RosterItem, rest string) {
	it.JID, items = cutText(items)
	it.Name, items = cutText(items)
	it.Subscription, items = cutText(items)
	it.Ask, items = cutText(items)
	n, w := uvarint(items)
	items = items[w:]
	if n > 0 {
		it.Groups = make([]string, n)
		for i := range it.Groups {
			it.Groups[i], items = cutText(items)
		}
	}
	return it, items
}

// whenAnswered runs fn once every set up to the n-th ever queued (see
// queued) has been answered, or after wait at the latest (a server that
// does not answer, a link that dropped), whichever comes first; fn runs
// once, on another goroutine. Sets queued after the n-th do not hold it.
func (q *writeQueue) whenAnswered(n int, wait time.Duration, fn func()) {
	var once sync.Once
	w := &answerWaiter{n: int64(n)}
	t := time.AfterFunc(wait, func() {
		q.mu.Lock()
		q.waiters = slices.DeleteFunc(q.waiters, func(o *answerWaiter) bool { return o == w })
		q.mu.Unlock()
		once.Do(fn)
	})
	// Run on the answer, it stops the timer, which would otherwise keep fn
	// (a delegated roster result of a hundred items) for the whole wait.
	w.run = func() {
		t.Stop()
		once.Do(fn)
	}
	q.mu.Lock()
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()
	q.release() // the n-th may have been answered already
}

// release runs the waiters whose sets have all been answered.
func (q *writeQueue) release() {
	answered := q.answered.Load()
	var ready []*answerWaiter
	q.mu.Lock()
	if len(q.waiters) > 0 {
		q.waiters = slices.DeleteFunc(q.waiters, func(w *answerWaiter) bool {
			if w.n <= answered {
				ready = append(ready, w)
				return true
			}
			return false
		})
	}
	q.mu.Unlock()
	for _, w := range ready {
		go w.run()
	}
}

// answeredUpTo says whether every set up to the n-th ever queued has
// been answered (see queued).
func (q *writeQueue) answeredUpTo(n int) bool { return q.answered.Load() >= int64(n) }

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

// writeRosters sends the queued roster writes through the host's writer, in
// order, until ctx ends. A writer whose sends keep their order on one
// stream (pipelinedWriter: XEP-0356 IQs) has up to writesInFlight of them
// awaiting answers at once, never two of one contact, answered in the
// order they went (writeQueue.whenAnswered waits on that); another writer's go one at a
// time, each after the previous one's answer. A failed write is not
// retried as such: its user is marked unsynced, and the whole roster
// compared and written again later (see bridge.unsynced).
func (b *bridge) writeRosters(ctx context.Context) {
	pipelined, _ := b.roster.(pipelinedWriter)
	var flight []inFlight
	// land waits for the oldest write in flight; false when ctx ended.
	land := func() bool {
		f := flight[0]
		flight[0] = inFlight{}
		flight = flight[1:]
		ok := b.answered(ctx, f.user, f.wait())
		f.cancel()
		return ok
	}
	landAll := func() bool {
		for len(flight) > 0 {
			if !land() {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.writes.wake:
		}
		batch := b.writes.take()
		for i, w := range batch {
			batch[i] = queuedWrite{} // what is written need not stay in memory until the batch ends
			for items := w.items; items != ""; {
				var it component.RosterItem
				it, items = nextWrite(items)
				if pipelined == nil || w.background {
					// Sets nobody waits for go one at a time: a burst of
					// them would hold up the server's other connections
					// (it reads and handles all it has been sent before
					// it turns to them), logins among them.
					if !landAll() || !b.writeOne(ctx, w.user, it) {
						return
					}
					continue
				}
				for len(flight) == writesInFlight || slices.ContainsFunc(flight, func(f inFlight) bool { return f.user == w.user && f.jid == it.JID }) {
					if !land() {
						return
					}
				}
				wctx, cancel := context.WithTimeout(ctx, writeTimeout)
				flight = append(flight, inFlight{user: w.user, jid: it.JID, wait: pipelined.startWrite(wctx, w.user, it), cancel: cancel})
			}
		}
		if !landAll() {
			return
		}
	}
}

// writesInFlight bounds the pipelined writes awaiting answers: a login's
// hundred contacts take a few round trips, not a hundred.
const writesInFlight = 32

// inFlight is a pipelined write sent and not yet answered.
type inFlight struct {
	user, jid string
	wait      func() error
	cancel    context.CancelFunc
}

// writeOne sends one set and waits for its answer; false when ctx ended.
func (b *bridge) writeOne(ctx context.Context, user string, it component.RosterItem) bool {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	err := b.roster.write(wctx, user, it)
	cancel()
	return b.answered(ctx, user, err)
}

// answered counts a set as answered and acts on how (err): false when ctx
// ended.
func (b *bridge) answered(ctx context.Context, user string, err error) bool {
	b.writes.unanswered.Add(-1)
	b.writes.answered.Add(1)
	b.writes.release()
	switch {
	case err == nil:
		if b.refusals.recovered(user, "write") {
			b.log.Info("the server accepts roster writes for this user again", "user", user)
		}
		return true
	case ctx.Err() != nil:
		return false
	case errors.Is(err, errNotSet):
		// A blind removal (the server's roster was unknown): already gone.
		return true
	case errors.Is(err, component.ErrNotConnected):
		b.log.Debug("roster write lost to a link drop; the roster is written again when the link is back", "user", user, "error", err)
	default:
		if b.refusals.first(user, "write", causeOf(err)) {
			b.log.Warn("a roster write did not reach the server's roster; the user's whole roster is compared and written again later",
				"user", user, "condition", causeOf(err), "retry_in", b.resyncDelay, "error", err)
		}
	}
	b.rt.Loop().Post(func(*glua.LState) { b.markUnsynced(user) })
	return true
}
