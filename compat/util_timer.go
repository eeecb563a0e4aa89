package compat

import (
	"context"
	"math"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// timerTask is one scheduled callback of util.timer.
type timerTask struct {
	callback glua.LValue
	param    glua.LValue
	// generation counts schedulings, so that a firing posted to the loop
	// before a stop or reschedule could cancel it is recognised as stale.
	generation int
	cancel     func() bool
	running    bool
}

// timers is util.timer's state for one Lua state. Lua calls and firings run
// on the loop goroutine; mu is there for stopAll, which runs on another one
// when the loop closes. mu is never held while Lua runs, so a callback can
// stop or reschedule timers.
type timers struct {
	loop   *lua.Loop
	mu     sync.Mutex
	nextID int
	tasks  map[int]*timerTask
}

// stopAll cancels every pending task, so that a closed loop's timers do not
// keep its Lua state alive until they would have fired.
func (ts *timers) stopAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for id, task := range ts.tasks {
		task.cancel()
		delete(ts.tasks, id)
	}
}

// seconds converts a Lua delay to a Duration: zero, negative and NaN delays
// mean now; delays past what a Duration holds (about 292 years) mean never
// in practice.
func seconds(s float64) time.Duration {
	switch {
	case !(s > 0):
		return 0
	case s >= math.MaxInt64/float64(time.Second):
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// schedule arms task to fire after delay; ts.mu must be held.
func (ts *timers) schedule(id int, task *timerTask, delay float64) {
	task.generation++
	generation := task.generation
	task.cancel = ts.loop.After(seconds(delay), func(L *glua.LState) {
		ts.fire(L, id, task, generation)
	})
}

// fire runs a task's callback as callback(now, id, param). A number returned
// runs it again that many seconds later, unless the callback stopped it.
func (ts *timers) fire(L *glua.LState, id int, task *timerTask, generation int) {
	ts.mu.Lock()
	current := ts.tasks[id] == task && task.generation == generation
	task.running = current
	ts.mu.Unlock()
	if !current {
		return
	}
	now := glua.LNumber(unixSeconds(time.Now()))
	rets, ok := ts.loop.CallLogged(L, "timer callback", task.callback, 1, now, glua.LNumber(id), task.param)

	ts.mu.Lock()
	defer ts.mu.Unlock()
	task.running = false
	if ts.tasks[id] != task {
		return // stopped from inside the callback
	}
	if ok && len(rets) == 1 {
		if again, isNum := rets[0].(glua.LNumber); isNum {
			ts.schedule(id, task, float64(again))
			return
		}
	}
	delete(ts.tasks, id)
}

// addTask is add_task(delay, callback[, param]) → id.
func (ts *timers) addTask(L *glua.LState) int {
	delay := float64(L.CheckNumber(1))
	callback := L.CheckAny(2)
	if callback == glua.LNil {
		L.ArgError(2, "callback expected")
	}
	task := &timerTask{callback: callback, param: L.Get(3)}
	ts.mu.Lock()
	ts.nextID++
	id := ts.nextID
	ts.tasks[id] = task
	ts.schedule(id, task, delay)
	ts.mu.Unlock()
	L.Push(glua.LNumber(id))
	return 1
}

// stop is stop(id): the task will not run (again), even if it is running now
// and returns a number. Unknown ids are ignored.
func (ts *timers) stop(L *glua.LState) int {
	id := int(L.CheckNumber(1))
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if task, ok := ts.tasks[id]; ok {
		task.cancel()
		delete(ts.tasks, id)
	}
	return 0
}

// reschedule is reschedule(id, delay): a pending task runs delay seconds from
// now instead of when it was due. As with Prosody's default (epoll) backend it
// does nothing to a task that is not waiting: an unknown id, or a task whose
// callback is running (its return value decides).
func (ts *timers) reschedule(L *glua.LState) int {
	id := int(L.CheckNumber(1))
	delay := float64(L.CheckNumber(2))
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if task, ok := ts.tasks[id]; ok && !task.running {
		task.cancel()
		ts.schedule(id, task, delay)
	}
	return 0
}

// openTimer is util.timer, run on the loop that owns L: callbacks run on the
// loop goroutine and an error in one is logged with its traceback.
func openTimer(L *glua.LState) int {
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("util.timer needs a modhost loop")
	}
	ts := &timers{loop: loop, tasks: map[int]*timerTask{}}
	context.AfterFunc(loop.Context(), ts.stopAll)
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"add_task":   ts.addTask,
		"stop":       ts.stop,
		"reschedule": ts.reschedule,
	})
	L.Push(mod)
	return 1
}
