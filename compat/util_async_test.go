package compat_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua/busted"
)

// The compat specs are also run by `make spec` through the CLI; running them
// here keeps `go test ./compat/` honest on its own.
func TestCompatSpecsPassUnderModhostRunner(t *testing.T) {
	l := newLoop(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := busted.Run(ctx, l, busted.Options{Paths: []string{"spec"}, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Errorf("compat specs: %+v\n%s", sum, out.String())
	}
}

func TestAsyncDoneResumesInALaterLoopJob(t *testing.T) {
	l := newLoop(t)
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
		assert(r.state == "waiting", r.state)
		state.done()
		-- Not resumed inside done(): that happens as a job of its own.
		assert(state.resumed == nil, "resumed synchronously inside done()")
		assert(r.state == "waiting", r.state)
	`)
	testkit.RunLua(t, l, `
		assert(state.resumed == true, "not resumed by the next loop job")
		assert(state.runner.state == "ready", state.runner.state)
	`)
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
