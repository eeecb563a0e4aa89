package rosteradmin

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/metrics"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/lua"
)

// engine is mod_http_roster_admin's scheduling of fetches, in Go: the
// queue of fetches (max_concurrent at once, logins first, refresh requests
// taking turns), the coalescing of refreshes of one user, the sharing of a
// fetch by logins, and fetch → read → apply → push of each user. The rules
// are the plugin's Lua (fetch_roster, refresh_user, login_fetch and the
// rest, which Prosody runs), and modhost's tests hold both to the same
// scenarios. What the Lua scheduler makes per fetch (a dozen closures and
// tables, each several allocations in gopher-lua) is not made: Lua is
// entered for the events, when something would see them, and once per
// refresh request.
//
//	native.engine(options) → engine (absent outside a modhost runtime)
//	engine:refresh(usernames, answer) → request
//	  Refreshes each user as the plugin's refresh_user; answer(updated,
//	  errors) once every one is done (at once when none need a fetch).
//	request:cancel() → updated, errors
//	  The request's deadline: no answer will come; each fetch it queued and
//	  that has not been sent goes to another request still waiting for it,
//	  or to the logins that joined it, or is dropped.
//	engine:refresh_one(username, done)
//	  roster-admin/refresh: done(ok, reason) once.
//	engine:login_fetch(username, done)
//	  The plugin's login_fetch: done(wanted) or done(nil, reason).
//	engine:forget(username)   a logout: a finished fetch is no longer shared
//	engine:sweep()            forget finished fetches older than reuse_window
//
// options (all from the plugin): host, module, url, timeout,
// max_concurrent, max_contacts, refresh_offline, reuse_window, null,
// array_mt, http (net.http), refreshes, fetch_duration, fetch_errors (its
// metrics), and its functions hooked(event) → bool, fetched(username,
// roster, entries) → nil | reason, kind, failed(username, reason, kind),
// updated(username, added, removed, changed) and request(username, url,
// finish, on_sent), the plugin's own request, used while net.http.request
// is not net.http's own (a spec's stub).
//
// An engine is used on its Lua state's loop only.
type engine struct {
	loop    *lua.Loop
	reader  *rosterReader
	rosters roster.Rosters
	log     *slog.Logger

	host           string
	urlTemplate    string
	urls           map[string]string // built URLs by username, emptied when full
	timeout        time.Duration
	timeoutText    string // the timeout as Lua prints it
	maxConcurrent  int
	maxContacts    int
	refreshOffline bool
	reuseWindow    time.Duration
	null           *glua.LTable
	arrayMT        glua.LValue
	http           *glua.LTable

	// The plugin's metrics: refreshes by outcome, fetch_duration and
	// fetch_errors (by kind, each series asked for when first used).
	refreshed, failedRefresh, offline labelledMetric
	fetchDuration                     luaMetric
	fetchErrors                       glua.LValue
	errorKinds                        map[string]luaMetric

	// The plugin's functions (see the options above).
	hookedFn, fetchedFn, failedFn, updatedFn, requestFn glua.LValue
	hookedFetched                                       func(*glua.LState) bool // hooked("roster-admin/fetched")

	// Made once: see online and protect.
	onlineFn, protectedFn *glua.LFunction
	pending               func(L *glua.LState) // what protectedFn runs

	self map[string]string // bare JIDs by username, emptied when full

	running int
	logins  fetchQueue    // logins' fetches waiting for a slot, served first
	turns   []*fetchQueue // refresh requests' queues holding fetches, in turn order
	latest  map[string]*trackedFetch
	waiting map[string]*refreshBatch // refreshes whose fetch is not sent yet
	out     map[string]bool          // users with a refresh's fetch out or being applied
}

// wantedRoster is what a fetch gave: a *nativeRoster, or the *glua.LTable
// roster-admin/fetched handlers saw; nil when it failed.
type wantedRoster = any

// queuedFetch is a fetch waiting for a slot, in its owner's queue.
type queuedFetch struct {
	user               string
	done               func(L *glua.LState, wanted wantedRoster, reason string)
	onSent             func(L *glua.LState)
	owner              *fetchQueue
	started, cancelled bool
	forget             func()
}

// fetchQueue is the logins' queue or one refresh request's.
type fetchQueue struct {
	items   []*queuedFetch
	head    int
	inTurn  bool // in engine.turns
	expired bool // its request's deadline passed
}

func (q *fetchQueue) push(item *queuedFetch) { q.items = append(q.items, item) }

func (q *fetchQueue) pop() *queuedFetch {
	if q.head >= len(q.items) {
		return nil
	}
	item := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) { // emptied: start again, so the slice stays within its depth
		q.items, q.head = q.items[:0], 0
	}
	return item
}

func (q *fetchQueue) pending() bool { return q.head < len(q.items) }

// trackedFetch is the fetch of a user out now, or the last one back, which
// logins share.
type trackedFetch struct {
	done    bool
	at      time.Time
	wanted  wantedRoster
	reason  string
	waiters []glua.LValue // logins' callbacks
	item    *queuedFetch  // while it waits for a slot
}

// refreshBatch is the refreshes of one user waiting for the same fetch.
type refreshBatch struct {
	dones  []func(L *glua.LState, ok bool, reason string)
	owners []*fetchQueue
	item   *queuedFetch
}

// luaMetric is one of the plugin's metrics: counted in Go when it is
// modhost's own (host/metrics), else through its Lua methods.
type luaMetric struct {
	value  glua.LValue
	series *metrics.Series
}

func newLuaMetric(v glua.LValue) luaMetric { return luaMetric{value: v, series: metrics.SeriesOf(v)} }

func (m luaMetric) call(L *glua.LState, method string, n float64) {
	if m.series != nil {
		if method == "add" {
			_ = m.series.Add(n)
		} else {
			_ = m.series.Sample(n)
		}
		return
	}
	if m.value == glua.LNil || m.value == nil {
		return
	}
	_, _ = lua.Call(L, L.GetField(m.value, method), 0, m.value, glua.LNumber(n))
}

func (m luaMetric) add(L *glua.LState, n float64)    { m.call(L, "add", n) }
func (m luaMetric) sample(L *glua.LState, n float64) { m.call(L, "sample", n) }

// labelledMetric is family:with_labels(label), asked for when first
// counted: a series appears in the exposition once used, as in Prosody.
type labelledMetric struct {
	family glua.LValue
	label  string
	metric *luaMetric
}

func (m *labelledMetric) add(L *glua.LState, n float64) {
	if m.metric == nil {
		metric := withLabels(L, m.family, m.label)
		m.metric = &metric
	}
	m.metric.add(L, n)
}

// withLabels is family:with_labels(value), as a luaMetric.
func withLabels(L *glua.LState, family glua.LValue, value string) luaMetric {
	if family == glua.LNil {
		return luaMetric{}
	}
	rets, err := lua.Call(L, L.GetField(family, "with_labels"), 1, family, glua.LString(value))
	if err != nil {
		return luaMetric{}
	}
	return newLuaMetric(rets[0])
}

const engineTypeName = "modhost.roster_admin.engine"

// newEngine is native.engine(options).
func (r *rosterReader) newEngine(L *glua.LState) int {
	opts := L.CheckTable(1)
	loop := lua.LoopOf(L)
	rosters := roster.Of(L)
	if loop == nil || rosters == nil {
		L.RaiseError("modhost.roster_admin.engine needs the runtime's loop and rosters")
	}
	str := func(name string) string { return glua.LVAsString(opts.RawGetString(name)) }
	num := func(name string, def float64) float64 {
		if n, ok := opts.RawGetString(name).(glua.LNumber); ok {
			return float64(n)
		}
		return def
	}
	null, _ := opts.RawGetString("null").(*glua.LTable)
	httpLib, _ := opts.RawGetString("http").(*glua.LTable)
	if null == nil || httpLib == nil {
		L.ArgError(1, "null and http are needed")
	}
	host := str("host")
	timeout := opts.RawGetString("timeout")
	e := &engine{
		loop: loop, reader: r, rosters: rosters,
		log:            loop.Logger(host + ":" + str("module")),
		host:           host,
		urlTemplate:    str("url"),
		urls:           map[string]string{},
		timeout:        time.Duration(num("timeout", 5) * float64(time.Second)),
		timeoutText:    L.ToStringMeta(timeout).String(),
		maxConcurrent:  max(1, int(min(num("max_concurrent", 16), math.MaxInt32))),
		maxContacts:    max(1, int(min(math.Floor(num("max_contacts", 10000)), math.MaxInt32))),
		refreshOffline: glua.LVAsBool(opts.RawGetString("refresh_offline")),
		reuseWindow:    time.Duration(num("reuse_window", 1) * float64(time.Second)),
		null:           null,
		arrayMT:        opts.RawGetString("array_mt"),
		http:           httpLib,
		fetchDuration:  newLuaMetric(opts.RawGetString("fetch_duration")),
		fetchErrors:    opts.RawGetString("fetch_errors"),
		errorKinds:     map[string]luaMetric{},
		hookedFn:       opts.RawGetString("hooked"),
		fetchedFn:      opts.RawGetString("fetched"),
		failedFn:       opts.RawGetString("failed"),
		updatedFn:      opts.RawGetString("updated"),
		requestFn:      opts.RawGetString("request"),
		self:           map[string]string{},
		latest:         map[string]*trackedFetch{},
		waiting:        map[string]*refreshBatch{},
		out:            map[string]bool{},
	}
	refreshes := opts.RawGetString("refreshes")
	e.refreshed = labelledMetric{family: refreshes, label: "updated"}
	e.failedRefresh = labelledMetric{family: refreshes, label: "failed"}
	e.offline = labelledMetric{family: refreshes, label: "offline"}
	e.onlineFn = L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(e.online(L, L.CheckString(1))))
		return 1
	})
	e.protectedFn = L.NewFunction(func(L *glua.LState) int {
		e.pending(L)
		return 0
	})
	e.hookedFetched = func(L *glua.LState) bool { return e.hooked(L, "roster-admin/fetched") }
	ud := L.NewUserData()
	ud.Value = e
	ud.Metatable = engineMeta(L)
	L.Push(ud)
	return 1
}

func engineMeta(L *glua.LState) *glua.LTable {
	if mt, ok := L.GetField(L.Get(glua.RegistryIndex), engineTypeName).(*glua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(engineTypeName)
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]glua.LGFunction{
		"refresh":     luaEngineRefresh,
		"refresh_one": luaEngineRefreshOne,
		"login_fetch": luaEngineLoginFetch,
		"forget":      luaEngineForget,
		"sweep":       luaEngineSweep,
	}))
	mt.RawSetString("__metatable", glua.LString(engineTypeName))
	return mt
}

func checkEngine(L *glua.LState) *engine {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if e, ok := ud.Value.(*engine); ok {
			return e
		}
	}
	L.ArgError(1, "roster admin engine expected (call it with ':')")
	return nil
}

// refreshRequest is one engine:refresh: its queue and counts.
type refreshRequest struct {
	engine          *engine
	queue           fetchQueue
	total           int
	updated, errors int
	answered        bool
	answer          glua.LValue
}

const requestTypeName = "modhost.roster_admin.request"

func luaEngineRefresh(L *glua.LState) int {
	e := checkEngine(L)
	names := L.CheckTable(2)
	answer := L.CheckFunction(3)
	req := &refreshRequest{engine: e, total: names.Len(), answer: answer}
	ud := L.NewUserData()
	ud.Value = req
	ud.Metatable = requestMeta(L)
	if req.total == 0 {
		e.answer(L, req)
	}
	done := func(L *glua.LState, ok bool, _ string) {
		if ok {
			req.updated++
		} else {
			req.errors++
		}
		if req.updated+req.errors == req.total {
			e.answer(L, req)
		}
	}
	for i := 1; i <= req.total; i++ {
		name, ok := names.RawGetInt(i).(glua.LString)
		if !ok {
			L.ArgError(2, fmt.Sprintf("username %d is not a string", i))
		}
		e.refreshUser(L, string(name), done, &req.queue)
	}
	L.Push(ud)
	return 1
}

// answer calls the request's answer, once.
func (e *engine) answer(L *glua.LState, req *refreshRequest) {
	if req.answered {
		return
	}
	req.answered = true
	e.loop.CallLogged(L, "roster admin refresh answer", req.answer, 0, glua.LNumber(req.updated), glua.LNumber(req.errors))
}

func requestMeta(L *glua.LState) *glua.LTable {
	if mt, ok := L.GetField(L.Get(glua.RegistryIndex), requestTypeName).(*glua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(requestTypeName)
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]glua.LGFunction{"cancel": luaRequestCancel}))
	mt.RawSetString("__metatable", glua.LString(requestTypeName))
	return mt
}

// luaRequestCancel is request:cancel() → updated, errors.
func luaRequestCancel(L *glua.LState) int {
	req, ok := L.CheckUserData(1).Value.(*refreshRequest)
	if !ok {
		L.ArgError(1, "refresh request expected (call it with ':')")
	}
	req.answered = true
	req.engine.cancelQueued(L, &req.queue)
	L.Push(glua.LNumber(req.updated))
	L.Push(glua.LNumber(req.errors))
	return 2
}

func luaEngineRefreshOne(L *glua.LState) int {
	e := checkEngine(L)
	user := L.CheckString(2)
	done := L.CheckFunction(3)
	e.refreshUser(L, user, func(L *glua.LState, ok bool, reason string) {
		var why glua.LValue = glua.LNil
		if !ok {
			why = glua.LString(reason)
		}
		e.loop.CallLogged(L, "roster-admin/refresh callback", done, 0, glua.LBool(ok), why)
	}, &fetchQueue{})
	return 0
}

func luaEngineLoginFetch(L *glua.LState) int {
	e := checkEngine(L)
	e.loginFetch(L, L.CheckString(2), L.CheckFunction(3))
	return 0
}

func luaEngineForget(L *glua.LState) int {
	e := checkEngine(L)
	user := L.CheckString(2)
	if t := e.latest[user]; t != nil && t.done {
		delete(e.latest, user)
	}
	return 0
}

func luaEngineSweep(L *glua.LState) int {
	e := checkEngine(L)
	now := time.Now()
	for user, t := range e.latest {
		if t.done && now.Sub(t.at) >= e.reuseWindow {
			delete(e.latest, user)
		}
	}
	return 0
}

// Refreshes -----------------------------------------------------------------

// refreshUser is the plugin's refresh_user: done(true) when the roster is
// in step (or needs no refresh), done(false, reason) when it stays as it
// was. Refreshes of a user asked for while no fetch for them has been sent
// wait together for the same one; one asked for after it was sent waits for
// the next, since the application may have changed the roster after that
// fetch read it.
func (e *engine) refreshUser(L *glua.LState, user string, done func(*glua.LState, bool, string), owner *fetchQueue) {
	// Asked even when offline users are refreshed too, as the plugin does:
	// a sessions table that raises fails the request the same way.
	if online := e.online(L, user); !online && !e.refreshOffline {
		e.offline.add(L, 1) // fetched at next login anyway; counts as updated, as in the original
		done(L, true, "")
		return
	}
	if b := e.waiting[user]; b != nil {
		b.dones = append(b.dones, done)
		b.owners = append(b.owners, owner)
		return
	}
	e.waiting[user] = &refreshBatch{dones: []func(*glua.LState, bool, string){done}, owners: []*fetchQueue{owner}}
	if !e.out[user] {
		e.runRefresh(L, user)
	}
}

func (e *engine) runRefresh(L *glua.LState, user string) {
	b := e.waiting[user]
	var owner *fetchQueue // its fetch waits, if it must, in the queue of a request still waiting
	for _, candidate := range b.owners {
		if !candidate.expired {
			owner = candidate
			break
		}
	}
	if owner == nil {
		e.dropBatch(user, b)
		return
	}
	e.out[user] = true
	b.item = e.fetchAndApply(L, user, func(L *glua.LState, ok bool, reason string) {
		delete(e.out, user)
		switch e.waiting[user] {
		case nil:
		case b: // never detached (its fetch was not sent): not run again
			delete(e.waiting, user)
		default: // asked for while this one was out
			e.runRefresh(L, user)
		}
		for _, done := range b.dones {
			done(L, ok, reason)
		}
	}, func(*glua.LState) {
		delete(e.waiting, user) // later refreshes start a new batch
	}, owner)
}

// dropBatch forgets a batch whose fetch was dropped before it was sent.
func (e *engine) dropBatch(user string, b *refreshBatch) {
	if e.waiting[user] == b {
		delete(e.waiting, user)
	}
	delete(e.out, user)
}

// cancelQueued is the deadline of the request owning q: each fetch it
// queued and that has not been sent goes to the logins that joined it, or
// to another request that still waits for it, or is dropped.
func (e *engine) cancelQueued(L *glua.LState, q *fetchQueue) {
	q.expired = true
	for _, item := range q.items[q.head:] {
		if item == nil || item.started || item.cancelled {
			continue
		}
		item.cancelled = true
		b := e.waiting[item.user]
		tracked := e.latest[item.user]
		var heir *fetchQueue
		if tracked != nil && tracked.item == item && len(tracked.waiters) > 0 {
			heir = &e.logins
		} else if b != nil && b.item == item {
			for _, other := range b.owners {
				if !other.expired {
					heir = other
					break
				}
			}
		}
		if heir == nil {
			item.forget()
			if b != nil && b.item == item {
				e.dropBatch(item.user, b)
			}
			continue
		}
		moved := &queuedFetch{user: item.user, done: item.done, onSent: item.onSent, forget: item.forget}
		if tracked != nil && tracked.item == item {
			tracked.item = moved
		}
		if b != nil && b.item == item {
			b.item = moved
		}
		e.enqueue(moved, heir)
	}
	clear(q.items)
	q.items, q.head = q.items[:0], 0
}

// fetchAndApply fetches and applies one user's roster: done(true) when it
// is in step, done(false, reason) when it stays as it was.
func (e *engine) fetchAndApply(L *glua.LState, user string, done func(*glua.LState, bool, string), onSent func(*glua.LState), owner *fetchQueue) *queuedFetch {
	return e.fetchRoster(L, user, func(L *glua.LState, wanted wantedRoster, reason string) {
		if wanted == nil {
			e.log.Warn(fmt.Sprintf("Roster of %s not refreshed: %s", user, reason))
			e.failedRefresh.add(L, 1)
			done(L, false, reason)
			return
		}
		if problem := e.apply(L, user, wanted); problem != "" {
			e.log.Error(fmt.Sprintf("Roster of %s not refreshed: %s", user, problem))
			e.failedRefresh.add(L, 1)
			done(L, false, "apply failed")
			return
		}
		e.refreshed.add(L, 1)
		done(L, true, "")
	}, onSent, owner)
}

// apply is the plugin's apply_roster: the difference applied (stored,
// pushed, mirrored, presence exchanged), logged and told to
// roster-admin/updated; what went wrong, or "".
func (e *engine) apply(L *glua.LState, user string, wanted wantedRoster) string {
	var lists [3][]glua.LValue
	var failure error
	if err := e.protect(L, func(L *glua.LState) {
		lists, failure = applyWanted(L, e.rosters, e.host, user, wanted, true)
	}); err != nil {
		return lua.ErrorMessage(err)
	}
	if failure != nil {
		return failure.Error()
	}
	if len(lists[0])+len(lists[1])+len(lists[2]) == 0 {
		return ""
	}
	e.log.Info(fmt.Sprintf("Roster of %s refreshed: %d added, %d removed, %d changed",
		user, len(lists[0]), len(lists[1]), len(lists[2])))
	if !e.hooked(L, "roster-admin/updated") { // else the event is a table per refresh for nobody
		return ""
	}
	if _, err := lua.Call(L, e.updatedFn, 0, glua.LString(user),
		listTable(L, lists[0]), listTable(L, lists[1]), listTable(L, lists[2])); err != nil {
		return lua.ErrorMessage(err)
	}
	return ""
}

func listTable(L *glua.LState, list []glua.LValue) *glua.LTable {
	t := L.CreateTable(len(list), 0)
	for _, v := range list {
		t.Append(v)
	}
	return t
}

// Fetches --------------------------------------------------------------------

// loginFetch is the plugin's login_fetch: a login gets the fetch already
// out for the user, or one that came back less than reuse_window ago, or
// a new one; done(wanted) or done(nil, reason).
func (e *engine) loginFetch(L *glua.LState, user string, done glua.LValue) {
	current := e.latest[user]
	switch {
	case current != nil && !current.done:
		current.waiters = append(current.waiters, done)
		item := current.item
		if item != nil && !item.started && !item.cancelled && item.owner != &e.logins {
			// Queued for a refresh request: a login goes first.
			item.cancelled = true
			moved := &queuedFetch{user: item.user, done: item.done, onSent: item.onSent, forget: item.forget}
			current.item = moved
			e.enqueue(moved, &e.logins)
		}
	case current != nil && time.Since(current.at) < e.reuseWindow:
		e.callWaiter(L, user, done, current.wanted, current.reason)
	default:
		e.fetchRoster(L, user, func(L *glua.LState, wanted wantedRoster, reason string) {
			e.callWaiter(L, user, done, wanted, reason)
		}, nil, nil)
	}
}

// callWaiter gives a login's callback what a fetch gave.
func (e *engine) callWaiter(L *glua.LState, user string, fn glua.LValue, wanted wantedRoster, reason string) {
	args := []glua.LValue{glua.LNil, glua.LString(reason)}
	if wanted != nil {
		args = []glua.LValue{rosterValue(L, wanted)}
	}
	if _, err := lua.Call(L, fn, 0, args...); err != nil {
		e.log.Error(fmt.Sprintf("Login waiting for the roster of %s failed: %s", user, lua.ErrorMessage(err)))
	}
}

// fetchRoster is the plugin's fetch_roster: it tracks the fetch for logins
// to share, and returns the queued fetch when it has to wait for a slot
// (in owner's queue, the logins' if nil), else nil.
func (e *engine) fetchRoster(L *glua.LState, user string, done func(*glua.LState, wantedRoster, string), onSent func(*glua.LState), owner *fetchQueue) *queuedFetch {
	tracked := &trackedFetch{}
	e.latest[user] = tracked
	finished := func(L *glua.LState, wanted wantedRoster, reason string) {
		tracked.done, tracked.at, tracked.wanted, tracked.reason = true, time.Now(), wanted, reason
		waiters := tracked.waiters
		tracked.waiters = nil
		done(L, wanted, reason)
		for _, w := range waiters {
			e.callWaiter(L, user, w, wanted, reason)
		}
		if e.latest[user] == tracked && !e.onlineProtected(L, user) {
			delete(e.latest, user) // nobody online will share it
		}
	}
	if e.running < e.maxConcurrent {
		e.startFetch(L, user, finished, onSent)
		return nil
	}
	item := &queuedFetch{user: user, done: finished, onSent: onSent}
	item.forget = func() { // dropped before it was sent: logins must not wait for it
		if e.latest[user] == tracked {
			delete(e.latest, user)
		}
	}
	tracked.item = item // logins joining it make it theirs
	if owner == nil {
		owner = &e.logins
	}
	e.enqueue(item, owner)
	return item
}

func (e *engine) enqueue(item *queuedFetch, owner *fetchQueue) {
	item.owner = owner
	owner.push(item)
	if owner != &e.logins && !owner.inTurn {
		owner.inTurn = true
		e.turns = append(e.turns, owner)
	}
}

// nextQueued is the next fetch to start: a login's, else the next
// request's in turn.
func (e *engine) nextQueued() *queuedFetch {
	if item := e.logins.pop(); item != nil {
		return item
	}
	for len(e.turns) > 0 {
		owner := e.turns[0]
		e.turns[0] = nil
		e.turns = e.turns[1:]
		item := owner.pop()
		if owner.pending() {
			e.turns = append(e.turns, owner)
		} else {
			owner.inTurn = false
		}
		if item != nil {
			return item
		}
	}
	e.turns = nil // let the emptied slice's array go
	return nil
}

func (e *engine) nextFetch(L *glua.LState) {
	for e.running < e.maxConcurrent {
		item := e.nextQueued()
		if item == nil {
			return
		}
		if !item.cancelled {
			item.started = true
			e.startFetch(L, item.user, item.done, item.onSent)
		}
	}
}

// startFetch is the plugin's start_fetch: done(wanted, "") or done(nil,
// reason), exactly once; onSent, if given, just before the request goes
// out.
func (e *engine) startFetch(L *glua.LState, user string, done func(*glua.LState, wantedRoster, string), onSent func(*glua.LState)) {
	e.running++
	started := time.Now()
	finished := false
	finish := func(L *glua.LState, wanted wantedRoster, reason, kind string) {
		if finished {
			return
		}
		finished = true
		e.fetchDuration.sample(L, time.Since(started).Seconds())
		if wanted == nil {
			if kind == "" {
				kind = "other"
			}
			e.errorKind(L, kind).add(L, 1)
			if _, err := lua.Call(L, e.failedFn, 0, glua.LString(user), glua.LString(reason), glua.LString(kind)); err != nil {
				e.log.Error("roster-admin/failed handler failed: " + lua.ErrorMessage(err))
			}
		}
		e.running--
		e.nextFetch(L) // first: done may resume a waiting login and not come back soon
		done(L, wanted, reason)
	}
	url, ok := e.urlFor(user)
	if !ok {
		// As good as sent: the refreshes waiting for it are answered by
		// this failure, and later ones start a batch of their own (else
		// the batch would be run again, and fail again, for ever).
		if onSent != nil {
			onSent(L)
		}
		// Failed on a later turn, as a refused connection would be.
		e.loop.Post(func(L *glua.LState) {
			finish(L, nil, "username "+user+" cannot be a URL path segment (proxies resolve dot segments)", "invalid_username")
		})
		return
	}
	if e.log.Enabled(e.loop.Context(), slog.LevelDebug) {
		e.log.Debug(fmt.Sprintf("Fetching roster of %s from %s", user, url))
	}
	// Only while net.http.request is its own: a spec that stubs it (as
	// busted specs written for Prosody do) gets the plugin's request, which
	// calls the stub.
	if !isOwnRequest(L, e.http) {
		e.luaRequest(L, user, url, finish, onSent)
		return
	}
	if onSent != nil {
		onSent(L)
	}
	sent := e.reader.fetchRoster(L, rosterRequest{url: url, timeout: e.timeout, self: e.selfJID(user),
		null: e.null, arrayMT: e.arrayMT, maxContacts: e.maxContacts, hooked: e.hookedFetched},
		func(L *glua.LState, f fetchedRoster) {
			switch {
			case f.code == 0 && f.timedOut:
				finish(L, nil, "no answer within "+e.timeoutText+" s", "timeout")
			case f.code != 200:
				reason, kind := answerFailure(f.code, f.reason)
				finish(L, nil, reason, kind)
			case f.reason != "":
				finish(L, nil, f.reason, rosterErrorKind(f.reason))
			case f.entries == nil:
				finish(L, f.roster, "", "")
			default:
				e.readFetched(L, user, f, finish)
			}
		})
	if !sent { // as net.http fails an invalid URL: at once, code 0
		reason, kind := answerFailure(0, "invalid-url")
		finish(L, nil, reason, kind)
	}
}

// readFetched gives roster-admin/fetched handlers their say on a roster
// read with its entries (the plugin's fetched: nil, or why it is refused).
func (e *engine) readFetched(L *glua.LState, user string, f fetchedRoster, finish func(*glua.LState, wantedRoster, string, string)) {
	table := rosterValue(L, f.roster)
	rets, err := lua.Call(L, e.fetchedFn, 2, glua.LString(user), table, f.entries)
	switch {
	case err != nil:
		finish(L, nil, "roster-admin/fetched handler failed: "+lua.ErrorMessage(err), "hook_failed")
	case rets[0] != glua.LNil:
		finish(L, nil, glua.LVAsString(rets[0]), glua.LVAsString(rets[1]))
	default:
		finish(L, f.roster, "", "")
	}
}

// luaRequest fetches through the plugin's own request (net.http's request
// as it is now, a stub in a spec): request(username, url, finish, on_sent)
// with finish(roster) or finish(nil, reason, kind).
func (e *engine) luaRequest(L *glua.LState, user, url string, finish func(*glua.LState, wantedRoster, string, string), onSent func(*glua.LState)) {
	finishFn := L.NewFunction(func(L *glua.LState) int {
		if v := L.Get(1); v != glua.LNil {
			finish(L, wantedOf(v), "", "")
		} else {
			finish(L, nil, L.ToStringMeta(L.Get(2)).String(), L.OptString(3, ""))
		}
		return 0
	})
	var onSentFn glua.LValue = glua.LNil
	if onSent != nil {
		onSentFn = L.NewFunction(func(L *glua.LState) int {
			onSent(L)
			return 0
		})
	}
	if _, err := lua.Call(L, e.requestFn, 0, glua.LString(user), glua.LString(url), finishFn, onSentFn); err != nil {
		e.log.Error(fmt.Sprintf("Roster request for %s not sent: %s", user, lua.ErrorMessage(err)))
		finish(L, nil, "request not sent: "+lua.ErrorMessage(err), "connection")
	}
}

// wantedOf is a roster Lua gave back, as the engine holds it.
func wantedOf(v glua.LValue) wantedRoster {
	if ud, ok := v.(*glua.LUserData); ok {
		if n, ok := ud.Value.(*nativeRoster); ok {
			return n
		}
	}
	return v
}

// isOwnRequest reports whether net.http's request is its own, not a stub.
func isOwnRequest(L *glua.LState, http *glua.LTable) bool {
	return compat.IsNetHTTPRequest(L, http.RawGetString("request"))
}

// Helpers ----------------------------------------------------------------------

func (e *engine) errorKind(L *glua.LState, kind string) luaMetric {
	m, ok := e.errorKinds[kind]
	if !ok {
		m = withLabels(L, e.fetchErrors, kind)
		e.errorKinds[kind] = m
	}
	return m
}

// hooked asks the plugin's hooked(event): unknown counts as hooked.
func (e *engine) hooked(L *glua.LState, event string) bool {
	rets, err := lua.Call(L, e.hookedFn, 1, glua.LString(event))
	return err != nil || glua.LVAsBool(rets[0])
}

// online is the plugin's user_sessions(user) ~= nil: a Lua error raised
// by a metatable on the way goes to the caller, as in the plugin.
func (e *engine) online(L *glua.LState, user string) bool {
	hosts, ok := L.GetField(L.GetGlobal("prosody"), "hosts").(*glua.LTable)
	if !ok {
		return false
	}
	host, ok := L.GetField(hosts, e.host).(*glua.LTable)
	if !ok {
		return false
	}
	sessions, ok := L.GetField(host, "sessions").(*glua.LTable)
	if !ok {
		return false
	}
	bare, ok := L.GetField(sessions, user).(*glua.LTable)
	if !ok {
		return false
	}
	return L.GetField(bare, "sessions") != glua.LNil
}

// onlineProtected is online where nothing may raise: an error counts as
// online (what it keeps is forgotten by the next sweep).
func (e *engine) onlineProtected(L *glua.LState, user string) bool {
	rets, err := lua.Call(L, e.onlineFn, 1, glua.LString(user))
	return err != nil || glua.LVAsBool(rets[0])
}

// protect runs fn as a protected call: a Lua error it raises is returned.
func (e *engine) protect(L *glua.LState, fn func(L *glua.LState)) error {
	saved := e.pending
	e.pending = fn
	defer func() { e.pending = saved }()
	_, err := lua.Call(L, e.protectedFn, 0)
	return err
}

// selfJID is user@host, remembered.
func (e *engine) selfJID(user string) string {
	if jid, ok := e.self[user]; ok {
		return jid
	}
	jid := user + "@" + e.host
	if len(e.self) >= urlCacheSize {
		clear(e.self)
	}
	e.self[user] = jid
	return jid
}

// urlCacheSize bounds the URLs (and JIDs) remembered by username.
const urlCacheSize = 10000

// urlFor is the plugin's roster_url_for: every "%s" of http_roster_url
// replaced by the username percent-encoded (all but RFC 3986's unreserved
// characters); false for "." and "..", which a proxy or client resolving
// dot segments would turn into another resource.
func (e *engine) urlFor(user string) (string, bool) {
	if url, ok := e.urls[user]; ok {
		return url, true
	}
	if user == "." || user == ".." {
		return "", false
	}
	url := strings.ReplaceAll(e.urlTemplate, "%s", pathEscape(user))
	if len(e.urls) >= urlCacheSize {
		clear(e.urls)
	}
	e.urls[user] = url
	return url, true
}

func pathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// answerFailure is the plugin's answer_failure: why a fetch that got no
// 200 failed, and its kind; code 0 is net.http's "no response", with its
// reason in place of the body.
func answerFailure(code int, body string) (string, string) {
	if code != 0 {
		return "HTTP status " + strconv.Itoa(code), "status"
	}
	kind := "connection"
	switch body {
	case "connection refused":
		kind = "refused"
	case "closed", "connection-closed", "unexpected-eof":
		kind = "closed"
	case "timeout":
		kind = "timeout"
	}
	return "connection failed: " + body, kind
}

// rosterErrorKind is the plugin's roster_error_kind: the kind of an answer
// read refused, from its reason.
func rosterErrorKind(reason string) string {
	switch {
	case strings.HasPrefix(reason, "answer is not a JSON object"):
		return "not_object"
	case strings.HasPrefix(reason, "answer is not valid JSON"):
		return "invalid_json"
	case isTooManyContacts(reason):
		return "too_many_contacts"
	}
	return "invalid_roster"
}

// isTooManyContacts matches "^answer has %d+ contacts, more than".
func isTooManyContacts(reason string) bool {
	rest, ok := strings.CutPrefix(reason, "answer has ")
	if !ok {
		return false
	}
	digits := 0
	for digits < len(rest) && '0' <= rest[digits] && rest[digits] <= '9' {
		digits++
	}
	return digits > 0 && strings.HasPrefix(rest[digits:], " contacts, more than")
}
