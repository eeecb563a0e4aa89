package compat_test

import (
	"context"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
)

func TestDeferPromiseTicksRunsHandlersInALaterLoopJob(t *testing.T) {
	l := newLoop(t)
	err := l.Do(context.Background(), func(L *glua.LState) error { return compat.DeferPromiseTicks(L) })
	if err != nil {
		t.Fatal(err)
	}
	ch := runLuaAsync(t, l, `
		local promise = require "util.promise"
		local seen = "not yet"
		promise.resolve("later"):next(function (v) seen = v; done("handler", v) end)
		done("same job", seen)
	`, nil)
	first, second := await(t, ch, time.Second), await(t, ch, time.Second)
	if first[0] != "same job" || first[1] != "not yet" || second[0] != "handler" || second[1] != "later" {
		t.Errorf("got %v then %v, want the handler to run after the job that attached it", first, second)
	}
}
