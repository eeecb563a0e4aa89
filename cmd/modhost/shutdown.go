package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modhost/modhost/host"
)

// shutdownBound is how long `modhost run` takes at most to stop after
// SIGINT or SIGTERM, whatever the Lua loop is doing: the running job is
// interrupted (2 s at most, lua.StopJobBudget), HTTP requests in flight
// are drained for half the bound, the modules' unloads run in what is
// left, and at the end whatever is still queued is dropped.
const shutdownBound = 10 * time.Second

// shutdownGrace is how long after shutdownBound modhost still waits for
// Stop before it exits anyway (a stop that ignores its context).
const shutdownGrace = 2 * time.Second

// shutdown stops rt after the first signal; releaseSignals undoes the
// signal.NotifyContext that caught it. It returns the exit code: 0 after a
// clean stop, 1 when modules did not unload cleanly or something did not
// stop in time (Stop logs "shutdown was not clean: …"), and 1 at once on a
// second signal.
func shutdown(rt *host.Runtime, log *slog.Logger, releaseSignals func()) int {
	second := make(chan os.Signal, 1)
	signal.Notify(second, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(second)
	releaseSignals()
	log.Info("shutting down: unloading modules and draining HTTP (at most " + shutdownBound.String() + "; a second signal exits at once)")
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownBound)
		defer cancel()
		stopped <- rt.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		if err != nil {
			return 1 // Stop has logged what was not clean
		}
		return 0
	case sig := <-second:
		log.Error("second signal (" + sig.String() + "): exiting now, without finishing the shutdown")
		return 1
	case <-time.After(shutdownBound + shutdownGrace):
		log.Error("shutdown still not finished after " + (shutdownBound + shutdownGrace).String() + ": exiting anyway")
		return 1
	}
}
