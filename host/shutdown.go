package host

import (
	"context"
	"errors"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
)

// Stopping within a bound, whatever the loop is doing.
//
// A job stuck in the loop used to hold Stop for ever: the HTTP drain waited
// for requests the loop never answered, the unloads queued behind the stuck
// job, and closing the loop waited for it. Now Stop first tells the loop it
// is shutting down (every job, the running one included, gets at most
// lua.StopJobBudget more), drains HTTP for at most half of what ctx leaves,
// runs the unloads before whatever is still queued, and closes the loop
// with what remains: at ctx's end the queue is dropped and the running job
// interrupted. What did not end cleanly is returned.

// drainContext bounds the HTTP drain to half the time ctx leaves, so that
// the unloads keep the other half.
func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
}

// stopLoop unloads every module and closes the loop within ctx.
func (rt *Runtime) stopLoop(ctx context.Context) error {
	var problems, failed []string
	err := rt.loop.DoFirst(ctx, func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `return require "core.modulemanager".unload_all()`, "shutdown", 1)
		if err != nil {
			return err
		}
		if t, ok := rets[0].(*glua.LTable); ok {
			t.ForEach(func(_, v glua.LValue) { failed = append(failed, v.String()) })
		}
		return nil
	})
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		problems = append(problems, "the module unloads did not finish in time")
	case errors.Is(err, lua.ErrClosed):
		// Whoever closed the loop first (modhost test's spec runner)
		// chose not to unload: nothing left to do here.
		return nil
	case err != nil:
		problems = append(problems, "the module unloads failed: "+firstLine(lua.ErrorMessage(err)))
	}
	if len(failed) > 0 {
		problems = append(problems, "modules did not unload cleanly: "+strings.Join(failed, "; "))
	}
	if err := rt.loop.CloseContext(ctx, compat.CloseHTTPClients); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
