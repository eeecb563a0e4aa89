package compat

import (
	"context"
	"errors"
	"net/http"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// Answer is what Fetch hands its caller: a response, or a failure in
// net.http's words.
type Answer struct {
	// Code is the HTTP status; 0 when there is no response.
	Code int
	// Body is the whole body; with Code 0, the reason net.http's callback
	// would get in its place ("connection refused", "timeout", …).
	Body string
	// TimedOut says the request was ended by the timeout given to Fetch
	// (not by the state's http_default_timeout, which is a "timeout" too).
	TimedOut bool
}

// Fetch makes a GET request of rawURL with the Lua state's net.http
// clients and limits (the connections, User-Agent, body limit and default
// timeout of SetHTTPDefaults; no redirect followed, no proxy), for Go code
// that reads the answer itself: done runs on the request's goroutine, not
// the loop, so that an answer can be read there before anything is posted
// back. timeout (if shorter than the default) bounds the whole request.
// header is sent as given (and must not change while the request is out),
// with the User-Agent added unless it has one.
// Call it on the loop. It returns false, and done is never called, when
// rawURL is not an http or https URL (net.http's "invalid-url"). A request
// still out when the loop closes ends with "cancelled".
//
// net.http's request builds its request and response objects as Lua tables
// and calls back on the loop; a roster fetched on every refresh needs
// neither.
func Fetch(L *glua.LState, rawURL string, header http.Header, timeout time.Duration, done func(Answer)) bool {
	u, ok := requestURL(rawURL)
	if !ok {
		return false
	}
	loop := lua.LoopOf(L)
	clients := clientsOf(L, true)
	own := timeout > 0 && timeout < clients.defaults.Timeout
	if !own {
		timeout = clients.defaults.Timeout
	}
	ctx, cancel := context.WithTimeout(loop.Context(), timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		cancel()
		return false
	}
	// The caller's values are shared, not copied: nothing below changes them.
	req.Header = make(http.Header, len(header)+1)
	for name, values := range header {
		req.Header[http.CanonicalHeaderKey(name)] = values
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header["User-Agent"] = clients.userAgent
	}
	maxBody := clients.defaults.MaxBody
	log := loop.DebugLogger("net.http") // as net.http's request logs, at debug only
	if log != nil {
		log.Debug("making request", "method", http.MethodGet, "url", u.Redacted())
	}
	go func() {
		defer cancel()
		res := do(clients.verified, req, maxBody)
		if res.failure != "" {
			if log != nil {
				log.Debug("request failed", "url", u.Redacted(), "reason", res.failure, "error", res.err)
			}
			done(Answer{Body: res.failure, TimedOut: own && errors.Is(ctx.Err(), context.DeadlineExceeded)})
			return
		}
		if log != nil {
			log.Debug("response", "url", u.Redacted(), "code", res.code, "bytes", len(res.body))
		}
		done(Answer{Code: res.code, Body: res.body})
	}()
	return true
}
