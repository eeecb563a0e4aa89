package compat_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
)

// timerLoop starts a recorded loop where Lua's note(s) sends s to the
// returned channel, so tests can wait for timer callbacks.
func timerLoop(t *testing.T) (*lua.Loop, *recorder, <-chan string) {
	t.Helper()
	l, rec := newRecordedLoop(t)
	notes := make(chan string, 100)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		L.SetGlobal("note", L.NewFunction(func(L *glua.LState) int {
			notes <- L.CheckString(1)
			return 0
		}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, rec, notes
}

// expectNotes waits for want, in order, then checks nothing more arrives
// within quiet.
func expectNotes(t *testing.T, notes <-chan string, quiet time.Duration, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-notes:
			if got != w {
				t.Fatalf("got note %q, want %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for note %q", w)
		}
	}
	select {
	case got := <-notes:
		t.Fatalf("unexpected note %q", got)
	case <-time.After(quiet):
	}
}

func TestTimer(t *testing.T) {
	tests := []struct {
		name string
		lua  string
		want []string
	}{
		{
			name: "fires once with now, id and param",
			lua: `
				local before = os.time()
				local id; id = timer.add_task(0.01, function(now, got_id, param)
					assert(type(now) == "number" and now >= before - 1 and now <= os.time() + 1, "now")
					assert(got_id == id, "id")
					note("fired " .. param)
				end, "p")`,
			want: []string{"fired p"},
		},
		{
			name: "a number returned runs it again that much later",
			lua: `
				local n = 0
				timer.add_task(0, function()
					n = n + 1
					note("run " .. n)
					if n < 3 then return 0.01 end
				end)`,
			want: []string{"run 1", "run 2", "run 3"},
		},
		{
			name: "param is kept across reruns",
			lua: `
				local n = 0
				timer.add_task(0, function(_, _, param)
					n = n + 1
					note(param .. n)
					if n < 2 then return 0 end
				end, "x")`,
			want: []string{"x1", "x2"},
		},
		{
			name: "stop before it fires",
			lua: `
				local id = timer.add_task(0.02, function() note("stopped timer fired") end)
				timer.stop(id)
				timer.add_task(0.05, function() note("other") end)`,
			want: []string{"other"},
		},
		{
			name: "stop from inside the callback wins over the return value",
			lua: `
				timer.add_task(0, function(_, id)
					note("once")
					timer.stop(id)
					return 0.01
				end)`,
			want: []string{"once"},
		},
		{
			name: "stop of an unknown id is ignored",
			lua: `
				timer.stop(12345)
				assert(select("#", timer.stop(12345)) == 0)
				note("ok")`,
			want: []string{"ok"},
		},
		{
			name: "reschedule sooner",
			lua: `
				local id = timer.add_task(3600, function() note("soon") end)
				timer.reschedule(id, 0.01)`,
			want: []string{"soon"},
		},
		{
			name: "reschedule later runs it only once, later",
			lua: `
				-- 0.05 s against 0.5 s: far enough apart that a loaded
				-- machine cannot swap them (it once did at 0.05 against 0.1)
				local id = timer.add_task(0.01, function() note("late") end)
				timer.reschedule(id, 0.5)
				timer.add_task(0.05, function() note("first") end)`,
			want: []string{"first", "late"},
		},
		{
			name: "reschedule inside the callback leaves it to the return value",
			lua: `
				local n = 0
				timer.add_task(0, function(_, id)
					n = n + 1
					note("run " .. n)
					timer.reschedule(id, 0)
				end)`,
			want: []string{"run 1"},
		},
		{
			name: "ids are distinct",
			lua: `
				local a = timer.add_task(3600, print)
				local b = timer.add_task(3600, print)
				assert(type(a) == "number" and a ~= b)
				timer.stop(a); timer.stop(b)
				note("ok")`,
			want: []string{"ok"},
		},
		{
			name: "a negative delay means now",
			lua:  `timer.add_task(-5, function() note("now") end)`,
			want: []string{"now"},
		},
		{
			name: "a delay too long for a Duration does not fire",
			lua: `
				timer.add_task(1e300, function() note("far future") end)
				note("ok")`,
			want: []string{"ok"},
		},
		{
			name: "tasks run in order of due time",
			lua: `
				timer.add_task(0.06, function() note("c") end)
				timer.add_task(0.01, function() note("a") end)
				timer.add_task(0.03, function() note("b") end)`,
			want: []string{"a", "b", "c"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, rec, notes := timerLoop(t)
			testkit.RunLua(t, l, `local timer = require "util.timer"; `+tc.lua)
			expectNotes(t, notes, 150*time.Millisecond, tc.want...)
			for _, r := range rec.take() {
				if r.level >= slog.LevelError {
					t.Errorf("unexpected error log: %s %v", r.msg, r.attrs)
				}
			}
		})
	}
}

func TestTimerCallbackErrorIsLoggedAndLoopGoesOn(t *testing.T) {
	l, rec, notes := timerLoop(t)
	testkit.RunLua(t, l, `
		local timer = require "util.timer"
		local function explode() error("kaboom") end
		timer.add_task(0, function() explode(); return 0.01 end)
		timer.add_task(0.03, function() note("still running") end)
	`)
	// The failing task is not rerun: an error is not a number.
	expectNotes(t, notes, 100*time.Millisecond, "still running")
	var found bool
	for _, r := range rec.take() {
		if r.level == slog.LevelError && strings.Contains(r.attrs["error"], "kaboom") {
			found = true
			if !strings.Contains(r.attrs["traceback"], "explode") {
				t.Errorf("traceback does not show the failing function: %q", r.attrs["traceback"])
			}
		}
	}
	if !found {
		t.Error("the callback's error was not logged")
	}
}

func TestTimerArgumentErrors(t *testing.T) {
	l, _, _ := timerLoop(t)
	testkit.RunLua(t, l, `
		local timer = require "util.timer"
		assert(not pcall(timer.add_task, "soon", print))
		assert(not pcall(timer.add_task, 1))
		assert(not pcall(timer.stop))
	`)
}
