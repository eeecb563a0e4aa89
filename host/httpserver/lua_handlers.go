package httpserver

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

//go:embed lua_dispatch.lua
var dispatchSource string

const dispatchRegistryKey = "modhost.httpserver.dispatch"

// routeKey is mod_http's reading of a route key: "METHOD /path", or a bare
// "METHOD" for the app's base path.
var routeKey = regexp.MustCompile(`^(\S+)\s+(.+)$`)

// parseRouteKey splits a route key as mod_http does. A key starting with "/"
// (no method) is invalid in Prosody 0.12, which logs it and skips it.
func parseRouteKey(key string) (method, path string, ok bool) {
	if m := routeKey.FindStringSubmatch(key); m != nil {
		method, path = m[1], m[2]
	} else {
		method, path = key, ""
	}
	if method == "" || strings.HasPrefix(method, "/") {
		return "", "", false
	}
	return strings.ToUpper(method), path, true
}

// LuaRoutes turns the `route` table of a plugin's module:provides("http",
// { route = … }) into Routes whose handlers run the Lua functions on loop.
// Keys are "METHOD /path" (a trailing "/*" captures the rest, passed as the
// handler's second argument) or "METHOD" for the base path; a value that is
// not a function is answered as if a handler returned it. Invalid keys are
// logged and skipped, as mod_http does. It must run on the loop goroutine.
func LuaRoutes(loop *lua.Loop, L *glua.LState, routes *glua.LTable, owner string) ([]Route, error) {
	if routes == nil {
		return nil, fmt.Errorf("http app of %s provides no 'route' table", owner)
	}
	serve, err := dispatcher(L)
	if err != nil {
		return nil, err
	}
	log := loop.Logger(owner)
	type keyed struct {
		key   string
		route Route
	}
	var out []keyed
	routes.ForEach(func(k, v glua.LValue) {
		key, ok := k.(glua.LString)
		if !ok {
			log.Error("invalid HTTP route key, skipped", "key", k.String())
			return
		}
		method, path, ok := parseRouteKey(string(key))
		if !ok {
			log.Error("invalid HTTP route (expected \"METHOD /path\"), skipped", "key", string(key))
			return
		}
		fn, isFunc := v.(*glua.LFunction)
		if !isFunc {
			value := v
			fn = L.NewFunction(func(L *glua.LState) int {
				L.Push(value)
				return 1
			})
		}
		h := &luaHandler{
			loop:     loop,
			log:      log,
			serve:    serve,
			fn:       fn,
			route:    string(key),
			wildcard: isFunc && strings.HasSuffix(path, "/*"),
		}
		out = append(out, keyed{method + " " + path, Route{Method: method, Path: path, Handler: h.ServeRoute, Queued: true}})
	})
	// Table order is random; a stable order keeps conflict errors stable.
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	result := make([]Route, len(out))
	for i, k := range out {
		result[i] = k.route
	}
	return result, nil
}

// dispatcher loads lua_dispatch.lua once per Lua state.
func dispatcher(L *glua.LState) (*glua.LFunction, error) {
	if fn, ok := L.G.Registry.RawGetString(dispatchRegistryKey).(*glua.LFunction); ok {
		return fn, nil
	}
	rets, err := lua.DoChunk(L, dispatchSource, "host/httpserver/lua_dispatch.lua", 1)
	if err != nil {
		return nil, fmt.Errorf("load HTTP dispatcher: %w", err)
	}
	fn, ok := rets[0].(*glua.LFunction)
	if !ok {
		return nil, fmt.Errorf("load HTTP dispatcher: got %s, want a function", rets[0].Type())
	}
	L.G.Registry.RawSetString(dispatchRegistryKey, fn)
	return fn, nil
}

// luaHandler serves one route with a Lua function.
type luaHandler struct {
	loop     *lua.Loop
	log      *slog.Logger
	serve    *glua.LFunction
	fn       *glua.LFunction
	route    string
	wildcard bool
}

// luaAnswer is what the Lua side decided, handed back to the HTTP goroutine.
type luaAnswer struct {
	status int
	header http.Header
	body   []byte
	// isError answers with the server's JSON error body; message may be "".
	isError bool
	message string
}

// requestSnapshot is the request as plain Go values, taken on the HTTP
// goroutine so the loop never touches *http.Request.
type requestSnapshot struct {
	method, path, rawPath, query, body, ip, httpVersion string
	secure                                              bool
	headers                                             map[string]string
	peerIP, peerPort, localPort                         string
}

func snapshot(r *http.Request) (*requestSnapshot, error) {
	// One copy, straight into the string Lua gets (the server has read the
	// body already).
	var body strings.Builder
	if _, err := io.Copy(&body, r.Body); err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	s := &requestSnapshot{
		method:      r.Method,
		path:        Path(r),
		rawPath:     r.URL.EscapedPath(),
		query:       r.URL.RawQuery,
		body:        body.String(),
		ip:          ClientIP(r),
		secure:      Secure(r),
		httpVersion: fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor),
		headers:     map[string]string{},
	}
	// Prosody lower-cases names, turns "-" into "_" and joins repeats with ",".
	for name, values := range r.Header {
		s.headers[strings.ReplaceAll(strings.ToLower(name), "-", "_")] = strings.Join(values, ",")
	}
	if r.Host != "" {
		s.headers["host"] = r.Host
	}
	if _, ok := s.headers["content_length"]; !ok && r.ContentLength > 0 {
		s.headers["content_length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	s.peerIP, s.peerPort, _ = net.SplitHostPort(r.RemoteAddr)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		_, s.localPort, _ = net.SplitHostPort(la.String())
	}
	return s, nil
}

// ServeRoute posts the request to the loop and waits for the Lua side's
// answer until the request's context (the handler deadline) ends.
func (h *luaHandler) ServeRoute(w http.ResponseWriter, r *http.Request, rest string) {
	req, err := snapshot(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	answers := make(chan luaAnswer, 1)
	var once sync.Once
	deliver := func(a luaAnswer) bool {
		sent := false
		once.Do(func() { answers <- a; sent = true })
		return sent
	}
	// The queued job holds the request only through held: a request whose
	// client has gone or whose deadline passed lets go of it (and of its
	// body) at once, and its job, when its turn comes, does nothing.
	var held atomic.Pointer[requestSnapshot]
	held.Store(req)
	ctx := r.Context()
	if !h.loop.Post(func(L *glua.LState) {
		started(ctx)
		req := held.Swap(nil)
		if req == nil || ctx.Err() != nil {
			h.log.Debug("HTTP request dropped before its handler ran: the client went away or its deadline passed", "route", h.route)
			return
		}
		h.run(L, req, rest, deliver)
	}) {
		writeError(w, http.StatusServiceUnavailable, "plugin runtime is shutting down")
		return
	}
	select {
	case a := <-answers:
		writeAnswer(w, a)
	case <-ctx.Done():
		// The server answers 504 (or the client has gone).
		held.Store(nil)
	case <-h.loop.Done():
		// The loop closed before it could answer (it dropped its queue
		// at the end of a shutdown).
		held.Store(nil)
		select {
		case a := <-answers:
			writeAnswer(w, a)
		default:
			writeError(w, http.StatusServiceUnavailable, "plugin runtime is shutting down")
		}
	}
}

// failure is the answer to a handler that raised an error: 500, or 504
// when the error is the loop's watchdog interrupting the job (the handler
// ran past lua_job_timeout or modhost is shutting down), as for a handler
// that misses the request deadline.
func (h *luaHandler) failure() luaAnswer {
	if berr := h.loop.Interrupted(); berr != nil {
		return luaAnswer{status: http.StatusGatewayTimeout, isError: true, message: "handler interrupted: " + berr.Error()}
	}
	return luaAnswer{status: http.StatusInternalServerError, isError: true, message: "internal server error"}
}

// run calls the dispatcher on the loop goroutine.
func (h *luaHandler) run(L *glua.LState, req *requestSnapshot, rest string, deliver func(luaAnswer) bool) {
	answer := L.NewFunction(func(L *glua.LState) int {
		status := L.CheckInt(1)
		header := toHeader(L.OptTable(2, nil))
		if _, set := header["Content-Type"]; !set {
			// Prosody sends no Content-Type unless the handler sets one;
			// stop net/http from guessing.
			header["Content-Type"] = nil
		}
		if !deliver(luaAnswer{status: status, header: header, body: []byte(L.CheckString(3))}) {
			h.log.Debug("HTTP response sent twice or after the deadline, dropped", "route", h.route)
		}
		return 0
	})
	answerError := L.NewFunction(func(L *glua.LState) int {
		status := L.CheckInt(1)
		header := toHeader(L.OptTable(2, nil))
		deliver(luaAnswer{status: status, header: header, isError: true, message: L.OptString(3, "")})
		return 0
	})
	fail := L.NewFunction(func(L *glua.LState) int {
		h.log.Error("error in HTTP handler", "route", h.route, "error", L.CheckString(1), "traceback", L.OptString(2, ""))
		deliver(h.failure())
		return 0
	})
	restArg := glua.LValue(glua.LNil)
	if h.wildcard {
		restArg = glua.LString(rest)
	}
	_, err := lua.Call(L, h.serve, 0, h.fn, requestTable(L, req), restArg, answer, answerError, fail)
	if err != nil {
		h.log.Error("error dispatching HTTP request", "route", h.route, "error", lua.ErrorMessage(err), "traceback", lua.Traceback(err))
		deliver(h.failure())
	}
}

// requestTable builds Prosody's request object.
func requestTable(L *glua.LState, req *requestSnapshot) *glua.LTable {
	t := L.CreateTable(0, 10) // NewTable would reserve 32+32 slots per request
	t.RawSetString("method", glua.LString(req.method))
	t.RawSetString("path", glua.LString(req.path))
	url := L.CreateTable(0, 2)
	url.RawSetString("path", glua.LString(req.rawPath))
	if req.query != "" {
		url.RawSetString("query", glua.LString(req.query))
	}
	t.RawSetString("url", url)
	headers := L.CreateTable(0, max(len(req.headers), 1))
	for k, v := range req.headers {
		headers.RawSetString(k, glua.LString(v))
	}
	t.RawSetString("headers", headers)
	t.RawSetString("body", glua.LString(req.body))
	t.RawSetString("ip", glua.LString(req.ip))
	// Behind mod_http's proxy handling secure is always a boolean.
	t.RawSetString("secure", glua.LBool(req.secure))
	t.RawSetString("httpversion", glua.LString(req.httpVersion))
	t.RawSetString("conn", connTable(L, req))
	return t
}

// connTable stands in for the connection object handlers sometimes ask for
// the peer's address.
func connTable(L *glua.LState, req *requestSnapshot) *glua.LTable {
	conn := L.CreateTable(0, 4)
	str := func(v string) *glua.LFunction {
		return L.NewFunction(func(L *glua.LState) int { L.Push(glua.LString(v)); return 1 })
	}
	conn.RawSetString("ip", str(req.peerIP))
	conn.RawSetString("port", str(req.peerPort))
	conn.RawSetString("serverport", str(req.localPort))
	conn.RawSetString("ssl", L.NewFunction(func(L *glua.LState) int { L.Push(glua.LBool(req.secure)); return 1 }))
	return conn
}

// toHeader reads a Prosody response.headers table: names use "_" for "-".
func toHeader(t *glua.LTable) http.Header {
	h := http.Header{}
	if t == nil {
		return h
	}
	t.ForEach(func(k, v glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok {
			return
		}
		switch v.(type) {
		case glua.LString, glua.LNumber:
		default:
			return
		}
		key := http.CanonicalHeaderKey(strings.ReplaceAll(string(name), "_", "-"))
		if key == "Content-Length" {
			return // computed from the body, as Prosody does
		}
		h.Set(key, v.String())
	})
	return h
}

func writeAnswer(w http.ResponseWriter, a luaAnswer) {
	for k, v := range a.header {
		if a.isError && (k == "Content-Type") {
			continue
		}
		w.Header()[k] = v
	}
	if a.status < 100 || a.status > 999 {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("handler answered an invalid status %d", a.status))
		return
	}
	if a.isError {
		msg := a.message
		if msg == "" {
			msg = strings.ToLower(http.StatusText(a.status))
		}
		if msg == "" {
			msg = "error " + strconv.Itoa(a.status)
		}
		writeError(w, a.status, msg)
		return
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}
