package lua

import (
	"fmt"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// The watchdog: a budget for every job.
//
// One job that never returns (a handler looping for ever, a pattern that
// backtracks for ever) would hold the loop, and every Lua route, timer and
// event behind it, for good. gopher-lua can be interrupted only through its
// state's context, which its VM checks before every instruction (the
// pattern functions check it too, see OpenPatterns). So the loop's state
// (and every coroutine of it) carries one long-lived context, the
// interrupter, and a watchdog goroutine closes its Done channel when the
// running job has been running longer than its budget.
//
// One context for the life of the state, not one per job: coroutines live
// across jobs (a util.async runner per session), and gopher-lua gives a
// coroutine a child of the context its creator had, so a per-job context
// would kill every coroutine at the end of the job that created it. Every
// coroutine gets the interrupter itself instead (coroutine.create and
// coroutine.wrap are wrapped to set it), so whichever thread is running
// sees the interruption.
//
// The first interruption is raised once: the thread running at that moment
// fails with "job over its 5s budget (lua_job_timeout)" at its current line
// (a coroutine dies, as it would for any error) and the channel is re-armed,
// so the code that resumed the coroutine or called pcall sees an ordinary
// error and can clean up: a util.async runner marks itself ready again, an
// HTTP dispatcher answers. If the job is still running a grace period later
// (budget/4, at least 50 ms: it caught the error and went on), every further
// instruction raises until it returns to Go. The loop logs each
// interruption with the plugin (host:module), the line and a traceback.
//
// Costs: the VM's check before each instruction (gopher-lua's
// mainLoopWithContext: ~25% on a tight Lua loop, BenchmarkVMContext), and
// two atomic operations per job; the watchdog wakes every budget/8 (at
// least every 5 ms) and never takes a lock unless it interrupts. A negative
// JobBudget turns all of it off.

// DefaultJobBudget is how long one job may run when Options.JobBudget is 0.
const DefaultJobBudget = 5 * time.Second

// StopJobBudget is the default Options.StopBudget: how long any job may run
// once Shutdown has been called (the job running then included, counted
// from that moment), when that ends before the job's own budget.
const StopJobBudget = 2 * time.Second

// BudgetError is what an interrupted job raises (as its message) and what
// Interrupted reports.
type BudgetError struct {
	Budget time.Duration
	// Reason is set when the job was not over its own budget but stopped
	// for another reason (the runtime shutting down).
	Reason string
}

func (e *BudgetError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("job interrupted: %s (over %s)", e.Reason, e.Budget)
	}
	return fmt.Sprintf("job over its %s budget (lua_job_timeout)", e.Budget)
}

// job state word: the job number << 2 | the two flags below.
const (
	jobRunning = 1 << iota
	jobInterrupted
)

// interrupter is the context of the loop's state and of every coroutine.
// Done is read by the VM before every instruction, on the loop goroutine;
// done is replaced only on the loop goroutine and only under mu, and the
// watchdog closes it under mu, so the VM's unlocked read never races.
type interrupter struct {
	loop *Loop
	done chan struct{}

	mu     sync.Mutex
	phase  interruptPhase
	err    *BudgetError
	fired  time.Time // when the watchdog closed done
	logged bool
}

type interruptPhase int

const (
	phaseNone   interruptPhase = iota
	phaseFired                 // done closed, not raised yet
	phaseRaised                // raised once; done re-armed
	phaseSticky                // done closed until the job returns
)

func (c *interrupter) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *interrupter) Done() <-chan struct{}       { return c.done }
func (c *interrupter) Value(any) any               { return nil }

// AfterFunc keeps context.WithCancel (which gopher-lua's NewThread calls for
// a thread made while its creator has a context: a coroutine made from Go)
// from starting a goroutine per thread to watch this context.
func (c *interrupter) AfterFunc(func()) func() bool { return func() bool { return true } }

// Err is called by the VM (and the pattern functions) once Done is closed,
// on the loop goroutine, to make the error it raises. The first time in a
// job it re-arms Done, so the interruption is raised once, and logs where
// the job was.
func (c *interrupter) Err() error {
	c.mu.Lock()
	err := c.err
	first := false
	switch c.phase {
	case phaseNone:
		c.mu.Unlock()
		return nil
	case phaseFired:
		c.phase = phaseRaised
		c.done = make(chan struct{})
		first = !c.logged
		c.logged = true
	}
	c.mu.Unlock()
	if first {
		c.loop.logInterruption(err)
	}
	return err
}

// fire closes done for job state v if the loop is still running that job.
func (c *interrupter) fire(v uint64, err *BudgetError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loop.jobState.CompareAndSwap(v, v|jobInterrupted) {
		return
	}
	c.phase = phaseFired
	c.err = err
	c.fired = time.Now()
	close(c.done)
}

// escalate makes the interruption of job state v sticky: every instruction
// raises until the job returns.
func (c *interrupter) escalate(v uint64, grace time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loop.jobState.Load() != v || c.phase != phaseRaised || time.Since(c.fired) < grace {
		return
	}
	c.phase = phaseSticky
	close(c.done)
	c.loop.log.Error("interrupted Lua job still running (it caught the error); stopping every Lua instruction until it returns",
		"budget", c.err.Budget, "grace", grace)
}

// reset re-arms done after an interrupted job has returned.
func (c *interrupter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase != phaseRaised {
		c.done = make(chan struct{})
	}
	if c.phase == phaseFired && !c.logged {
		// Closed while the job was in Go code, which returned before any
		// Lua instruction saw it.
		c.loop.log.Error(c.err.Error()+"; the job was in Go code and returned before it could be interrupted", "budget", c.err.Budget)
	}
	c.phase = phaseNone
	c.err = nil
	c.logged = false
}

// Interrupted reports the interruption of the job running now, or nil. It
// must be called on the loop goroutine; HTTP handlers use it to answer 504
// rather than 500.
func (l *Loop) Interrupted() *BudgetError {
	if l.intr == nil || l.jobState.Load()&jobInterrupted == 0 {
		return nil
	}
	l.intr.mu.Lock()
	defer l.intr.mu.Unlock()
	return l.intr.err
}

// JobsInterrupted reports how many jobs the watchdog has interrupted.
func (l *Loop) JobsInterrupted() uint64 { return l.interrupted.Load() }

func (l *Loop) beginJob() {
	l.jobSeq++
	l.jobState.Store(l.jobSeq<<2 | jobRunning)
}

func (l *Loop) endJob() {
	if l.jobState.Swap(l.jobSeq<<2)&jobInterrupted != 0 {
		l.intr.reset()
	}
}

// RenewBudget gives the running job a new budget, as if a job ended and
// another began: for a job made of independent steps, such as Start loading
// every module (each load gets the budget; one that was interrupted stays
// failed). It must be called on the loop goroutine.
func (l *Loop) RenewBudget() {
	if l.jobState.Load()&jobRunning == 0 {
		return
	}
	l.endJob()
	l.beginJob()
}

// watch is the watchdog goroutine.
func (l *Loop) watch() {
	tick := max(min(l.budget, l.stopBudget)/8, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var seen uint64 // the job state last seen running
	var since time.Time
	for {
		select {
		case <-t.C:
		case <-l.stopped:
			return
		}
		v := l.jobState.Load()
		if v&jobRunning == 0 {
			seen = 0
			continue
		}
		now := time.Now()
		if v&^jobInterrupted != seen&^jobInterrupted {
			// A new job: it started at most a tick ago, so it is
			// interrupted between its budget and a tick later.
			seen, since = v, now
			continue
		}
		seen = v
		budget, err := l.budgetFor(since)
		if v&jobInterrupted == 0 {
			if now.Sub(since) >= budget {
				l.interrupted.Add(1)
				l.intr.fire(v, err)
			}
			continue
		}
		l.intr.escalate(v, max(budget/4, 50*time.Millisecond))
	}
}

// budgetFor is the budget of a job seen running since start, and the error
// an interruption raises.
func (l *Loop) budgetFor(start time.Time) (time.Duration, *BudgetError) {
	budget := l.budget
	stopAt := l.stopAt.Load()
	if stopAt == 0 {
		return budget, &BudgetError{Budget: budget}
	}
	// Shutting down: StopJobBudget from the shutdown or the job's start,
	// whichever is later, unless the job's own budget ends first.
	stopping := max(time.Unix(0, stopAt).Sub(start), 0) + l.stopBudget
	if budget <= stopping {
		return budget, &BudgetError{Budget: budget}
	}
	return stopping, &BudgetError{Budget: l.stopBudget, Reason: "modhost is shutting down"}
}

// logInterruption logs where the running thread was when err was raised:
// the innermost plugin (host:module), its line, and the traceback through
// every coroutine resumed on the way. On the loop goroutine only.
func (l *Loop) logInterruption(err *BudgetError) {
	th := l.state.G.CurrentThread
	if th == nil {
		th = l.state
	}
	where, module, traceback := describeStack(th)
	msg := err.Error()
	if where != "" {
		msg += " at " + where
	}
	if module != "" {
		msg += " in " + module
	}
	l.log.Error(msg, "budget", err.Budget, "module", module, "where", where, "traceback", traceback)
}

// tracebackFrames is how many frames describeStack shows at each end of a
// deep stack (Lua's debug.traceback shows 12 and 10).
const tracebackFrames = 12

// describeStack walks th's call stack and those of the threads that resumed
// it, without running any Lua: the first Lua line, the host:module of the
// innermost function defined by a plugin, and a traceback.
func describeStack(th *glua.LState) (where, module, traceback string) {
	var lines []string
	for depth := 0; th != nil && depth < 64; th, depth = th.Parent, depth+1 {
		if depth > 0 {
			lines = append(lines, "\t(in the coroutine resumed from here)")
		}
		for level := 0; ; level++ {
			dbg, ok := th.GetStack(level)
			if !ok {
				break
			}
			fv, err := th.GetInfo("Slnf", dbg, glua.LNil)
			fn, isFn := fv.(*glua.LFunction)
			if err != nil || !isFn {
				continue
			}
			if dbg.Name == "main chunk" || dbg.Name == "corountine" {
				// gopher-lua's names for the first frame of a call from
				// Go and of a coroutine: not names the code gave.
				dbg.Name = ""
			}
			name := "?"
			switch {
			case strings.HasPrefix(dbg.Name, "<"):
				name = dbg.Name // gopher-lua's <file:line> for an anonymous function
			case dbg.Name != "":
				name = "'" + dbg.Name + "'"
			}
			if fn.IsG {
				lines = append(lines, "\t[G]: in function "+name)
				continue
			}
			at := fmt.Sprintf("%s:%d", dbg.Source, dbg.CurrentLine)
			if where == "" {
				where = at
			}
			if module == "" {
				module = moduleOfEnv(fn.Env)
			}
			switch {
			case dbg.What == "main" && dbg.LineDefined == 0:
				lines = append(lines, "\t"+at+": in main chunk")
			case dbg.Name != "":
				lines = append(lines, "\t"+at+": in function "+name)
			default:
				lines = append(lines, fmt.Sprintf("\t%s: in function <%s:%d>", at, dbg.Source, dbg.LineDefined))
			}
		}
	}
	if len(lines) > 2*tracebackFrames+2 {
		cut := len(lines) - 2*tracebackFrames
		lines = append(append(lines[:tracebackFrames:tracebackFrames], fmt.Sprintf("\t...\t(%d frames)", cut)), lines[len(lines)-tracebackFrames:]...)
	}
	return where, module, "stack traceback:\n" + strings.Join(lines, "\n")
}

// moduleOfEnv is "host:name" for a plugin's environment (whose module field
// is its module API object), "" for anything else. Raw reads only: no Lua
// runs here.
func moduleOfEnv(env *glua.LTable) string {
	if env == nil {
		return ""
	}
	m, ok := env.RawGetString("module").(*glua.LTable)
	if !ok {
		return ""
	}
	name, ok1 := m.RawGetString("name").(glua.LString)
	host, ok2 := m.RawGetString("host").(glua.LString)
	if !ok1 || !ok2 {
		return ""
	}
	return string(host) + ":" + string(name)
}

// adoptCoroutines makes coroutine.create and coroutine.wrap give every new
// coroutine the interrupter itself as its context (gopher-lua would give it
// a child of the creator's, which the interrupter never cancels).
func (l *Loop) adoptCoroutines(L *glua.LState) {
	co, ok := L.GetGlobal("coroutine").(*glua.LTable)
	if !ok {
		return
	}
	adopt := func(name string, thread func(glua.LValue) *glua.LState) {
		orig, ok := co.RawGetString(name).(*glua.LFunction)
		if !ok || !orig.IsG {
			return
		}
		co.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			// Without a context on the creator, NewThread makes no child
			// context: context.WithCancel would cost an allocation per
			// coroutine and, if the interruption fired just then, call
			// Err and use it up without raising it.
			if ctx := L.RemoveContext(); ctx != nil {
				defer L.SetContext(ctx)
			}
			n := orig.GFunction(L)
			if th := thread(L.Get(-1)); th != nil {
				th.SetContext(l.intr)
			}
			return n
		}))
	}
	adopt("create", func(v glua.LValue) *glua.LState {
		th, _ := v.(*glua.LState)
		return th
	})
	// wrap's result is gopher-lua's closure over the thread.
	adopt("wrap", func(v glua.LValue) *glua.LState {
		if fn, ok := v.(*glua.LFunction); ok && len(fn.Upvalues) == 1 {
			th, _ := fn.Upvalues[0].Value().(*glua.LState)
			return th
		}
		return nil
	})
}

// interruptNow interrupts the running job at once and until it returns
// (CloseContext, when its time is up).
func (l *Loop) interruptNow() {
	if l.budget <= 0 {
		return // the watchdog is off: nothing checks the interrupter
	}
	c := l.intr
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		v := l.jobState.Load()
		if v&jobRunning == 0 {
			return
		}
		if v&jobInterrupted == 0 && !l.jobState.CompareAndSwap(v, v|jobInterrupted) {
			continue // the job just ended; look again
		}
		break
	}
	if c.phase == phaseNone || c.phase == phaseRaised {
		close(c.done)
	}
	if c.err == nil {
		c.err = &BudgetError{Budget: l.stopBudget, Reason: "the Lua loop is closing and its time is up"}
	}
	c.phase = phaseSticky
	l.interrupted.Add(1)
	l.log.Error("closing the Lua loop: the running job is interrupted and what is still queued is dropped")
}
