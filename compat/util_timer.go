package compat

import (
	"time"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
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

// timers is util.timer's state for one Lua state. It is only touched on the
// loop goroutine: by Lua calls and by the firings loop.After posts.
type timers struct {
	loop   *lua.Loop
	nextID int
	tasks  map[int]*timerTask
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

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
	if ts.tasks[id] != task || task.generation != generation {
		return
	}
	task.running = true
	now := glua.LNumber(unixSeconds(time.Now()))
	rets, ok := ts.loop.CallLogged(L, "timer callback", task.callback, 1, now, glua.LNumber(id), task.param)
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
	ts.nextID++
	id := ts.nextID
	task := &timerTask{callback: callback, param: L.Get(3)}
	ts.tasks[id] = task
	ts.schedule(id, task, delay)
	L.Push(glua.LNumber(id))
	return 1
}

// stop is stop(id): the task will not run (again), even if it is running now
// and returns a number. Unknown ids are ignored.
func (ts *timers) stop(L *glua.LState) int {
	id := int(L.CheckNumber(1))
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
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"add_task":   ts.addTask,
		"stop":       ts.stop,
		"reschedule": ts.reschedule,
	})
	L.Push(mod)
	return 1
}
