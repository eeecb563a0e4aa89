package compat_test

import (
	"context"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
)

// newLoop starts a loop with every compat library, closed when the test ends.
func newLoop(t testing.TB) *lua.Loop { return testkit.NewLoop(t, compat.Libraries()) }

func TestEveryLibraryLoads(t *testing.T) {
	l := newLoop(t)
	for _, lib := range compat.Libraries() {
		name := lib.Name
		err := l.Do(context.Background(), func(L *glua.LState) error {
			_, err := lua.DoChunk(L, `local m = require(...); assert(m ~= nil, "nil module")`, "test", 0, glua.LString(name))
			return err
		})
		if err != nil {
			t.Errorf("require %q: %v", name, err)
		}
	}
}

func TestEventsPriorityAndChainStop(t *testing.T) {
	l := newLoop(t)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `
			local events = require "util.events".new()
			local seen = {}
			events.add_handler("e", function() seen[#seen+1] = "low" end, -1)
			events.add_handler("e", function() seen[#seen+1] = "a" end)
			events.add_handler("e", function() seen[#seen+1] = "high"; end, 10)
			events.add_handler("e", function() seen[#seen+1] = "b"; return "stop" end)
			assert(events.fire_event("e", {}) == "stop")
			assert(table.concat(seen, ",") == "high,a,b", table.concat(seen, ","))
		`, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// observed (modhost's, not Prosody's) says whether firing an event would
// reach anything: a handler, a wrapper of it, or a wrapper of every event.
func TestEventsObservedCountsHandlersAndWrappers(t *testing.T) {
	l := newLoop(t)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `
			local events = require "util.events".new()
			local function says() return tostring(events.observed("e")) .. tostring(events.observed("other")) end
			local steps = { says() }
			local h = function() end
			events.add_handler("e", h); steps[#steps+1] = says()
			events.remove_handler("e", h); steps[#steps+1] = says()
			local w = function(handlers, name, data) return handlers(name, data) end
			events.add_wrapper("e", w); steps[#steps+1] = says()
			events.remove_wrapper("e", w); steps[#steps+1] = says()
			events.add_wrapper(false, w); steps[#steps+1] = says()
			events.remove_wrapper(false, w); steps[#steps+1] = says()
			local got = table.concat(steps, " ")
			assert(got == "falsefalse truefalse falsefalse truefalse falsefalse truetrue falsefalse", got)
		`, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A function posted while the runtime stops (an HTTP answer resuming a
// login as the loop closes) is dropped quietly: post says false, no error.
func TestLoopPostAfterCloseIsDroppedQuietly(t *testing.T) {
	l := lua.NewLoop(lua.Options{Libraries: compat.Libraries()})
	result := make(chan string, 1)
	l.Post(func(L *glua.LState) {
		go l.Close(nil)
		deadline := time.Now().Add(5 * time.Second)
		for l.Post(func(*glua.LState) {}) {
			if time.Now().After(deadline) {
				result <- "the loop never closed"
				return
			}
			time.Sleep(time.Millisecond)
		}
		rets, err := lua.DoChunk(L, `return require "modhost.loop".post(function () end)`, "test", 1)
		switch {
		case err != nil:
			result <- "post raised: " + lua.ErrorMessage(err)
		case rets[0] != glua.LFalse:
			result <- "post returned " + rets[0].String()
		default:
			result <- ""
		}
	})
	select {
	case msg := <-result:
		if msg != "" {
			t.Fatal(msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	<-l.Done()
}
