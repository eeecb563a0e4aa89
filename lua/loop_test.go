package lua

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

func TestObserveWaitReportsHowLongEachJobQueued(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	l := NewLoop(Options{ObserveWait: func(d time.Duration) {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
	}})
	defer l.Close(nil)

	// The first job holds the loop; the second waits behind it.
	release := make(chan struct{})
	started := make(chan struct{})
	l.Post(func(*glua.LState) { close(started); <-release })
	<-started
	done := make(chan struct{})
	l.Post(func(*glua.LState) { close(done) })
	if d := l.QueueDepth(); d != 1 {
		t.Errorf("QueueDepth with one job waiting = %d, want 1", d)
	}
	const held = 30 * time.Millisecond
	time.Sleep(held)
	close(release)
	<-done
	if err := l.Do(context.Background(), func(*glua.LState) error { return nil }); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 3 {
		t.Fatalf("observed %d waits, want one per job (3): %v", len(waits), waits)
	}
	if waits[1] < held {
		t.Errorf("job queued behind a %v job waited %v", held, waits[1])
	}
	if got := l.JobsRun(); got != 3 {
		t.Errorf("JobsRun = %d, want 3", got)
	}
}

// A util.async runner keeps its coroutine for the life of a session, so an
// idle coroutine must cost a few KiB, not the ~100 KiB of gopher-lua's
// default fixed registry and call stack.
func TestIdleCoroutinesStartSmall(t *testing.T) {
	l := NewLoop(Options{})
	defer l.Close(nil)
	const n = 500
	var before, after runtime.MemStats
	err := l.Do(context.Background(), func(L *glua.LState) error {
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := DoChunk(L, `
			local keep = {}
			for i = 1, ... do
				local co = coroutine.create(function () while true do coroutine.yield() end end)
				coroutine.resume(co)
				keep[i] = co
			end
			_G.kept_coroutines = keep`, "test", 0, glua.LNumber(n))
		runtime.GC()
		runtime.ReadMemStats(&after)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	perCoroutine := (int64(after.HeapInuse) - int64(before.HeapInuse)) / n
	if perCoroutine > 16<<10 {
		t.Errorf("an idle coroutine costs %d bytes of heap, want at most 16 KiB", perCoroutine)
	}
	t.Logf("idle coroutine: %d bytes", perCoroutine)
}

// Registry and call stack grow on demand: deep recursion with many values
// on the stack still works inside a coroutine, up to the usual limits.
func TestCoroutinesGrowTheirStacksOnDemand(t *testing.T) {
	l := NewLoop(Options{})
	defer l.Close(nil)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		_, err := DoChunk(L, `
			local function deep(n, ...)
				if n == 0 then return select("#", ...) end
				return 1 + deep(n - 1, ...)
			end
			local co = coroutine.create(function (...) return deep(150, ...) end)
			local ok, got = coroutine.resume(co, unpack((function ()
				local t = {} for i = 1, 20 do t[i] = i end return t end)()))
			assert(ok, got)
			assert(got == 170, got)
			local ok2, err = pcall(function () local function f() return 1 + f() end return f() end)
			assert(not ok2 and tostring(err):find("overflow"), err)`, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
