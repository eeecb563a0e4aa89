package httpserver

import (
	"context"
	"sync"
)

// loopQueue counts the requests of Queued routes that were admitted and
// whose work has not started yet, and the bytes of their bodies: while the
// Lua loop is busy they pile up, and a bound keeps memory bounded too.
type loopQueue struct {
	mu       sync.Mutex
	jobs     int
	bytes    int64
	maxJobs  int
	maxBytes int64
}

// ticket is one admitted request's place in the queue.
type ticket struct {
	q    *loopQueue
	size int64
	once sync.Once
}

// admit takes a place for a request with a body of size bytes, or reports
// that the queue is full.
func (q *loopQueue) admit(size int64) (*ticket, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.maxJobs >= 0 && q.jobs >= q.maxJobs {
		return nil, false
	}
	// One request bigger than the whole byte bound still gets in alone.
	if q.maxBytes >= 0 && q.jobs > 0 && q.bytes+size > q.maxBytes {
		return nil, false
	}
	q.jobs++
	q.bytes += size
	return &ticket{q: q, size: size}, true
}

// release gives the place back; only the first call counts.
func (t *ticket) release() {
	t.once.Do(func() {
		t.q.mu.Lock()
		t.q.jobs--
		t.q.bytes -= t.size
		t.q.mu.Unlock()
	})
}

// depth reports the queued requests and their bytes.
func (q *loopQueue) depth() (int, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.jobs, q.bytes
}

type ticketKey struct{}

// started tells the server that the work of the request whose context is
// ctx has begun: it no longer waits in the queue.
func started(ctx context.Context) {
	if t, ok := ctx.Value(ticketKey{}).(*ticket); ok {
		t.release()
	}
}
