package lua

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// logBuffer collects a loop's logs; safe from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const testBudget = 200 * time.Millisecond

func budgetLoop(t *testing.T, opts Options) (*Loop, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if opts.JobBudget == 0 {
		opts.JobBudget = testBudget
	}
	l := NewLoop(opts)
	t.Cleanup(func() {
		if err := l.CloseContext(ctxFor(t, 5*time.Second), nil); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l, logs
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pluginChunk runs src as the main chunk of a plugin file mod_NAME.lua of
// host x.example, with the environment modulemanager gives plugins.
func pluginChunk(L *glua.LState, name, src string) error {
	fn, err := Load(L, src, "mod_"+name+".lua")
	if err != nil {
		return err
	}
	module := L.NewTable()
	module.RawSetString("name", glua.LString(name))
	module.RawSetString("host", glua.LString("x.example"))
	env := L.NewTable()
	env.RawSetString("module", module)
	meta := L.NewTable()
	meta.RawSetString("__index", L.Get(glua.GlobalsIndex))
	L.SetMetatable(env, meta)
	fn.Env = env
	_, err = Call(L, fn, 0)
	return err
}

// doWithin runs a job and fails the test if Do has not returned within
// limit (an endless job would otherwise hang the test).
func doWithin(t *testing.T, l *Loop, limit time.Duration, fn func(L *glua.LState) error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := l.Do(ctxFor(t, limit), fn)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("job still running after %v", limit)
	}
	return time.Since(start), err
}

// A job that loops for ever is interrupted at its budget with an error at
// its line, the loop logs the plugin, the line and a traceback, and the next
// job runs.
func TestJobOverItsBudgetIsInterrupted(t *testing.T) {
	l, logs := budgetLoop(t, Options{})
	took, err := doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
		return pluginChunk(L, "spin", `
local function spin()
	local n = 0
	while true do n = n + 1 end
end
spin()`)
	})
	if err == nil || !strings.Contains(err.Error(), "mod_spin.lua:4: job over its 200ms budget (lua_job_timeout)") {
		t.Fatalf("error = %v, want the budget error at mod_spin.lua:4", err)
	}
	if took > time.Second {
		t.Errorf("interrupted after %v, budget %v", took, testBudget)
	}
	for _, want := range []string{"job over its 200ms budget (lua_job_timeout) at mod_spin.lua:4 in x.example:spin",
		"module=x.example:spin", "where=mod_spin.lua:4", "mod_spin.lua:4: in function 'spin'", "mod_spin.lua:6: in main chunk"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if _, err := doWithin(t, l, time.Second, func(L *glua.LState) error {
		_, err := DoChunk(L, `return 1 + 1`, "next", 1)
		return err
	}); err != nil {
		t.Fatalf("the loop does not go on: %v", err)
	}
	if n := l.JobsInterrupted(); n != 1 {
		t.Errorf("JobsInterrupted = %d, want 1", n)
	}
}

// An interruption kills the coroutine it lands in, as any error does; the
// code that resumed it sees the error, the job ends normally, and other
// coroutines (made in earlier jobs) still run.
func TestInterruptionKillsOnlyTheRunningCoroutine(t *testing.T) {
	l, _ := budgetLoop(t, Options{})
	_, err := doWithin(t, l, time.Second, func(L *glua.LState) error {
		_, err := DoChunk(L, `
			idle = coroutine.create(function () while true do coroutine.yield("alive") end end)
			assert(coroutine.resume(idle))`, "setup", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, src, status string }{
		{"create", `
			local co = coroutine.create(function () while true do end end)
			local ok, msg = coroutine.resume(co)
			return ok, msg, coroutine.status(co)`, "dead"},
		{"nested", `
			local inner = coroutine.wrap(function () return coroutine.resume(coroutine.create(function () while true do end end)) end)
			local ok, msg = inner()
			return ok, msg, "nested"`, "nested"},
		{"wrap", `
			local w = coroutine.wrap(function () while true do end end)
			local ok, msg = pcall(w)
			return ok, msg, "wrapped"`, "wrapped"},
	} {
		var got []glua.LValue
		_, err = doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
			var err error
			got, err = DoChunk(L, tt.src, tt.name, 3)
			return err
		})
		if err != nil {
			t.Fatalf("%s: the job itself failed: %v", tt.name, err)
		}
		if got[0] != glua.LFalse || !strings.Contains(got[1].String(), tt.name+":2: job over its 200ms budget") || got[2].String() != tt.status {
			t.Errorf("%s: %v, %v, %v; want false, the budget error at line 2, %s", tt.name, got[0], got[1], got[2], tt.status)
		}
	}
	_, err = doWithin(t, l, time.Second, func(L *glua.LState) error {
		rets, err := DoChunk(L, `return coroutine.resume(idle)`, "later", 2)
		if err == nil && (rets[0] != glua.LTrue || rets[1].String() != "alive") {
			err = errors.New("idle coroutine: " + rets[0].String() + " " + rets[1].String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A job that catches the interruption and goes on is stopped for good a
// grace period later: every instruction then raises until it returns.
func TestJobThatCatchesTheInterruptionIsStopped(t *testing.T) {
	l, logs := budgetLoop(t, Options{})
	took, err := doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
		_, err := DoChunk(L, `
			caught = 0
			while true do
				pcall(function () while true do end end)
				caught = caught + 1
			end`, "stubborn", 0)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "job over its 200ms budget") {
		t.Fatalf("error = %v, want the budget error", err)
	}
	if took > 2*time.Second {
		t.Errorf("stopped after %v", took)
	}
	if !strings.Contains(logs.String(), "stopping every Lua instruction") {
		t.Errorf("no escalation logged:\n%s", logs.String())
	}
}

// A pattern that backtracks for ever, in Go, is interrupted too.
func TestCatastrophicPatternInAJobIsInterrupted(t *testing.T) {
	l, logs := budgetLoop(t, Options{})
	took, err := doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
		return pluginChunk(L, "pattern", `local s = ("a"):rep(5000)
return s:find(".-.-.-.-.-x")`)
	})
	if err == nil || !strings.Contains(err.Error(), "mod_pattern.lua:2: job over its 200ms budget") {
		t.Fatalf("error = %v, want the budget error at mod_pattern.lua:2", err)
	}
	if took > time.Second {
		t.Errorf("interrupted after %v", took)
	}
	if !strings.Contains(logs.String(), "[G]: in function 'find'") {
		t.Errorf("traceback does not show the pattern function:\n%s", logs.String())
	}
}

// Interrupted tells the job (on the loop) that it has been interrupted.
func TestInterruptedReportsTheBudgetError(t *testing.T) {
	l, _ := budgetLoop(t, Options{})
	var before, after *BudgetError
	_, _ = doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
		before = l.Interrupted()
		_, err := DoChunk(L, `while true do end`, "spin", 0)
		after = l.Interrupted()
		return err
	})
	if before != nil || after == nil || after.Budget != testBudget {
		t.Errorf("Interrupted before %v, after %v", before, after)
	}
	_, _ = doWithin(t, l, time.Second, func(*glua.LState) error {
		if e := l.Interrupted(); e != nil {
			t.Errorf("next job: Interrupted = %v", e)
		}
		return nil
	})
}

// After Shutdown every job has at most the stop budget, however long its
// own budget is.
func TestShutdownInterruptsJobsWithALongBudget(t *testing.T) {
	l, _ := budgetLoop(t, Options{JobBudget: time.Hour, StopBudget: 300 * time.Millisecond})
	started := make(chan struct{})
	result := make(chan error, 1)
	l.Post(func(L *glua.LState) {
		close(started)
		_, err := DoChunk(L, `while true do end`, "spin", 0)
		result <- err
	})
	<-started
	time.Sleep(400 * time.Millisecond) // an hour's budget: still running
	select {
	case err := <-result:
		t.Fatalf("job ended before Shutdown: %v", err)
	default:
	}
	l.Shutdown()
	select {
	case err := <-result:
		if err == nil || !strings.Contains(err.Error(), "job interrupted: modhost is shutting down") {
			t.Errorf("error = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("not interrupted after Shutdown")
	}
}

// CloseContext bounds the close: queued jobs are dropped and the running
// one interrupted when its context ends.
func TestCloseContextDropsTheQueueWhenItsTimeIsUp(t *testing.T) {
	l := NewLoop(Options{JobBudget: time.Hour, Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil))})
	started := make(chan struct{})
	l.Post(func(L *glua.LState) {
		close(started)
		_, _ = DoChunk(L, `while true do end`, "spin", 0)
	})
	<-started
	queued := make(chan error, 1)
	go func() {
		queued <- l.Do(context.Background(), func(*glua.LState) error { return nil })
	}()
	for l.QueueDepth() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := l.CloseContext(ctxFor(t, 100*time.Millisecond), nil); err != nil {
		t.Fatalf("CloseContext: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed after %v", d)
	}
	if err := <-queued; !errors.Is(err, ErrClosed) {
		t.Errorf("queued Do: %v, want ErrClosed", err)
	}
}

// A job stuck in Go cannot be interrupted: CloseContext says so instead of
// waiting for ever.
func TestCloseContextReportsAJobStuckInGo(t *testing.T) {
	l := NewLoop(Options{Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil))})
	release := make(chan struct{})
	started := make(chan struct{})
	l.Post(func(*glua.LState) { close(started); <-release })
	<-started
	err := l.CloseContext(ctxFor(t, 50*time.Millisecond), nil)
	close(release)
	if !errors.Is(err, ErrStuck) {
		t.Fatalf("CloseContext = %v, want ErrStuck", err)
	}
	<-l.Done()
}

// With the watchdog off the state has no context (the VM skips its check)
// and nothing interrupts a job: CloseContext says the loop is stuck.
func TestWatchdogOff(t *testing.T) {
	l := NewLoop(Options{JobBudget: -1, Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil))})
	started := make(chan struct{})
	release := make(chan struct{})
	l.Post(func(L *glua.LState) {
		if L.Context() != nil {
			t.Error("the state has a context with the watchdog off")
		}
		close(started)
		L.SetGlobal("released", L.NewFunction(func(L *glua.LState) int {
			select {
			case <-release:
				L.Push(glua.LTrue)
			default:
				L.Push(glua.LFalse)
			}
			return 1
		}))
		_, _ = DoChunk(L, `while not released() do end`, "spin", 0)
	})
	<-started
	time.Sleep(100 * time.Millisecond)
	l.Shutdown()
	err := l.CloseContext(ctxFor(t, 100*time.Millisecond), nil)
	close(release)
	if !errors.Is(err, ErrStuck) {
		t.Fatalf("CloseContext = %v, want ErrStuck", err)
	}
	<-l.Done()
}

// DoFirst runs before what is already queued.
func TestDoFirstRunsBeforeTheQueue(t *testing.T) {
	l, _ := budgetLoop(t, Options{})
	release := make(chan struct{})
	started := make(chan struct{})
	l.Post(func(*glua.LState) { close(started); <-release })
	<-started
	var mu sync.Mutex
	var order []string
	l.Post(func(*glua.LState) { mu.Lock(); order = append(order, "queued"); mu.Unlock() })
	first := make(chan error, 1)
	go func() {
		first <- l.DoFirst(context.Background(), func(*glua.LState) error {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			return nil
		})
	}()
	for l.QueueDepth() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	_ = l.Do(context.Background(), func(*glua.LState) error { return nil })
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "first,queued" {
		t.Errorf("order %v", order)
	}
}

// smallJob is a job's worth of ordinary Lua: a loop over a table.
const smallJob = `local t = {} for i = 1, 100 do t[i] = i * 2 end
local s = 0 for i = 1, #t do s = s + t[i] end return s`

// What the watchdog costs the VM: gopher-lua checks a state's context
// before every instruction once it has one (go test -run '^$' -bench
// VMContext ./lua/).
func BenchmarkVMContext(b *testing.B) {
	for _, tt := range []struct {
		name string
		set  func(L *glua.LState)
	}{
		{"none", func(*glua.LState) {}},
		{"interrupter", func(L *glua.LState) { L.SetContext(&interrupter{done: make(chan struct{})}) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			L := glua.NewState()
			defer L.Close()
			tt.set(L)
			fn, err := L.LoadString(smallJob)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				L.Push(fn)
				L.Call(0, 1)
				L.Pop(1)
			}
		})
	}
}

// A small job through the loop, waited for: the whole per-job cost with the
// watchdog's bookkeeping (go test -run '^$' -bench LoopJob ./lua/).
func BenchmarkLoopJob(b *testing.B) {
	l := NewLoop(Options{Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil))})
	defer l.Close(nil)
	var fn *glua.LFunction
	if err := l.Do(context.Background(), func(L *glua.LState) error {
		var err error
		fn, err = Load(L, smallJob, "job")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Do(ctx, func(L *glua.LState) error {
			_, err := Call(L, fn, 1)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// RenewBudget gives each step of a job its own budget.
func TestRenewBudgetGivesEachStepItsOwnBudget(t *testing.T) {
	l, _ := budgetLoop(t, Options{})
	_, err := doWithin(t, l, 5*time.Second, func(L *glua.LState) error {
		L.SetGlobal("now", L.NewFunction(func(L *glua.LState) int {
			L.Push(glua.LNumber(float64(time.Now().UnixNano()) / 1e9))
			return 1
		}))
		for i := 0; i < 3; i++ {
			l.RenewBudget()
			if _, err := DoChunk(L, `local t = now() while now() - t < 0.15 do end`, "step", 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("three 150 ms steps with a 200 ms budget each: %v", err)
	}
	if n := l.JobsRun(); n != 1 {
		t.Errorf("JobsRun = %d, want 1", n)
	}
}
