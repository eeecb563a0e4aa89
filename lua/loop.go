package lua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// Options configure a Loop.
type Options struct {
	// Libraries are made available to require.
	Libraries []Library
	// Logger receives the loop's own logs and is the parent of Logger(source).
	Logger *slog.Logger
	// ObserveWait, if set, is called on the loop goroutine before each job
	// with how long the job waited in the queue: the loop's latency, which a
	// queue depth alone does not show.
	ObserveWait func(wait time.Duration)
	// JobBudget bounds how long one job may run before the watchdog
	// interrupts it (see watchdog.go): 0 means DefaultJobBudget. A negative
	// value turns the watchdog off: the state gets no context, so the VM
	// skips its check before every instruction (Lua runs faster, see
	// BenchmarkVMContext), and no job is ever interrupted, not even after
	// Shutdown (CloseContext then reports ErrStuck for a stuck job).
	JobBudget time.Duration
	// StopBudget is how long jobs may run once Shutdown is called (0:
	// StopJobBudget).
	StopBudget time.Duration
}

// Loop owns one Lua state and the goroutine that runs it. Everything that
// touches the state goes through Post or Do; nothing else may use it.
type Loop struct {
	observe func(time.Duration)
	state   *glua.LState
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	queue   []job
	wake    chan struct{}
	closed  bool
	stopped chan struct{}

	depth  atomic.Int64
	jobs   atomic.Uint64
	panics atomic.Uint64

	// The watchdog's side (watchdog.go).
	budget      time.Duration
	stopBudget  time.Duration
	intr        *interrupter
	jobState    atomic.Uint64 // jobSeq << 2 | jobRunning | jobInterrupted
	jobSeq      uint64        // numbers jobs and renewed budgets; loop goroutine only
	interrupted atomic.Uint64
	stopAt      atomic.Int64 // UnixNano of Shutdown, 0 before

	urgent    []job       // run before the queue (DoFirst); under mu
	hasUrgent atomic.Bool // len(urgent) > 0
	abandon   atomic.Bool // CloseContext gave up: drop what is queued
}

// job is a queued function and when it was queued.
type job struct {
	fn     func(*glua.LState)
	queued time.Time
}

// NewLoop creates the Lua state, opens the standard libraries, the Lua 5.2+
// gap fillers, the loaders that compile through Load and the given libraries, and starts the loop goroutine.
func NewLoop(opts Options) *Loop {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	budget := opts.JobBudget
	if budget == 0 {
		budget = DefaultJobBudget
	}
	stopBudget := opts.StopBudget
	if stopBudget <= 0 {
		stopBudget = StopJobBudget
	}
	l := &Loop{
		budget:     budget,
		stopBudget: stopBudget,
		observe:    opts.ObserveWait,
		log:        logger,
		ctx:        ctx,
		cancel:     cancel,
		wake:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
	L := glua.NewState(glua.Options{
		IncludeGoStackTrace: false,
		// Every coroutine gets these sizes too, and a util.async runner
		// (one per session) keeps its coroutine for life: a fixed registry
		// of glua.RegistrySize slots and call stack of glua.CallStackSize
		// frames cost ~100 KiB per coroutine, mostly never touched. Both
		// start small and grow on demand to the same limits.
		RegistrySize:        256,
		RegistryGrowStep:    256,
		RegistryMaxSize:     glua.RegistrySize,
		CallStackSize:       glua.CallStackSize,
		MinimizeStackMemory: true,
	})
	ud := L.NewUserData()
	ud.Value = l
	L.G.Registry.RawSetString("modhost.loop", ud)
	l.intr = &interrupter{loop: l, done: make(chan struct{})}
	if l.budget > 0 {
		L.SetContext(l.intr)
		l.adoptCoroutines(L)
	}
	OpenVersionGaps(L)
	OpenPatterns(L)
	OpenLoaders(L)
	Preload(L, opts.Libraries)
	l.state = L
	go l.run()
	if l.budget > 0 {
		go l.watch()
	}
	return l
}

// LoopOf returns the Loop that owns L (or a coroutine of it).
func LoopOf(L *glua.LState) *Loop {
	if ud, ok := L.G.Registry.RawGetString("modhost.loop").(*glua.LUserData); ok {
		if l, ok := ud.Value.(*Loop); ok {
			return l
		}
	}
	return nil
}

// Context is cancelled when the loop closes; I/O started on behalf of Lua
// code should stop with it.
func (l *Loop) Context() context.Context { return l.ctx }

// Logger returns a logger for a named source (a module, a library).
func (l *Loop) Logger(source string) *slog.Logger { return l.log.With("source", source) }

// DebugLogger is Logger(source) if debug records would be written, else
// nil: for paths that log only at debug and run too often to pay for a
// logger they would not use.
func (l *Loop) DebugLogger(source string) *slog.Logger {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	return l.Logger(source)
}

// QueueDepth reports how many jobs are waiting for the loop.
func (l *Loop) QueueDepth() int64 { return l.depth.Load() }

// JobsRun reports how many jobs the loop has run.
func (l *Loop) JobsRun() uint64 { return l.jobs.Load() }

// JobPanics reports how many jobs panicked (the loop went on after each).
func (l *Loop) JobPanics() uint64 { return l.panics.Load() }

// Post queues fn to run on the loop goroutine. It never blocks and is safe
// from any goroutine, including the loop itself. It reports false once the
// loop is closed.
func (l *Loop) Post(fn func(L *glua.LState)) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, job{fn: fn, queued: time.Now()})
	l.mu.Unlock()
	l.depth.Add(1)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// Do runs fn on the loop goroutine and waits for it (or for ctx). It must not
// be called from the loop goroutine itself.
func (l *Loop) Do(ctx context.Context, fn func(L *glua.LState) error) error {
	done := make(chan error, 1)
	if !l.Post(func(L *glua.LState) {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic in loop job: %v", r)
				panic(r) // runJob logs it with the stack and keeps the loop going
			}
		}()
		done <- fn(L)
	}) {
		return ErrClosed
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stopped:
		return ErrClosed
	}
}

// DoFirst is Do for work that must not wait behind the queue (the module
// unloads at shutdown): fn runs as soon as the job running now returns.
func (l *Loop) DoFirst(ctx context.Context, fn func(L *glua.LState) error) error {
	done := make(chan error, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.urgent = append(l.urgent, job{fn: func(L *glua.LState) { done <- fn(L) }, queued: time.Now()})
	l.hasUrgent.Store(true)
	l.mu.Unlock()
	l.depth.Add(1)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stopped:
		select {
		case err := <-done:
			return err
		default:
			return ErrClosed
		}
	}
}

// After runs fn on the loop after d. The returned stop function cancels it if
// it has not started and reports whether it did.
func (l *Loop) After(d time.Duration, fn func(L *glua.LState)) (stop func() bool) {
	t := time.AfterFunc(d, func() { l.Post(fn) })
	return t.Stop
}

// ErrClosed is returned for work handed to a loop that has shut down.
var ErrClosed = fmt.Errorf("lua loop closed")

func (l *Loop) run() {
	defer close(l.stopped)
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		closed := l.closed
		l.mu.Unlock()
		l.runUrgent()
		for i, j := range batch {
			if l.abandon.Load() {
				l.depth.Add(-int64(len(batch) - i))
				break
			}
			l.depth.Add(-1)
			if l.observe != nil {
				l.observe(time.Since(j.queued))
			}
			l.runJob(j.fn)
			l.runUrgent()
		}
		if l.abandon.Load() {
			l.mu.Lock()
			l.depth.Add(-int64(len(l.queue) + len(l.urgent)))
			l.queue, l.urgent = nil, nil
			l.mu.Unlock()
			return
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		<-l.wake
	}
}

// runUrgent runs the jobs DoFirst queued.
func (l *Loop) runUrgent() {
	for l.hasUrgent.Load() && !l.abandon.Load() {
		l.mu.Lock()
		urgent := l.urgent
		l.urgent = nil
		l.hasUrgent.Store(false)
		l.mu.Unlock()
		for _, j := range urgent {
			l.depth.Add(-1)
			l.runJob(j.fn)
		}
	}
}

func (l *Loop) runJob(fn func(*glua.LState)) {
	l.jobs.Add(1)
	l.beginJob()
	defer l.endJob()
	defer func() {
		if r := recover(); r != nil {
			l.panics.Add(1)
			l.log.Error("panic in loop job; the loop goes on", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			// A panic may leave values on the stack; start clean.
			l.state.SetTop(0)
		}
	}()
	fn(l.state)
}

// Close stops accepting work, runs what is queued, then closes the Lua state.
// final, if non-nil, runs on the loop as the last job (for module unloads).
func (l *Loop) Close(final func(L *glua.LState)) {
	_ = l.CloseContext(context.Background(), final)
}

// Shutdown starts the end of the loop's life: from now on a job is
// interrupted once it has run StopBudget past the call (or past its own
// start, if later), or at the end of its own budget if that comes first;
// the job running now included. (Not with the watchdog off.)
func (l *Loop) Shutdown() {
	l.stopAt.CompareAndSwap(0, time.Now().UnixNano())
}

// ErrStuck is returned by CloseContext when the loop did not stop in time.
var ErrStuck = errors.New("the Lua loop did not stop: a job is stuck where it cannot be interrupted (in Go code)")

// CloseContext is Close bounded by ctx: when ctx ends before the queue is
// done, what is still queued is dropped (Do and DoFirst callers get
// ErrClosed) and the running job is interrupted at its next Lua
// instruction; the loop then has waitStuck to return. If it does not (a job
// stuck in Go code), CloseContext returns ErrStuck and leaves the Lua state
// open, since the loop goroutine still uses it.
func (l *Loop) CloseContext(ctx context.Context, final func(L *glua.LState)) error {
	l.mu.Lock()
	already := l.closed
	if !already && final != nil {
		l.queue = append(l.queue, job{fn: final, queued: time.Now()})
		l.depth.Add(1)
	}
	l.closed = true
	l.mu.Unlock()
	if !already {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	select {
	case <-l.stopped:
	case <-ctx.Done():
		l.abandon.Store(true)
		l.interruptNow()
		select {
		case <-l.stopped:
		case <-time.After(waitStuck):
			l.cancel()
			return ErrStuck
		}
	}
	l.cancel()
	if !already {
		l.state.Close()
	}
	return nil
}

// waitStuck is how long CloseContext waits for an interrupted job to return
// once its context has ended.
const waitStuck = 500 * time.Millisecond

// Done is closed when the loop goroutine has exited.
func (l *Loop) Done() <-chan struct{} { return l.stopped }

// CallLogged calls fn in protected mode on the loop goroutine and logs a Lua
// error with its traceback instead of returning it; what is for event
// handlers, timers and callbacks, where an error must not stop the loop.
func (l *Loop) CallLogged(L *glua.LState, what string, fn glua.LValue, nret int, args ...glua.LValue) ([]glua.LValue, bool) {
	rets, err := Call(L, fn, nret, args...)
	if err != nil {
		l.log.Error("error in "+what, "error", ErrorMessage(err), "traceback", Traceback(err))
		return nil, false
	}
	return rets, true
}
