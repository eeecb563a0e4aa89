package host

import (
	"time"

	"github.com/modhost/modhost/lua"
)

// jobBudget reads lua_job_timeout (seconds, global): how long one job on
// the Lua loop (an HTTP handler's turn, a timer, an event, a module load)
// may run before it is interrupted. Default lua.DefaultJobBudget; 0 turns
// the watchdog off: Lua runs without the VM's check before every
// instruction, and nothing interrupts a stuck job, not even at shutdown
// (modhost then exits 1 at the shutdown bound, saying the loop is stuck).
func (rt *Runtime) jobBudget() time.Duration {
	v, set := rt.cfg.Global.Options["lua_job_timeout"]
	if !set {
		return lua.DefaultJobBudget
	}
	n, ok := v.(float64)
	switch {
	case !ok || n < 0:
		rt.log.Warn("lua_job_timeout must be a number of seconds (0 for no budget); using the default",
			"value", v, "default", lua.DefaultJobBudget)
		return lua.DefaultJobBudget
	case n == 0:
		return -1
	}
	return time.Duration(n * float64(time.Second))
}
