package httpserver

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// Stand-ins with the surface of Prosody's util.async, util.promise and
// util.error that the dispatcher relies on, so its use of them is pinned
// before the real compat libraries exist.
var fakeLibraries = []lua.Library{
	{Name: "util.async", Source: `
		local waiting, runners = {}, setmetatable({}, { __mode = "k" })
		local function runner(func, watchers)
			local r = { watchers = watchers }
			function r:run(input)
				local co = coroutine.create(func)
				runners[co] = self
				local ok, err = coroutine.resume(co, input)
				if not ok then watchers.error(self, err) end
			end
			return r
		end
		local function wait()
			waiting[#waiting + 1] = coroutine.running()
			return coroutine.yield()
		end
		local function wake(v)
			local list = waiting
			waiting = {}
			for _, co in ipairs(list) do
				local ok, err = coroutine.resume(co, v)
				if not ok then runners[co].watchers.error(runners[co], err) end
			end
			return #list
		end
		return { runner = runner, wait = wait, wake = wake }`},
	{Name: "util.promise", Source: `
		local mt = {}
		mt.__index = mt
		local pending = {}
		function mt:next(ok, fail) self.ok, self.fail = ok, fail end
		local function new() local p = setmetatable({}, mt); pending[#pending + 1] = p; return p end
		local function settle(resolve, v)
			local list = pending
			pending = {}
			for _, p in ipairs(list) do if resolve then p.ok(v) else p.fail(v) end end
			return #list
		end
		return { new = new, settle = settle, is_promise = function(v) return getmetatable(v) == mt end }`},
	{Name: "util.error", Source: `
		local mt = {}
		return {
			new = function(e) return setmetatable(e, mt) end,
			is_err = function(v) return getmetatable(v) == mt end,
		}`},
}

const optionalLibRoutes = `
local async = require "util.async"
local promise = require "util.promise"
local errors = require "util.error"
return {
	["GET /wait"] = function() return "woke with " .. async.wait() end;
	["GET /promise"] = function() return promise.new() end;
	["GET /error-object"] = function() return errors.new({ code = 409, text = "already there" }) end;
	["GET /error-after-wait"] = function() async.wait(); error("late failure") end;
}
`

func TestLuaHandlersMayWaitAndReturnPromisesOrErrorObjects(t *testing.T) {
	loop := lua.NewLoop(lua.Options{Libraries: fakeLibraries, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { loop.Close(nil) })
	cfg := testConfig()
	cfg.HandlerDeadline = 3 * time.Second
	s, base := startServer(t, cfg)
	var routes []Route
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, optionalLibRoutes, "routes.lua", 1)
		if err != nil {
			return err
		}
		routes, err = LuaRoutes(loop, L, rets[0].(*glua.LTable), "http_test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustMount(t, s, "/app", routes)

	// settle runs code on the loop until it reports it found a waiting handler.
	settle := func(code string) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			var n int
			err := loop.Do(context.Background(), func(L *glua.LState) error {
				rets, err := lua.DoChunk(L, code, "settle.lua", 1)
				if err == nil {
					n = int(glua.LVAsNumber(rets[0]))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return
			}
		}
		t.Fatal("no handler was waiting")
	}
	tests := []struct {
		name, path, settle string
		status             int
		body               string
	}{
		{"handler waits in an async runner", "/wait", `return require "util.async".wake("news")`, 200, "woke with news"},
		{"resolved promise answers", "/promise", `return require "util.promise".settle(true, "kept")`, 200, "kept"},
		{"rejected promise is 500", "/promise", `return require "util.promise".settle(false, nil)`, 500, ""},
		{"error object gives its code", "/error-object", "", 409, `{"error":"already there"}` + "\n"},
		{"error after waiting is 500", "/error-after-wait", `return require "util.async".wake("x")`, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan result, 1)
			go func() { got <- do(t, nil, "GET", base+"/app"+tt.path, nil, nil) }()
			if tt.settle != "" {
				settle(tt.settle)
			}
			r := <-got
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if tt.body != "" && r.body != tt.body {
				t.Errorf("body = %q, want %q", r.body, tt.body)
			}
		})
	}
}
