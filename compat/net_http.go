package compat

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// openNetHTTP pushes net.http: Prosody 0.12's HTTP client, whose I/O runs on
// goroutines with completions posted back to the loop.
//
//	request(url [, options] [, callback]) → request object | promise
//	new(options) → an instance with :request(url, options, callback) and .new
//	default, urlencode, urldecode, formencode, formdecode, features
//
// The callback gets (body, code, response, request); on failure code is 0,
// body a reason string ("connection refused", "closed", "timeout", …) and the
// third argument is the request object, as in Prosody. Without a callback
// the promise is fulfilled with the response (whatever its status) and
// rejected with a util.error object only when code would be 0.
func openNetHTTP(L *glua.LState) int {
	mod := L.NewTable()
	deflt := newHTTPInstance(L, L.NewTable())
	mod.RawSetString("default", deflt)
	request := L.NewFunction(func(L *glua.LState) int {
		return startRequest(L, deflt, 1)
	})
	mod.RawSetString("request", request)
	L.G.Registry.RawSetString(netHTTPRequestKey, request)
	mod.RawSetString("new", L.NewFunction(func(L *glua.LState) int {
		L.Push(newHTTPInstance(L, L.OptTable(1, L.NewTable())))
		return 1
	}))
	// destroy_request(request) closes the request's connection and drops it
	// without calling its callback, as Prosody's does; a plugin's own timeout
	// uses it so the socket does not outlive the wait.
	mod.RawSetString("destroy_request", L.NewFunction(func(L *glua.LState) int {
		req := L.CheckTable(1)
		if ud, ok := req.RawGetString("conn").(*glua.LUserData); ok {
			req.RawSetString("conn", glua.LNil)
			if c, ok := ud.Value.(*requestConn); ok {
				c.close()
			}
		}
		return 0
	}))
	features := L.NewTable()
	features.RawSetString("sni", glua.LTrue)
	mod.RawSetString("features", features)

	// Prosody re-exports util.http's codecs here for older plugins.
	codecs := requireModule(L, "util.http")
	for _, name := range []string{"urlencode", "urldecode", "formencode", "formdecode"} {
		mod.RawSetString(name, L.GetField(codecs, name))
	}
	L.Push(mod)
	return 1
}

const netHTTPRequestKey = "modhost.net.http.request"

// IsNetHTTPRequest reports whether v is net.http's own request function in
// L, as require "net.http" gave it: not a stub or wrapper put in its place
// (busted specs written for Prosody stub it to stand in for a web app), so
// that Go code doing a request's work itself (Fetch) knows when it may.
func IsNetHTTPRequest(L *glua.LState, v glua.LValue) bool {
	fn, ok := L.G.Registry.RawGetString(netHTTPRequestKey).(*glua.LFunction)
	return ok && v == glua.LValue(fn)
}

// requestConn is a request's request.conn: close abandons the request.
type requestConn struct{ close func() }

// requestConnMeta gives request.conn a close method, as Prosody's
// connection objects have.
func requestConnMeta(L *glua.LState) *glua.LTable {
	const name = "modhost.net.http.conn"
	if mt, ok := L.GetField(L.Get(glua.RegistryIndex), name).(*glua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(name)
	methods := L.CreateTable(0, 1)
	methods.RawSetString("close", L.NewFunction(func(L *glua.LState) int {
		if ud, ok := L.Get(1).(*glua.LUserData); ok {
			if c, ok := ud.Value.(*requestConn); ok {
				c.close()
			}
		}
		return 0
	}))
	mt.RawSetString("__index", methods)
	return mt
}

// requireModule requires name, raising a Lua error if that fails.
func requireModule(L *glua.LState, name string) glua.LValue {
	L.Push(L.GetGlobal("require"))
	L.Push(glua.LString(name))
	L.Call(1, 1)
	mod := L.Get(-1)
	L.Pop(1)
	return mod
}

// newHTTPInstance makes what Prosody's net.http.new returns. options may
// carry `timeout` (seconds) and `insecure`, the defaults of its requests;
// inst.new(more) makes an instance with options merged.
func newHTTPInstance(L *glua.LState, options *glua.LTable) *glua.LTable {
	inst := L.NewTable()
	inst.RawSetString("options", options)
	inst.RawSetString("request", L.NewFunction(func(L *glua.LState) int {
		return startRequest(L, inst, 2)
	}))
	inst.RawSetString("new", L.NewFunction(func(L *glua.LState) int {
		merged := L.NewTable()
		options.ForEach(func(k, v glua.LValue) { merged.RawSet(k, v) })
		if more, ok := L.Get(1).(*glua.LTable); ok {
			more.ForEach(func(k, v glua.LValue) { merged.RawSet(k, v) })
		}
		L.Push(newHTTPInstance(L, merged))
		return 1
	}))
	return inst
}

// completion receives the outcome of a request on the loop goroutine:
// response is the response table, or the request table when code is 0.
type completion func(L *glua.LState, body glua.LValue, code int, response, request *glua.LTable)

// startRequest implements request(url, options, callback) with arguments
// from position first on, for instance inst.
func startRequest(L *glua.LState, inst *glua.LTable, first int) int {
	rawURL := L.CheckString(first)
	options, _ := L.Get(first + 1).(*glua.LTable)
	callback := L.Get(first + 2)
	if callback == glua.LNil {
		L.Push(requestPromise(L, inst, rawURL, options))
		return 1
	}
	if _, ok := callback.(*glua.LFunction); !ok {
		L.ArgError(first+2, "callback must be a function")
	}
	req := startHTTP(L, inst, rawURL, options, func(L *glua.LState, body glua.LValue, code int, response, request *glua.LTable) {
		args := []glua.LValue{body, glua.LNumber(code), request} // a failure: (reason, 0, request)
		if response != nil {
			args = []glua.LValue{body, glua.LNumber(code), response, request}
		}
		lua.LoopOf(L).CallLogged(L, "net.http callback for "+rawURL, callback, 0, args...)
	})
	if req == nil {
		L.Push(glua.LNil)
		L.Push(glua.LString("invalid-url"))
		return 2
	}
	L.Push(req)
	return 1
}

// requestPromise is the callback-less form: a util.promise settled when the
// request completes.
func requestPromise(L *glua.LState, inst *glua.LTable, rawURL string, options *glua.LTable) glua.LValue {
	promise := requireModule(L, "util.promise")
	executor := L.NewFunction(func(L *glua.LState) int {
		resolve, reject := L.Get(1), L.Get(2)
		startHTTP(L, inst, rawURL, options, func(L *glua.LState, body glua.LValue, code int, response, request *glua.LTable) {
			if code == 0 {
				lua.LoopOf(L).CallLogged(L, "net.http promise rejection", reject, 0, httpError(L, body.String(), request))
				return
			}
			response.RawSetString("request", request)
			lua.LoopOf(L).CallLogged(L, "net.http promise resolution", resolve, 0, response)
		})
		return 0
	})
	L.Push(L.GetField(promise, "new"))
	L.Push(executor)
	L.Call(1, 1)
	p := L.Get(-1)
	L.Pop(1)
	return p
}

// startHTTP builds the request object, starts the request on a goroutine and
// returns the object; done runs on the loop exactly once, unless the loop
// closes first or destroy_request abandons the request. An invalid URL calls done at once and returns nil, as
// Prosody does.
func startHTTP(L *glua.LState, inst *glua.LTable, rawURL string, options *glua.LTable, done completion) *glua.LTable {
	loop := lua.LoopOf(L)
	clients := clientsOf(L, true)
	log := loop.Logger("net.http")
	instOptions, _ := inst.RawGetString("options").(*glua.LTable)

	reqTable := L.CreateTable(0, 12) // NewTable would reserve 32+32 slots per request
	reqTable.RawSetString("url", glua.LString(rawURL))
	reqTable.RawSetString("http", inst)
	reqTable.RawSetString("time", glua.LNumber(time.Now().Unix()))

	u, ok := requestURL(rawURL)
	if !ok {
		done(L, glua.LString("invalid-url"), 0, nil, reqTable)
		return nil
	}
	spec, err := requestSpec(u, options, instOptions, clients.defaults)
	if err != nil {
		L.RaiseError("net.http request to %s: %s", rawURL, err.Error())
	}
	describeRequest(L, reqTable, u, spec)

	ctx, cancel := context.WithTimeout(loop.Context(), spec.timeout)
	httpReq, err := http.NewRequestWithContext(ctx, spec.method, rawURL, bytes.NewReader(spec.body))
	if err != nil {
		cancel()
		done(L, glua.LString("invalid-url"), 0, nil, reqTable)
		return nil
	}
	if spec.body == nil {
		httpReq.Body, httpReq.ContentLength = http.NoBody, 0
	}
	httpReq.Header = spec.header
	if host := spec.header.Get("Host"); host != "" {
		httpReq.Host = host
	}

	// finished is only read and written on the loop goroutine: whichever of
	// cancel and the response comes first completes the request.
	finished := false
	reqTable.RawSetString("cancel", L.NewFunction(func(L *glua.LState) int {
		if finished {
			return 0
		}
		finished = true
		cancel()
		log.Debug("request cancelled", "id", spec.id)
		reqTable.RawSetString("conn", glua.LNil)
		done(L, glua.LString("cancelled"), 0, nil, reqTable)
		return 0
	}))
	// request.conn, as in Prosody, is what destroy_request closes: the
	// request is abandoned without its callback, and its connection closed
	// at once (the context's cancel aborts the read and drops the socket).
	conn := L.NewUserData()
	conn.Value = &requestConn{close: func() {
		if finished {
			return
		}
		finished = true
		cancel()
		log.Debug("request destroyed", "id", spec.id)
	}}
	conn.Metatable = requestConnMeta(L)
	reqTable.RawSetString("conn", conn)

	client := clients.verified
	if spec.insecure {
		client = clients.insecure
	}
	maxBody := clients.defaults.MaxBody
	log.Debug("making request", "id", spec.id, "method", spec.method, "url", u.Redacted())
	go func() {
		res := do(client, httpReq, maxBody)
		cancel()
		loop.Post(func(L *glua.LState) {
			if finished {
				return
			}
			finished = true
			reqTable.RawSetString("conn", glua.LNil)
			if res.failure != "" {
				log.Debug("request failed", "id", spec.id, "reason", res.failure, "error", res.err)
				done(L, glua.LString(res.failure), 0, nil, reqTable)
				return
			}
			log.Debug("response", "id", spec.id, "code", res.code, "bytes", len(res.body))
			body := glua.LString(res.body)
			done(L, body, res.code, responseTable(L, res, body), reqTable)
		})
	}()
	return reqTable
}

// requestURL is rawURL parsed, or false where net.http answers
// "invalid-url": not http or https, or no host.
func requestURL(rawURL string) (*url.URL, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, false
	}
	return u, true
}

// outgoingSpec is a request as the options describe it.
type outgoingSpec struct {
	id       string
	method   string
	header   http.Header
	body     []byte
	insecure bool
	timeout  time.Duration
}

// requestSpec reads the request options (method, headers, body, insecure,
// timeout, id) with Prosody's defaults: a body makes the method POST and
// the content type application/x-www-form-urlencoded unless the options
// say otherwise. Instance options supply insecure and timeout when the
// request's own do not.
func requestSpec(u *url.URL, options, instOptions *glua.LTable, d HTTPDefaults) (outgoingSpec, error) {
	spec := outgoingSpec{
		id:      fmt.Sprintf("%x", rand.Uint64()),
		method:  http.MethodGet,
		header:  http.Header{},
		timeout: d.Timeout,
	}
	spec.header.Set("User-Agent", d.UserAgent)
	get := func(name string) glua.LValue {
		if options != nil {
			if v := options.RawGetString(name); v != glua.LNil {
				return v
			}
		}
		if instOptions != nil {
			return instOptions.RawGetString(name)
		}
		return glua.LNil
	}
	switch body := get("body").(type) {
	case *glua.LNilType:
	case glua.LString:
		spec.body = []byte(body)
		spec.method = http.MethodPost
		spec.header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		return spec, fmt.Errorf("options.body must be a string, not %s", body.Type())
	}
	switch method := get("method").(type) {
	case *glua.LNilType:
	case glua.LString:
		spec.method = strings.ToUpper(string(method))
	default:
		return spec, fmt.Errorf("options.method must be a string, not %s", method.Type())
	}
	if headers, ok := get("headers").(*glua.LTable); ok {
		var bad error
		headers.ForEach(func(k, v glua.LValue) {
			if k.Type() != glua.LTString || (v.Type() != glua.LTString && v.Type() != glua.LTNumber) {
				bad = fmt.Errorf("options.headers must map names to strings")
				return
			}
			spec.header.Set(k.String(), v.String())
		})
		if bad != nil {
			return spec, bad
		}
	}
	if options != nil {
		if id, ok := options.RawGetString("id").(glua.LString); ok {
			spec.id = string(id)
		}
	}
	spec.insecure = glua.LVAsBool(get("insecure"))
	if t, ok := get("timeout").(glua.LNumber); ok && t > 0 {
		spec.timeout = time.Duration(float64(t) * float64(time.Second))
	}
	return spec, nil
}

// describeRequest fills the request object with the fields Prosody's has.
func describeRequest(L *glua.LState, req *glua.LTable, u *url.URL, spec outgoingSpec) {
	req.RawSetString("id", glua.LString(spec.id))
	req.RawSetString("scheme", glua.LString(u.Scheme))
	req.RawSetString("host", glua.LString(u.Hostname()))
	if p := u.Port(); p != "" {
		req.RawSetString("port", glua.LString(p))
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req.RawSetString("path", glua.LString(path))
	if u.RawQuery != "" {
		req.RawSetString("query", glua.LString(u.RawQuery))
	}
	req.RawSetString("method", glua.LString(spec.method))
	headers := L.CreateTable(0, max(len(spec.header), 1))
	for name, values := range spec.header {
		headers.RawSetString(name, glua.LString(strings.Join(values, ",")))
	}
	req.RawSetString("headers", headers)
	if spec.body != nil {
		req.RawSetString("body", glua.LString(spec.body))
	}
}

// responseTable builds Prosody's response object: header names lower-cased,
// repeated headers joined with ",", and the deprecated aliases.
func responseTable(L *glua.LState, res httpResult, body glua.LValue) *glua.LTable {
	t := L.CreateTable(0, 9) // NewTable would reserve 32+32 slots per response
	t.RawSetString("code", glua.LNumber(res.code))
	t.RawSetString("body", body) // the one boxed string the callback gets too
	headers := L.CreateTable(0, max(len(res.header), 1))
	names := make([]string, 0, len(res.header))
	for name := range res.header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		headers.RawSetString(strings.ToLower(name), glua.LString(strings.Join(res.header[name], ",")))
	}
	if res.length >= 0 {
		t.RawSetString("body_length", glua.LNumber(res.length))
	}
	t.RawSetString("headers", headers)
	t.RawSetString("chunked", glua.LBool(res.chunked))
	t.RawSetString("httpversion", glua.LString(res.proto))
	t.RawSetString("responseversion", glua.LString(res.proto))
	t.RawSetString("responseheaders", headers)
	return t
}

// httpErrorTemplates are the util.error fields for each failure reason;
// the first group are Prosody 0.12's (net.http.errors), the rest modhost's.
var httpErrorTemplates = map[string][3]string{
	"cancelled":                 {"cancel", "remote-server-timeout", "Request cancelled"},
	"connection-closed":         {"wait", "remote-server-timeout", "Connection closed"},
	"certificate-chain-invalid": {"cancel", "remote-server-timeout", "Server certificate not trusted"},
	"certificate-verify-failed": {"cancel", "remote-server-timeout", "Server certificate invalid"},
	"connection failed":         {"cancel", "remote-server-not-found", "Connection failed"},
	"invalid-url":               {"modify", "bad-request", "Invalid URL"},
	"unable to resolve service": {"cancel", "remote-server-not-found", "DNS resolution failed"},

	"connection refused":            {"cancel", "remote-server-not-found", "Connection refused"},
	"closed":                        {"wait", "remote-server-timeout", "Connection closed"},
	"unexpected-eof":                {"wait", "remote-server-timeout", "Connection closed mid-response"},
	"timeout":                       {"wait", "remote-server-timeout", "Request timed out"},
	"content-length-limit-exceeded": {"cancel", "resource-constraint", "Response body too large"},
}

// httpError makes the rejection value of the promise form: a util.error
// object (a plain table with the same fields if util.error is missing) with
// code 0, the reason's type, condition and text, and context.request.
func httpError(L *glua.LState, reason string, request *glua.LTable) glua.LValue {
	tmpl, known := httpErrorTemplates[reason]
	if !known {
		tmpl = [3]string{"cancel", "undefined-condition", reason}
	}
	fields := L.NewTable()
	fields.RawSetString("type", glua.LString(tmpl[0]))
	fields.RawSetString("condition", glua.LString(tmpl[1]))
	fields.RawSetString("text", glua.LString(tmpl[2]))
	fields.RawSetString("code", glua.LNumber(0))
	context := L.NewTable()
	context.RawSetString("request", request)
	context.RawSetString("reason", glua.LString(reason))

	L.Push(L.GetGlobal("require"))
	L.Push(glua.LString("util.error"))
	if err := lua.PCall(L, 1, 1, nil); err != nil {
		lua.LoopOf(L).Logger("net.http").Debug("util.error unavailable; rejecting with a plain table", "error", lua.ErrorMessage(err))
		fields.RawSetString("context", context)
		return fields
	}
	utilError := L.Get(-1)
	L.Pop(1)
	rets, err := lua.Call(L, L.GetField(utilError, "new"), 1, fields, context)
	if err != nil {
		lua.LoopOf(L).Logger("net.http").Warn("util.error.new failed", "error", lua.ErrorMessage(err))
		fields.RawSetString("context", context)
		return fields
	}
	return rets[0]
}
