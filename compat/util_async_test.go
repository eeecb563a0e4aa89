package compat_test

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/lua/busted"
)

// The compat specs are also run by `make spec` through the CLI; running them
// here keeps `go test ./compat/` honest on its own. The core_* ones are of
// the host's core libraries, which a bare compat loop lacks: host's tests
// run those (TestCoreSpecsPassOnARuntime).
func TestCompatSpecsPassUnderModhostRunner(t *testing.T) {
	l := newLoop(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	files, err := filepath.Glob("spec/*_spec.lua")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "core_") {
			paths = append(paths, f)
		}
	}
	sum, err := busted.Run(ctx, l, busted.Options{Paths: paths, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Errorf("compat specs: %+v\n%s", sum, out.String())
	}
}

// As Prosody's: done() resumes the waiting runner inside the call; with
// the library's default next_tick the runner is ready when done() returns.
func TestAsyncDoneResumesAtOnce(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `
		local async = require "util.async"
		local resumed, done_fn = false, nil
		local r = async.runner(function ()
			local wait, done = async.waiter()
			done_fn = done
			wait()
			resumed = true
		end)
		r:run(true)
		assert(r.state == "waiting", r.state)
		done_fn()
		assert(resumed, "not resumed inside done()")
		assert(r.state == "ready", r.state)
	`)
}

// In a server (ServerAsync, as Prosody's startup does) the resumed work
// still runs inside done(), but the runner goes back to ready, and on to its
// queue, in a later loop job; and sleep waits on util.timer.
func TestServerAsyncDefersReadyAndSleepsOnTheTimer(t *testing.T) {
	l := newLoop(t)
	if err := l.Do(context.Background(), func(L *glua.LState) error { return compat.ServerAsync(L) }); err != nil {
		t.Fatal(err)
	}
	testkit.RunLua(t, l, `
		local async = require "util.async"
		state = {}
		local r = async.runner(function ()
			local wait, done = async.waiter()
			state.done = done
			wait()
			state.resumed = true
		end)
		state.runner = r
		r:run(true)
		state.done()
		assert(state.resumed, "not resumed inside done()")
		assert(r.state == "waiting", "ready before the next tick: " .. r.state)
	`)
	testkit.RunLua(t, l, `assert(state.runner.state == "ready", state.runner.state)`)
	ch := testkit.RunLuaAsync(t, l, `
		local async = require "util.async"
		async.runner(function () async.sleep(0.01); done("slept") end, {
			error = function (_, err) done("error", tostring(err)) end;
		}):run(true)
	`, nil)
	if got := testkit.Await(t, ch, 2*time.Second); got[0] != "slept" {
		t.Errorf("sleep under ServerAsync: %v", got)
	}
}

func TestAsyncWaitOutsideRunnerIsAnError(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `
		local async = require "util.async"
		local ok, err = pcall(async.waiter)
		assert(not ok and err:match("not inside an async runner"), tostring(err))
		assert(async.ready() == false)
	`)
}

func TestModhostLoopPostRunsLater(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `
		posted = {}
		require "modhost.loop".post(function () table.insert(posted, "ran") end)
		assert(#posted == 0, "post ran synchronously")
	`)
	testkit.RunLua(t, l, `assert(posted[1] == "ran", "posted function did not run")`)
}

// A runner holds a coroutine only while it has work or waits inside an
// item: between items it gives the coroutine back, and the next runner
// with work takes that same one (an idle session costs no coroutine). A
// waiting runner keeps its own; an item that raises loses it, and the
// queue goes on in a new one.
func TestAsyncRunnersShareIdleCoroutines(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `
		local async = require "util.async"
		local seen = {}
		local function record() seen[#seen + 1] = coroutine.running() end
		local a = async.runner(function (item) record(); if item == "raise" then error("boom", 0) end end,
			{ error = function () end })
		local b = async.runner(function () record() end)
		a:run(1)
		assert(a.thread == false, "an idle runner keeps no coroutine")
		b:run(1)
		assert(seen[1] == seen[2], "the second runner did not reuse the first one's coroutine")
		a:run("raise")
		a:run(2)
		assert(seen[4] ~= seen[3], "a coroutine that raised was reused")

		local done_fn
		local w = async.runner(function ()
			local wait, done = async.waiter()
			done_fn = done
			wait()
		end)
		w:run(true)
		assert(w.state == "waiting" and w.thread, "a waiting runner gave its coroutine away")
		local held = w.thread
		b:run(2)
		assert(seen[5] ~= held, "another runner ran in a waiting runner's coroutine")
		done_fn()
		assert(w.state == "ready" and w.thread == false, "a runner done waiting kept its coroutine")
	`)
}

// An idle pooled coroutine holds on to neither the runner it last served
// nor that runner's last item: both can be collected.
func TestAsyncIdleCoroutinePinsNoItem(t *testing.T) {
	l := newLoop(t)
	freed := make(chan struct{}, 1)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		ud := L.NewUserData()
		payload := new([1 << 16]byte)
		runtime.SetFinalizer(payload, func(*[1 << 16]byte) { freed <- struct{}{} })
		ud.Value = payload
		_, err := lua.DoChunk(L, `
			local async = require "util.async"
			async.runner(function (item) assert(item ~= nil) end):run(...)
		`, "test", 0, ud)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		runtime.GC()
		select {
		case <-freed:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Error("the item a runner last processed is still reachable from its idle coroutine")
}
