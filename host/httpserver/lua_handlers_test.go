package httpserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
)

// mountLua runs src (a chunk returning a route table) on a fresh loop and
// mounts its routes at /app.
func mountLua(t *testing.T, cfg Config, src string) (*lua.Loop, string) {
	t.Helper()
	loop := lua.NewLoop(lua.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { loop.Close(nil) })
	s, base := startServer(t, cfg)
	var routes []Route
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, src, "routes_test.lua", 1)
		if err != nil {
			return err
		}
		routes, err = LuaRoutes(loop, L, rets[0].(*glua.LTable), "http_test")
		return err
	})
	if err != nil {
		t.Fatalf("LuaRoutes: %v", err)
	}
	mustMount(t, s, "/app", routes)
	return loop, base
}

const luaRoutes = `
local function show(v) if v == nil then return "nil" end return tostring(v) end
return {
	["GET /string"] = function() return "hello" end;
	["GET /status204"] = function() return 204 end;
	["GET /status403"] = function() return 403 end;
	["GET /nil"] = function() end;
	["GET /false"] = function() return false end;
	["GET /table"] = function()
		return { status_code = 201, headers = { content_type = "text/plain", x_made = "yes" }, body = "made" };
	end;
	["GET /status-then-string"] = function(event)
		event.response.status_code = 202;
		event.response.headers.x_reply = 42;
		return "accepted";
	end;
	["GET /send-now"] = function(event)
		event.response:send("sent");
		return true;
	end;
	["GET /later"] = function(event)
		pending = event.response;
		return true;
	end;
	["GET /never"] = function() return true end;
	["GET /error"] = function() error("handler broke") end;
	["GET /files/*"] = function(event, rest) return "rest=" .. show(rest) end;
	["GET /plain"] = function(event, rest) return "rest=" .. show(rest) end;
	["GET /constant"] = "constant body";
	["GET"] = function() return "base" end;
	["/nomethod"] = function() return "must not be routed" end;
	["post /echo"] = function(event)
		local req = event.request;
		event.response.headers.content_type = "text/plain";
		return table.concat({
			req.method, req.path, req.url.path, show(req.url.query),
			show(req.headers.content_type), show(req.headers.x_custom_thing),
			req.body, req.ip, show(req.secure), req.conn:ip(), req.httpversion,
		}, "|");
	end;
}
`

func TestLuaHandlerReturnValuesAsProsody(t *testing.T) {
	cfg := testConfig()
	cfg.HandlerDeadline = 300 * time.Millisecond
	_, base := mountLua(t, cfg, luaRoutes)
	tests := []struct {
		path        string
		status      int
		body        string // "" with jsonErr: checked as a JSON error
		jsonErr     bool
		contentType string
		header      [2]string
	}{
		{path: "/string", status: 200, body: "hello"},
		{path: "/status204", status: 204},
		{path: "/status403", status: 403, jsonErr: true},
		{path: "/nil", status: 404, jsonErr: true},
		{path: "/false", status: 200},
		{path: "/table", status: 201, body: "made", contentType: "text/plain", header: [2]string{"X-Made", "yes"}},
		{path: "/status-then-string", status: 202, body: "accepted", header: [2]string{"X-Reply", "42"}},
		{path: "/send-now", status: 200, body: "sent"},
		{path: "/never", status: 504, jsonErr: true},
		{path: "/error", status: 500, jsonErr: true},
		{path: "/files/a/b%20c", status: 200, body: "rest=a/b c"},
		{path: "/files/", status: 200, body: "rest="},
		{path: "/plain", status: 200, body: "rest=nil"},
		{path: "/constant", status: 200, body: "constant body"},
		{path: "", status: 200, body: "base"},
		{path: "/nomethod", status: 404, jsonErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := do(t, nil, "GET", base+"/app"+tt.path, nil, nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if tt.jsonErr {
				jsonError(t, r)
				return
			}
			if r.body != tt.body {
				t.Errorf("body = %q, want %q", r.body, tt.body)
			}
			if got := r.header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q (Prosody sets none by itself)", got, tt.contentType)
			}
			if tt.header[0] != "" && r.header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s = %q, want %q", tt.header[0], r.header.Get(tt.header[0]), tt.header[1])
			}
		})
	}
}

func TestLuaRequestObjectAsProsody(t *testing.T) {
	_, base := mountLua(t, testConfig(), luaRoutes)
	r := do(t, nil, "POST", base+"/app//echo?a=1&b=%20", strings.NewReader("payload"),
		map[string]string{"Content-Type": "application/json", "X-Custom-Thing": "v"})
	want := "POST|/app/echo|/app//echo|a=1&b=%20|application/json|v|payload|127.0.0.1|false|127.0.0.1|1.1"
	if r.status != 200 || r.body != want {
		t.Errorf("got %d %q\nwant %q", r.status, r.body, want)
	}
}

func TestLuaResponseSentLaterByResponseSend(t *testing.T) {
	loop, base := mountLua(t, testConfig(), luaRoutes)
	got := make(chan result, 1)
	go func() { got <- do(t, nil, "GET", base+"/app/later", nil, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var sent bool
		err := loop.Do(context.Background(), func(L *glua.LState) error {
			_, err := lua.DoChunk(L, `
				if not pending then return end
				pending.status_code = 200
				pending.headers.content_type = "text/plain"
				pending:send("later")
				pending:send("twice is ignored")
				sent = true`, "later.lua", 0)
			sent = L.GetGlobal("sent") == glua.LTrue
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("handler never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := <-got
	if r.status != 200 || r.body != "later" || r.header.Get("Content-Type") != "text/plain" {
		t.Errorf("got %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
	}
}

func TestLuaRoutesRejectsMissingTableAndKeepsValidKeys(t *testing.T) {
	loop := lua.NewLoop(lua.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer loop.Close(nil)
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		if _, err := LuaRoutes(loop, L, nil, "m"); err == nil {
			t.Error("nil route table accepted")
		}
		rets, err := lua.DoChunk(L, `return { ["/bad"] = 1, [1] = 2, ["GET /ok"] = 3, ["delete /x/*"] = 4 }`, "t.lua", 1)
		if err != nil {
			return err
		}
		routes, err := LuaRoutes(loop, L, rets[0].(*glua.LTable), "m")
		if err != nil {
			return err
		}
		var got []string
		for _, r := range routes {
			got = append(got, r.Method+" "+r.Path)
		}
		if strings.Join(got, ",") != "DELETE /x/*,GET /ok" {
			t.Errorf("routes = %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseRouteKeyAsModHTTP(t *testing.T) {
	tests := []struct {
		key, method, path string
		ok                bool
	}{
		{"GET /x", "GET", "/x", true},
		{"post /refresh", "POST", "/refresh", true},
		{"GET /refresh/*", "GET", "/refresh/*", true},
		{"GET", "GET", "", true},
		{"/x", "", "", false},
		{"GET  /spaced", "GET", "/spaced", true},
	}
	for _, tt := range tests {
		m, p, ok := parseRouteKey(tt.key)
		if m != tt.method || p != tt.path || ok != tt.ok {
			t.Errorf("parseRouteKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, m, p, ok, tt.method, tt.path, tt.ok)
		}
	}
}

func TestLuaHandlersRunConcurrentlyWithoutBlockingEachOther(t *testing.T) {
	_, base := mountLua(t, testConfig(), luaRoutes)
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		go func() {
			req, _ := http.NewRequest("GET", base+"/app/string", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "hello" {
				errs <- resp.Status + " " + string(b)
				return
			}
			errs <- ""
		}()
	}
	for i := 0; i < 20; i++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

func TestLuaErrorIsLoggedWithTracebackNotShownToClient(t *testing.T) {
	var logs testkit.SyncBuffer
	loop := lua.NewLoop(lua.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { loop.Close(nil) })
	s, base := startServer(t, testConfig())
	var routes []Route
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `
			local function deeper() error("handler broke") end
			return { ["GET /error"] = function() deeper() end }`, "mod_http_broken.lua", 1)
		if err != nil {
			return err
		}
		routes, err = LuaRoutes(loop, L, rets[0].(*glua.LTable), "http_broken")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustMount(t, s, "/app", routes)
	r := do(t, nil, "GET", base+"/app/error", nil, nil)
	if r.status != 500 {
		t.Fatalf("status = %d, want 500", r.status)
	}
	if msg := jsonError(t, r); strings.Contains(msg, "handler broke") {
		t.Errorf("the Lua error leaked to the client: %q", msg)
	}
	out := logs.String()
	for _, want := range []string{"handler broke", "mod_http_broken.lua:3", "source=http_broken", "stack traceback"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// A handler that loops for ever is interrupted by the loop's watchdog: its
// request gets a JSON 504 saying so, the error is logged with the route,
// and the loop serves the next request.
func TestLuaHandlerOverItsJobBudgetAnswers504(t *testing.T) {
	var logs testkit.SyncBuffer
	loop := lua.NewLoop(lua.Options{JobBudget: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { loop.Close(nil) })
	s, base := startServer(t, testConfig())
	var routes []Route
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `
			return {
				["GET /spin"] = function()
					while true do end
				end;
				["GET /fine"] = function() return "fine" end;
			}`, "mod_http_spin.lua", 1)
		if err != nil {
			return err
		}
		routes, err = LuaRoutes(loop, L, rets[0].(*glua.LTable), "http_spin")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustMount(t, s, "/app", routes)
	start := time.Now()
	r := do(t, nil, "GET", base+"/app/spin", nil, nil)
	if r.status != http.StatusGatewayTimeout {
		t.Fatalf("status = %d (%s), want 504", r.status, r.body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %v", took)
	}
	if msg := jsonError(t, r); !strings.Contains(msg, "job over its 200ms budget (lua_job_timeout)") {
		t.Errorf("error = %q", msg)
	}
	if r := do(t, nil, "GET", base+"/app/fine", nil, nil); r.status != 200 || r.body != "fine" {
		t.Errorf("next request: %d %q", r.status, r.body)
	}
	out := logs.String()
	for _, want := range []string{"error in HTTP handler", "route=\"GET /spin\"", "mod_http_spin.lua:4: job over its 200ms budget", "where=mod_http_spin.lua:4"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
