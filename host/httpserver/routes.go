package httpserver

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// Handler answers one routed request. rest is what a trailing "*" of the
// route captured, without a leading slash, as Prosody passes it to wildcard
// handlers ("" for other routes). The request's context ends at the handler
// deadline; the server has already read the body (within MaxBody).
type Handler func(w http.ResponseWriter, r *http.Request, rest string)

// Route is one entry of a mount, Prosody's `route` table key split in two.
type Route struct {
	// Method is upper-case ("GET"); "" answers any method.
	Method string
	// Path is appended to the mount's base; "" is the base itself. A
	// trailing "/*" captures the rest of the path.
	Path    string
	Handler Handler
	// Queued says the handler's work waits in a queue (the Lua loop): the
	// server bounds how many such requests, and how many body bytes, wait
	// at once (Config.MaxQueuedRequests, MaxQueuedBytes).
	Queued bool
}

// anyMethod is the httprouter tree of routes registered for every method.
const anyMethod = "*"

// entry is a route placed at its full path.
type entry struct {
	method   string // anyMethod for Route.Method ""
	path     string // full path, ending in "/*" for wildcards
	owner    string
	handler  Handler
	redirect bool // Prosody's implicit "/x" → "/x/" redirect
	queued   bool // Route.Queued
}

func (e *entry) wildcard() bool { return strings.HasSuffix(e.path, "/*") }

// prefix is a wildcard's path without the "*".
func (e *entry) prefix() string { return strings.TrimSuffix(e.path, "*") }

// joinPath places a route path under a base the way mod_http builds its
// event names: base + path, except that a base of "/" does not double the
// slash.
func joinPath(base, path string) string {
	if base == "/" && strings.HasPrefix(path, "/") {
		return path
	}
	return base + path
}

// checkPath rejects what httprouter would read as a parameter or a misplaced
// catch-all; Prosody paths are literal, so such routes cannot be honoured.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q does not start with /", p)
	}
	if strings.Contains(p, ":") {
		return fmt.Errorf("path %q: ':' is not supported in route paths", p)
	}
	if i := strings.Index(p, "*"); i >= 0 && (i != len(p)-1 || !strings.HasSuffix(p, "/*")) {
		return fmt.Errorf("path %q: '*' is only allowed as a final \"/*\"", p)
	}
	return nil
}

// routeTable is one host's immutable routing snapshot; Mount and unmount
// build a new one for the host they change and swap it in, because
// httprouter cannot remove routes.
type routeTable struct {
	router  *httprouter.Router
	methods []string // methods with at least one route, for Allow
}

// buildTable places every mount's routes in a fresh httprouter.
//
// Prosody lets "GET /x/*" and "GET /x/y" coexist (the exact route wins, then
// the longest wildcard); httprouter refuses a route beside a catch-all of the
// same prefix. Routes lying under a wildcard are therefore not given to
// httprouter but to that wildcard's dispatcher, which applies Prosody's
// precedence among them.
func buildTable(mounts []*mountEntry, serve func(http.ResponseWriter, *http.Request, *entry, string)) (t *routeTable, err error) {
	byKey := map[string]*entry{}
	var all []*entry
	add := func(e *entry) error {
		key := e.method + " " + e.path
		if old, ok := byKey[key]; ok {
			if e.redirect {
				return nil
			}
			if old.redirect {
				*old = *e
				return nil
			}
			return fmt.Errorf("route %s %s of %s is already mounted by %s", e.method, e.path, e.owner, old.owner)
		}
		byKey[key] = e
		all = append(all, e)
		return nil
	}
	for _, m := range mounts {
		for _, r := range m.routes {
			method := strings.ToUpper(r.Method)
			if method == "" {
				method = anyMethod
			}
			full := joinPath(m.base, r.Path)
			if err := checkPath(full); err != nil {
				return nil, fmt.Errorf("mount %s for %s: %w", m.base, m.owner, err)
			}
			if r.Handler == nil {
				return nil, fmt.Errorf("mount %s for %s: route %s %s has no handler", m.base, m.owner, method, full)
			}
			e := &entry{method: method, path: full, owner: m.owner, handler: r.Handler, queued: r.Queued}
			if err := add(e); err != nil {
				return nil, err
			}
			// mod_http redirects "/x" to "/x/" for routes "/x/*" and "/x/".
			bare := strings.TrimSuffix(strings.TrimSuffix(full, "*"), "/")
			if bare != "" && bare != full {
				if err := add(&entry{method: method, path: bare, owner: m.owner, redirect: true}); err != nil {
					return nil, err
				}
			}
		}
	}

	byMethod := map[string][]*entry{}
	for _, e := range all {
		byMethod[e.method] = append(byMethod[e.method], e)
	}
	router := httprouter.New()
	defer func() {
		// httprouter reports conflicts by panicking.
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("routing conflict: %v", r)
		}
	}()
	t = &routeTable{router: router}
	for method, entries := range byMethod {
		if method != anyMethod {
			t.methods = append(t.methods, method)
		}
		registerMethod(router, method, entries, serve)
	}
	sort.Strings(t.methods)
	return t, nil
}

// registerMethod gives httprouter the routes of one method that no wildcard
// covers, each wildcard carrying the routes it covers.
func registerMethod(router *httprouter.Router, method string, entries []*entry, serve func(http.ResponseWriter, *http.Request, *entry, string)) {
	// Shortest paths first, so a covering wildcard is seen before what it covers.
	sort.Slice(entries, func(i, j int) bool { return len(entries[i].path) < len(entries[j].path) })
	var tops []*wildcardGroup
	for _, e := range entries {
		var cover *wildcardGroup
		for _, g := range tops {
			if strings.HasPrefix(e.path, g.top.prefix()) && e != g.top {
				cover = g
				break
			}
		}
		if cover != nil {
			cover.add(e)
			continue
		}
		if e.wildcard() {
			g := &wildcardGroup{top: e, exact: map[string]*entry{}}
			tops = append(tops, g)
			prefix := e.prefix()
			router.Handle(method, prefix+"*rest", func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
				full := prefix + strings.TrimPrefix(ps.ByName("rest"), "/")
				target := g.resolve(full)
				serve(w, r, target, restOf(target, full))
			})
			continue
		}
		router.Handle(method, e.path, func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
			serve(w, r, e, "")
		})
	}
}

// restOf is what a wildcard entry captures from path: the part after its
// prefix, without a leading slash, as mod_http passes it.
func restOf(e *entry, path string) string {
	if !e.wildcard() {
		return ""
	}
	return strings.TrimPrefix(path, e.prefix())
}

// wildcardGroup dispatches among a wildcard route and the routes under it.
type wildcardGroup struct {
	top    *entry
	exact  map[string]*entry
	nested []*entry // wildcards under top, longest prefix first
}

func (g *wildcardGroup) add(e *entry) {
	if e.wildcard() {
		g.nested = append(g.nested, e)
		sort.SliceStable(g.nested, func(i, j int) bool { return len(g.nested[i].path) > len(g.nested[j].path) })
		return
	}
	g.exact[e.path] = e
}

// resolve applies Prosody's precedence: an exact route, then the wildcard
// with the longest prefix.
func (g *wildcardGroup) resolve(path string) *entry {
	if e, ok := g.exact[path]; ok {
		return e
	}
	for _, e := range g.nested {
		if strings.HasPrefix(path, e.prefix()) {
			return e
		}
	}
	return g.top
}
