package rosteradmin

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/lua"
)

// modhost.roster_admin does in Go the steps of mod_http_roster_admin
// that cost most when written in Lua: reading the application's
// answer into roster items (decode, prep and check of every contact),
// comparing a roster with the fetched one and applying the difference, and
// scheduling the fetches (engine, engine.go). The plugin uses it when the
// runtime offers it and falls back on its own Lua otherwise (in Prosody),
// with the same results: plugins' FuzzBackendRoster gives both the same
// answers and compares what they make of them, and FuzzRosterReaderWays
// compares this reader's two ways of reading (scan and general decode).
//
//	parse(body, self_jid, null, array_mt, with_entries, callback [, max_contacts])
//	  Reads body on a goroutine of its own, off the Lua loop, and calls
//	  callback(roster, entries) or callback(nil, reason) back on the loop.
//	  null and array_mt are util.json's null sentinel and array metatable,
//	  so entries are what util.json.decode would have returned; without
//	  with_entries, entries is nil (nobody will read them). An answer with
//	  more than max_contacts contacts (if given) fails.
//	fetch(url, timeout, self_jid, null, array_mt, hooked, max_contacts, callback)
//	  The request for a roster and parse's reading of the answer in one
//	  step, off the loop, with one callback: see rosterReader.fetch.
//	is_net_http_request(fn) → whether fn is net.http's own request (not a
//	  stub a spec put in its place): fetch does what it would, not what a
//	  stub does, so the plugin uses fetch only then.
//	diff(current, wanted) → added, removed, changed
//	  Lists of contact JIDs, as the plugin's diff_roster.
//	apply(host, username, wanted [, exchange]) → added, removed, changed | nil, reason
//	  The plugin's apply_roster in Go and in one step, where the runtime
//	  holds rosters (host/roster): see applyRoster; with exchange, its
//	  exchange_presence too. Absent elsewhere.
//	engine(options) → the plugin's fetch scheduling in Go, where apply is
//	  offered: see engine.
//	parse_usernames(body, max_body, null, array_mt, callback)
//	  Reads a refresh request's body, as the plugin's parse_usernames, on a
//	  goroutine of its own, and calls callback(usernames, invalid_count,
//	  invalid_strings) or callback(nil, reason) back on the loop.
//
// Not a Prosody library: plugins other than the roster admin have no reason
// to require it.
func openModhostRoster(L *glua.LState) int {
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	mod := L.NewTable()
	mod.RawSetString("parse", L.NewFunction(r.parse))
	mod.RawSetString("fetch", L.NewFunction(r.fetch))
	mod.RawSetString("is_net_http_request", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LBool(compat.IsNetHTTPRequest(L, L.Get(1))))
		return 1
	}))
	mod.RawSetString("diff", L.NewFunction(diffRosters))
	mod.RawSetString("parse_usernames", L.NewFunction(parseUsernamesAsync))
	if roster.Of(L) != nil {
		mod.RawSetString("apply", L.NewFunction(applyRoster))
		mod.RawSetString("engine", L.NewFunction(r.newEngine))
	}
	L.Push(mod)
	return 1
}

// rosterCacheSize bounds each of the reader's caches; a full cache is
// emptied and refilled, which costs one round of checks.
const rosterCacheSize = 16384

// rosterReader holds what one Lua state's parses share: the contacts and
// texts already checked, since a roster is fetched again and again with
// mostly the same contacts. Parses run concurrently, hence the lock.
type rosterReader struct {
	generalOnly bool // never scanRoster: for tests comparing the two ways

	mu    sync.Mutex
	jids  map[string]checkedJID // by contact as the application wrote it
	texts map[string]string     // checked name or group → one shared copy
}

// checkedJID is a contact's prepped JID, or why it is not one.
type checkedJID struct {
	jid, problem string
}

func (r *rosterReader) parse(L *glua.LState) int {
	body := L.CheckString(1)
	self := L.CheckString(2)
	null := L.CheckTable(3)
	arrayMT := L.Get(4)
	withEntries := L.ToBool(5)
	callback := L.CheckFunction(6)
	maxContacts := int(min(float64(L.OptNumber(7, 0)), math.MaxInt32))
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("modhost.roster_admin.parse needs the runtime's loop")
	}
	go func() {
		roster, entries, reason := r.read(body, self, null, arrayMT, withEntries, maxContacts)
		loop.Post(func(L *glua.LState) {
			if reason != "" {
				loop.CallLogged(L, "roster_admin.parse callback", callback, 0, glua.LNil, glua.LString(reason))
				return
			}
			loop.CallLogged(L, "roster_admin.parse callback", callback, 0, rosterValue(L, roster), entriesValue(entries))
		})
	}()
	return 0
}

// rosterValue is a roster read gives as Lua sees it: a nativeRoster as
// userdata, a table as itself.
func rosterValue(L *glua.LState, roster any) glua.LValue {
	switch v := roster.(type) {
	case *nativeRoster:
		ud := L.NewUserData()
		ud.Value = v
		ud.Metatable = nativeRosterMeta(L)
		return ud
	case *glua.LTable:
		return v
	}
	return glua.LNil
}

func entriesValue(entries *glua.LTable) glua.LValue {
	if entries == nil {
		return glua.LNil
	}
	return entries
}

// fetch is the plugin's request for a roster, its bound and the reading of
// the answer in one step: the GET (compat.Fetch: net.http's clients and
// limits) and read run on one goroutine, and Lua is called once, on the
// loop, with what came of it.
//
//	fetch(url, timeout, self_jid, null, array_mt, hooked, max_contacts, callback) → true | nil, "invalid-url"
//
// callback(0, reason, timed_out) when no answer came (reason in net.http's
// words; timed_out when timeout ended it); callback(code) for a status
// other than 200; callback(200, roster, entries) or callback(200, nil,
// reason) as parse's. hooked() says whether roster-admin/fetched is hooked:
// asked as the request goes out and, if it was not, again as the answer
// comes in, when entries are read on the loop if it now is.
func (r *rosterReader) fetch(L *glua.LState) int {
	rawURL := L.CheckString(1)
	timeout := time.Duration(float64(L.CheckNumber(2)) * float64(time.Second))
	self := L.CheckString(3)
	null := L.CheckTable(4)
	arrayMT := L.Get(5)
	hooked := L.CheckFunction(6)
	maxContacts := int(min(float64(L.OptNumber(7, 0)), math.MaxInt32))
	callback := L.CheckFunction(8)
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("modhost.roster_admin.fetch needs the runtime's loop")
	}
	isHooked := func(L *glua.LState) bool {
		rets, err := lua.Call(L, hooked, 1)
		return err != nil || glua.LVAsBool(rets[0]) // unknown counts as hooked
	}
	const what = "roster_admin.fetch callback"
	ok := r.fetchRoster(L, rosterRequest{url: rawURL, timeout: timeout, self: self, null: null, arrayMT: arrayMT,
		maxContacts: maxContacts, hooked: isHooked}, func(L *glua.LState, f fetchedRoster) {
		switch {
		case f.code == 0:
			loop.CallLogged(L, what, callback, 0, glua.LNumber(0), glua.LString(f.reason), glua.LBool(f.timedOut))
		case f.code != 200:
			loop.CallLogged(L, what, callback, 0, glua.LNumber(f.code))
		case f.reason != "":
			loop.CallLogged(L, what, callback, 0, glua.LNumber(200), glua.LNil, glua.LString(f.reason))
		default:
			loop.CallLogged(L, what, callback, 0, glua.LNumber(200), rosterValue(L, f.roster), entriesValue(f.entries))
		}
	})
	if !ok {
		L.Push(glua.LNil)
		L.Push(glua.LString("invalid-url"))
		return 2
	}
	L.Push(glua.LTrue)
	return 1
}

// rosterRequest is what fetchRoster needs to fetch and read one roster.
type rosterRequest struct {
	url         string
	timeout     time.Duration
	self        string // the user's bare JID: never a contact of theirs
	null        *glua.LTable
	arrayMT     glua.LValue
	maxContacts int
	// hooked says whether roster-admin/fetched would be seen (its
	// handlers need the entries); called on the loop.
	hooked func(L *glua.LState) bool
}

// fetchedRoster is how a fetch ended: code 0 with net.http's reason (and
// timedOut when the request's own timeout ended it), another status than
// 200, or 200 with a roster (and entries, when hooked) or the reason the
// answer was refused.
type fetchedRoster struct {
	code     int
	reason   string
	timedOut bool
	roster   any // *nativeRoster, or *glua.LTable when read with entries
	entries  *glua.LTable
}

// fetchRoster makes the request for a roster (compat.Fetch: net.http's
// clients and limits) and reads the answer on the request's goroutine,
// then calls done once, on the loop. Whether entries are read is asked as
// the request goes out and, if not then, again as the answer comes in (a
// handler hooked meanwhile gets them, read on the loop). It reports false,
// and done is never called, for a URL net.http would refuse.
func (r *rosterReader) fetchRoster(L *glua.LState, req rosterRequest, done func(*glua.LState, fetchedRoster)) bool {
	loop := lua.LoopOf(L)
	withEntries := req.hooked(L)
	return compat.Fetch(L, req.url, acceptJSON, req.timeout, func(a compat.Answer) {
		if a.Code != 200 {
			loop.Post(func(L *glua.LState) { done(L, fetchedRoster{code: a.Code, reason: a.Body, timedOut: a.TimedOut}) })
			return
		}
		roster, entries, reason := r.read(a.Body, req.self, req.null, req.arrayMT, withEntries, req.maxContacts)
		loop.Post(func(L *glua.LState) {
			if reason == "" && !withEntries && req.hooked(L) {
				roster, entries, reason = r.read(a.Body, req.self, req.null, req.arrayMT, true, req.maxContacts)
			}
			done(L, fetchedRoster{code: 200, reason: reason, roster: roster, entries: entries})
		})
	})
}

// acceptJSON is the header of every roster fetch, as the plugin's Lua sends it.
var acceptJSON = http.Header{"Accept": {"application/json"}}

// read turns the application's answer into roster items and the decoded
// entries by the same JIDs, or says what in it the contract does not allow,
// in the words of the plugin's Lua parse_roster. It runs off the loop: the
// tables it builds are not seen by Lua until it returns. maxContacts > 0
// bounds the contacts an answer may have.
func (r *rosterReader) read(body, self string, null *glua.LTable, arrayMT glua.LValue, withEntries bool, maxContacts int) (any, *glua.LTable, string) {
	if !startsWithLuaSpaceThen(body, '{') {
		return nil, nil, "answer is not a JSON object"
	}
	if !utf8.ValidString(body) { // JSON is UTF-8 (RFC 8259 §8.1)
		return nil, nil, "answer is not UTF-8"
	}
	if usesReservedKey(body, `"__array"`) || usesReservedKey(body, `"__hash"`) {
		return nil, nil, "answer uses the reserved keys __array or __hash"
	}
	scratch := scanScratches.Get().(*scanScratch)
	defer scratch.release()
	if contacts, ok := scanRoster(body, scratch); ok && !r.generalOnly {
		if problem := tooManyContacts(len(contacts), maxContacts); problem != "" {
			return nil, nil, problem
		}
		return r.build(contacts, self, null, arrayMT, withEntries)
	}
	value, fail := compat.DecodeJSON(nil, body, null, arrayMT)
	data, ok := value.(*glua.LTable)
	if fail != nil || !ok || data == null || data.Metatable == arrayMT {
		if fail == nil {
			fail = glua.LNil
		}
		return nil, nil, "answer is not valid JSON (" + luaToString(fail) + ")"
	}
	if problem := tooManyContacts(countKeys(data), maxContacts); problem != "" {
		return nil, nil, problem
	}
	roster := compat.NewTable(0, countKeys(data))
	var entries *glua.LTable
	if withEntries {
		entries = compat.NewTable(0, countKeys(data))
	}
	for key, entry := data.Next(glua.LNil); key != glua.LNil; key, entry = data.Next(key) {
		contact, ok := key.(glua.LString)
		if !ok {
			return nil, nil, "invalid contact JID " + luaToString(key)
		}
		jid, problem := r.checkContact(string(contact))
		if problem != "" {
			return nil, nil, problem
		}
		object, ok := entry.(*glua.LTable)
		if !ok || object == null || object.Metatable == arrayMT {
			return nil, nil, "contact " + jid + " is not an object"
		}
		name := object.RawGetString("name")
		if name == null || name == glua.LString("") {
			name = glua.LNil
		}
		if name != glua.LNil {
			s, ok := name.(glua.LString)
			if !ok {
				return nil, nil, "contact " + jid + ": name is not a string"
			}
			text, problem := r.checkText(string(s))
			if problem != "" {
				return nil, nil, "contact " + jid + ": name " + problem
			}
			name = glua.LString(text)
		}
		groups, problem := r.readGroups(jid, object.RawGetString("groups"), null, arrayMT)
		if problem != "" {
			return nil, nil, problem
		}
		if jid == self { // Prosody never keeps a self-contact
			continue
		}
		item := compat.NewTable(0, 3)
		if name != glua.LNil {
			item.RawSetString("name", name)
		}
		item.RawSetString("groups", groups)
		item.RawSetString("subscription", glua.LString("both"))
		roster.RawSetString(jid, item)
		if entries != nil {
			entries.RawSetString(jid, object)
		}
	}
	return roster, entries, ""
}

// tooManyContacts is the plugin's failure for an answer of n contacts
// (distinct members of its object) when at most max are allowed, or "".
func tooManyContacts(n, max int) string {
	if max <= 0 || n <= max {
		return ""
	}
	return fmt.Sprintf("answer has %d contacts, more than http_roster_admin_max_contacts (%d)", n, max)
}

// parseUsernamesAsync is parse_usernames: the decode of a body of up to
// http_roster_admin_max_body (a megabyte of whitespace, or of nesting, is
// still a valid or a refused body) and the nodeprep of every name stay off
// the loop.
func parseUsernamesAsync(L *glua.LState) int {
	body := L.CheckString(1)
	maxBody := L.CheckNumber(2)
	null := L.CheckTable(3)
	arrayMT := L.Get(4)
	callback := L.CheckFunction(5)
	loop := lua.LoopOf(L)
	if loop == nil {
		L.RaiseError("modhost.roster_admin.parse_usernames needs the runtime's loop")
	}
	go func() {
		usernames, invalid, reason := parseUsernames(body, maxBody, null, arrayMT)
		loop.Post(func(L *glua.LState) {
			if reason != "" {
				loop.CallLogged(L, "roster_admin.parse_usernames callback", callback, 0, glua.LNil, glua.LString(reason))
				return
			}
			names := L.CreateTable(len(usernames), 0)
			for _, u := range usernames {
				names.Append(glua.LString(u))
			}
			refused := L.CreateTable(len(invalid), 0)
			for _, s := range invalid {
				refused.Append(glua.LString(s))
			}
			loop.CallLogged(L, "roster_admin.parse_usernames callback", callback, 0, names, glua.LNumber(len(invalid)), refused)
		})
	}()
	return 0
}

// parseUsernames is the plugin's parse_usernames: the distinct usernames
// the body names, prepped, and the distinct strings in it that are not
// usernames; or what is wrong with the body, in the plugin's words.
func parseUsernames(body string, maxBody glua.LNumber, null *glua.LTable, arrayMT glua.LValue) (usernames, invalid []string, reason string) {
	const expected = ": expected a JSON array of usernames"
	if strings.TrimLeft(body, " \t\n\v\f\r") == "" {
		return nil, nil, "missing body" + expected
	}
	if glua.LNumber(len(body)) > maxBody {
		return nil, nil, "body larger than " + maxBody.String() + " bytes"
	}
	if !utf8.ValidString(body) {
		return nil, nil, "body is not UTF-8" + expected
	}
	value, fail := compat.DecodeJSON(nil, body, null, arrayMT)
	if fail != nil {
		return nil, nil, "body is not valid JSON (" + luaToString(fail) + ")" + expected
	}
	data, ok := value.(*glua.LTable)
	if !ok || !startsWithLuaSpaceThen(body, '[') {
		return nil, nil, "body must be a JSON array of usernames"
	}
	seen, seenInvalid := map[string]bool{}, map[string]bool{}
	for i := 1; i <= data.Len(); i++ {
		element, ok := data.RawGetInt(i).(glua.LString)
		if !ok {
			return nil, nil, fmt.Sprintf("element %d is not a string", i)
		}
		username, ok := compat.Nodeprep(string(element))
		switch {
		case !ok || username == "":
			if !seenInvalid[string(element)] {
				seenInvalid[string(element)] = true
				invalid = append(invalid, string(element))
			}
		case !seen[username]:
			seen[username] = true
			usernames = append(usernames, username)
		}
	}
	return usernames, invalid, ""
}

// build is read's second half for an answer scanRoster could read: the same
// checks in the same order, on Go values instead of decoded tables. Without
// entries to give, the roster stays in Go (a nativeRoster) and Lua tables are
// made only for the items a refresh stores.
func (r *rosterReader) build(contacts []scannedContact, self string, null *glua.LTable, arrayMT glua.LValue, withEntries bool) (any, *glua.LTable, string) {
	read := &nativeRoster{items: make([]nativeItem, 0, len(contacts)), index: newIndex()}
	// Every item's groups are a window on one slice, sized for all of them
	// so that it never moves (a slice per contact was a third of the
	// objects a refresh allocated).
	n := 0
	for _, c := range contacts {
		n += len(c.groups)
	}
	groups := make([]string, 0, n)
	var entries *glua.LTable
	if withEntries {
		entries = compat.NewTable(0, len(contacts))
	}
	for _, c := range contacts {
		jid, problem := r.checkContact(c.key)
		if problem != "" {
			return nil, nil, problem
		}
		item := nativeItem{jid: jid}
		if c.hasName && !c.nameNull && c.name != "" {
			text, problem := r.checkText(c.name)
			if problem != "" {
				return nil, nil, "contact " + jid + ": name " + problem
			}
			item.name = text
		}
		start := len(groups)
		for _, g := range c.groups {
			text, problem := r.checkText(g)
			if problem != "" {
				return nil, nil, "contact " + jid + ": a group " + problem
			}
			if text != "" && !slices.Contains(groups[start:], text) {
				groups = append(groups, text)
			}
		}
		if jid == self { // Prosody never keeps a self-contact
			groups = groups[:start]
			continue
		}
		if len(groups) > start {
			item.groups = groups[start:len(groups):len(groups)]
			slices.Sort(item.groups) // as stored and pushed
		}
		if i, again := read.index[jid]; again {
			read.items[i] = item // the last one counts, in the first one's place
		} else {
			read.index[jid] = len(read.items)
			read.items = append(read.items, item)
		}
		if entries != nil {
			entries.RawSetString(jid, c.entry(null, arrayMT))
		}
	}
	if entries != nil {
		return read.table(), entries, ""
	}
	return read, nil, ""
}

// nativeRoster is a roster read from an answer, kept in Go: building a Lua
// table for each of its items cost more than all the rest of a refresh, and
// a refresh usually stores one or two of them. Lua sees it as userdata with
// the methods item(jid) and table() (every item); diff reads it directly.
type nativeRoster struct {
	items []nativeItem // in the answer's order
	// index is JID → position in items; nil once applying the roster gave
	// it back (release), and made again if the roster is applied again (a
	// fetch that logins share).
	index map[string]int
}

// indexes are nativeRoster indexes given back, cleared: a map per answer
// was a tenth of what a refresh allocated.
var indexes = sync.Pool{New: func() any { return map[string]int{} }}

func newIndex() map[string]int { return indexes.Get().(map[string]int) }

// lookup is n.index, made again if it was given back.
func (n *nativeRoster) lookup() map[string]int {
	if n.index == nil {
		n.index = newIndex()
		for i := range n.items {
			n.index[n.items[i].jid] = i
		}
	}
	return n.index
}

// release gives n's index back for the next answer. Call it on the loop,
// once n has been applied.
func (n *nativeRoster) release() {
	index := n.index
	n.index = nil
	if index != nil && len(index) <= maxScratchContacts {
		clear(index)
		indexes.Put(index)
	}
}

// item returns the contact with jid, or nil.
func (n *nativeRoster) item(jid string) *nativeItem {
	if i, ok := n.lookup()[jid]; ok {
		return &n.items[i]
	}
	return nil
}

// nativeItem is a contact as the answer gives it; subscription is "both".
type nativeItem struct {
	jid    string
	name   string   // "" for none (an empty name is none)
	groups []string // sorted, without duplicates or ""
}

// rosterItem is the item as stored and pushed (groups sorted by build).
func (it *nativeItem) rosterItem() roster.Item {
	return roster.Item{Name: it.name, Subscription: "both", Groups: it.groups}
}

// table is a roster item as the plugin's Lua reader makes it.
func (it *nativeItem) table() *glua.LTable {
	t := compat.NewTable(0, 3)
	if it.name != "" {
		t.RawSetString("name", glua.LString(it.name))
	}
	groups := compat.NewTable(0, len(it.groups))
	for _, g := range it.groups {
		groups.RawSetString(g, glua.LTrue)
	}
	t.RawSetString("groups", groups)
	t.RawSetString("subscription", glua.LString("both"))
	return t
}

// table is the whole roster as the plugin's Lua reader makes it.
func (n *nativeRoster) table() *glua.LTable {
	t := compat.NewTable(0, len(n.items))
	for i := range n.items {
		t.RawSetString(n.items[i].jid, n.items[i].table())
	}
	return t
}

// same reports whether a stored item says what it does.
func (it *nativeItem) same(L *glua.LState, old glua.LValue) bool {
	o, ok := old.(*glua.LTable)
	if !ok {
		return false
	}
	// Strings compare by value in Lua whatever their metatable.
	name := field(L, o, "name")
	if s, ok := name.(glua.LString); (it.name != "" && (!ok || string(s) != it.name)) || (it.name == "" && name != glua.LNil) {
		return false
	}
	if s, ok := field(L, o, "subscription").(glua.LString); !ok || s != "both" {
		return false
	}
	if glua.LVAsBool(field(L, o, "ask")) {
		return false
	}
	groups := field(L, o, "groups")
	set, ok := groups.(*glua.LTable)
	if !ok || set.Metatable != glua.LNil {
		return groups == glua.LNil && len(it.groups) == 0
	}
	for _, g := range it.groups {
		if !glua.LVAsBool(set.RawGetString(g)) {
			return false
		}
	}
	members := 0
	for k, in := set.Next(glua.LNil); k != glua.LNil; k, in = set.Next(k) {
		if glua.LVAsBool(in) {
			members++
		}
	}
	return members == len(it.groups)
}

// nativeRosterMeta is the metatable of nativeRoster userdata in L.
func nativeRosterMeta(L *glua.LState) *glua.LTable {
	const name = "modhost.roster_admin.roster"
	if mt, ok := L.GetField(L.Get(glua.RegistryIndex), name).(*glua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(name)
	methods := L.NewTable()
	methods.RawSetString("item", L.NewFunction(func(L *glua.LState) int {
		n := checkNativeRoster(L, 1)
		if it := n.item(L.CheckString(2)); it != nil {
			L.Push(it.table())
		} else {
			L.Push(glua.LNil)
		}
		return 1
	}))
	methods.RawSetString("table", L.NewFunction(func(L *glua.LState) int {
		L.Push(checkNativeRoster(L, 1).table())
		return 1
	}))
	mt.RawSetString("__index", methods)
	return mt
}

func checkNativeRoster(L *glua.LState, n int) *nativeRoster {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if r, ok := ud.Value.(*nativeRoster); ok {
			return r
		}
	}
	L.ArgError(n, "roster read by modhost.roster_admin expected")
	return nil
}

// scannedContact is one contact of an answer in the common shape.
type scannedContact struct {
	key                 string
	name                string
	hasName, nameNull   bool
	groups              []string
	hasGroups, grpsNull bool
	// groupsObject: groups came as the original module reads them, an
	// object whose keys are the group names (here every value is true).
	groupsObject bool
}

// entry is the table util.json.decode gives for the contact's object.
func (c scannedContact) entry(null *glua.LTable, arrayMT glua.LValue) *glua.LTable {
	t := compat.NewTable(0, 2)
	switch {
	case c.hasName && c.nameNull:
		t.RawSetString("name", null)
	case c.hasName:
		t.RawSetString("name", glua.LString(c.name))
	}
	switch {
	case c.hasGroups && c.grpsNull:
		t.RawSetString("groups", null)
	case c.hasGroups && c.groupsObject:
		set := compat.NewTable(0, len(c.groups))
		for _, g := range c.groups {
			set.RawSetString(g, glua.LTrue)
		}
		t.RawSetString("groups", set)
	case c.hasGroups:
		list := compat.NewTable(len(c.groups), 0)
		for _, g := range c.groups {
			list.Append(glua.LString(g))
		}
		list.Metatable = arrayMT
		t.RawSetString("groups", list)
	}
	return t
}

// scanRoster reads an answer of the shape applications write: an object of
// contact objects whose only members are "name" (a string or null) and
// "groups" (an array of strings, an object of group names whose values are
// all true, or null), with plain strings (no escapes,
// no control characters) and no key twice. ok is false for anything else,
// which then goes through util.json's decoder and the general checks: this
// is only a faster way to the same result for the common case.
// The contacts are read into scratch, which the caller gives back once
// it has built the roster from them.
func scanRoster(body string, scratch *scanScratch) (contacts []scannedContact, ok bool) {
	s := jsonScanner{src: body, groups: scratch.groups[:0]}
	defer func() { scratch.groups = s.groups }()
	if !s.expect('{') {
		return nil, false
	}
	// Every contact opens an object: a size to start from, found fast.
	guess := strings.Count(body, "{")
	contacts = slices.Grow(scratch.contacts[:0], guess)
	seen := scratch.seen
	defer func() { scratch.contacts = contacts }()
	if !s.peek('}') {
		for {
			key, ok := s.plainString()
			if !ok || !s.expect(':') {
				return nil, false
			}
			if _, dup := seen[key]; dup {
				return nil, false
			}
			seen[key] = struct{}{}
			c, ok := s.contact()
			if !ok {
				return nil, false
			}
			c.key = key
			contacts = append(contacts, c)
			if s.peek('}') {
				break
			}
			if !s.expect(',') {
				return nil, false
			}
		}
	}
	s.pos++ // the closing brace
	s.space()
	return contacts, s.pos == len(s.src)
}

// scanScratch is what scanRoster reads into, kept for the next answer: a
// refresh read every roster into a new slice and a new map (a quarter of
// what a refresh allocated), dropped as soon as the roster was built.
type scanScratch struct {
	contacts []scannedContact
	seen     map[string]struct{}
	groups   []string // every contact's groups, end to end (scannedContact.groups are windows on it)
}

var scanScratches = sync.Pool{New: func() any { return &scanScratch{seen: map[string]struct{}{}} }}

// maxScratchContacts is the largest scratch kept: one huge roster must
// not stay in memory for ever.
const maxScratchContacts = 4096

// release gives s back for the next answer, holding nothing of this one.
func (s *scanScratch) release() {
	if cap(s.contacts) > maxScratchContacts || len(s.seen) > maxScratchContacts || cap(s.groups) > 4*maxScratchContacts {
		return
	}
	clear(s.contacts[:cap(s.contacts)])
	s.contacts = s.contacts[:0]
	clear(s.seen)
	clear(s.groups[:cap(s.groups)])
	s.groups = s.groups[:0]
	scanScratches.Put(s)
}

// jsonScanner reads the strict JSON of scanRoster; pos is the next byte.
// The group names of every contact are appended to groups, one slice for
// the whole answer instead of one per contact.
type jsonScanner struct {
	src    string
	pos    int
	groups []string
}

// window is what was appended to s.groups since start, capped so that
// appending to it cannot reach into what comes next. s.groups may move
// when it grows: a window keeps the array it was cut from.
func (s *jsonScanner) window(start int) []string {
	return s.groups[start:len(s.groups):len(s.groups)]
}

func (s *jsonScanner) space() {
	for s.pos < len(s.src) && compat.IsJSONSpace(s.src[s.pos]) {
		s.pos++
	}
}

// expect skips spaces and c.
func (s *jsonScanner) expect(c byte) bool {
	s.space()
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// peek skips spaces and reports whether c is next, without taking it.
func (s *jsonScanner) peek(c byte) bool {
	s.space()
	return s.pos < len(s.src) && s.src[s.pos] == c
}

// null skips spaces and the literal null.
func (s *jsonScanner) null() bool {
	s.space()
	if strings.HasPrefix(s.src[s.pos:], "null") {
		s.pos += 4
		return true
	}
	return false
}

// plainString reads a string with neither escapes nor control characters.
func (s *jsonScanner) plainString() (string, bool) {
	if !s.expect('"') {
		return "", false
	}
	start := s.pos
	for ; s.pos < len(s.src); s.pos++ {
		switch c := s.src[s.pos]; {
		case c == '"':
			s.pos++
			return s.src[start : s.pos-1], true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// contact reads a contact's object.
func (s *jsonScanner) contact() (c scannedContact, ok bool) {
	if !s.expect('{') {
		return c, false
	}
	if s.peek('}') {
		s.pos++
		return c, true
	}
	for {
		member, ok := s.plainString()
		if !ok || !s.expect(':') {
			return c, false
		}
		switch {
		case member == "name" && !c.hasName:
			c.hasName = true
			if c.nameNull = s.null(); !c.nameNull {
				if c.name, ok = s.plainString(); !ok {
					return c, false
				}
			}
		case member == "groups" && !c.hasGroups:
			c.hasGroups = true
			if c.grpsNull = s.null(); !c.grpsNull {
				if s.peek('{') {
					c.groupsObject = true
					c.groups, ok = s.groupNames()
				} else {
					c.groups, ok = s.stringArray()
				}
				if !ok {
					return c, false
				}
			}
		default:
			return c, false
		}
		if s.peek('}') {
			s.pos++
			return c, true
		}
		if !s.expect(',') {
			return c, false
		}
	}
}

// sequence reads open, then items separated by commas, then close; item
// reads one and says whether it was fine.
func (s *jsonScanner) sequence(open, close byte, item func() bool) bool {
	if !s.expect(open) {
		return false
	}
	if s.peek(close) {
		s.pos++
		return true
	}
	for {
		if !item() {
			return false
		}
		if s.peek(close) {
			s.pos++
			return true
		}
		if !s.expect(',') {
			return false
		}
	}
}

// stringArray reads an array of plain strings.
func (s *jsonScanner) stringArray() ([]string, bool) {
	start := len(s.groups)
	ok := s.sequence('[', ']', func() bool {
		item, ok := s.plainString()
		s.groups = append(s.groups, item)
		return ok
	})
	return s.window(start), ok
}

// groupNames reads an object of group names, each true:
// {"Friends": true, "Work": true}. A name given twice takes the general
// path (util.json keeps one of them; so does this, but the entry differs).
func (s *jsonScanner) groupNames() ([]string, bool) {
	start := len(s.groups)
	ok := s.sequence('{', '}', func() bool {
		name, ok := s.plainString()
		if !ok || !s.expect(':') || slices.Contains(s.groups[start:], name) {
			return false
		}
		s.space()
		if !strings.HasPrefix(s.src[s.pos:], "true") {
			return false
		}
		s.pos += 4
		s.groups = append(s.groups, name)
		return true
	})
	return s.window(start), ok
}

// readGroups turns an entry's groups into a group set. They come in the
// shape the original module reads, an object whose keys are the group
// names (whatever the values), or as an array of strings; {}, [], null or
// no groups at all mean none.
func (r *rosterReader) readGroups(jid string, value glua.LValue, null *glua.LTable, arrayMT glua.LValue) (*glua.LTable, string) {
	list, isTable := value.(*glua.LTable)
	n := 0
	if isTable {
		n = list.Len()
	}
	groups := compat.NewTable(0, n)
	if value == glua.LNil || value == null {
		return groups, ""
	}
	if !isTable {
		return nil, "contact " + jid + ": " + errGroupsShape
	}
	asObject := list.Metatable != arrayMT
	for key, group := list.Next(glua.LNil); key != glua.LNil; key, group = list.Next(key) {
		if asObject {
			group = key // the group names are the keys
		}
		s, ok := group.(glua.LString)
		if !ok {
			return nil, "contact " + jid + ": a group is not a string"
		}
		text, problem := r.checkText(string(s))
		if problem != "" {
			return nil, "contact " + jid + ": a group " + problem
		}
		if text != "" {
			groups.RawSetString(text, glua.LTrue)
		}
	}
	return groups, ""
}

// errGroupsShape is the failure for groups that are neither an object of
// group names nor an array (a string, a number, a boolean).
const errGroupsShape = "groups is not an object of group names or an array of strings"

// checkContact preps a contact JID once and remembers the outcome.
func (r *rosterReader) checkContact(contact string) (string, string) {
	r.mu.Lock()
	c, ok := r.jids[contact]
	r.mu.Unlock()
	if ok {
		return c.jid, c.problem
	}
	c = checkContactJID(contact)
	r.mu.Lock()
	if len(r.jids) >= rosterCacheSize {
		clear(r.jids)
	}
	r.jids[strings.Clone(contact)] = c
	r.mu.Unlock()
	return c.jid, c.problem
}

// checkContactJID is the plugin's check_contact_jid: a bare JID after
// Prosody's prep, which XML can carry.
func checkContactJID(contact string) checkedJID {
	jid, hasResource, ok := compat.PrepJID(contact)
	if !ok || hasResource {
		return checkedJID{problem: "invalid contact JID " + contact}
	}
	if problem := xmlTextProblem(jid); problem != "" {
		return checkedJID{problem: "invalid contact JID " + jid + ": " + problem}
	}
	return checkedJID{jid: jid}
}

// checkText checks a name or group once and hands out one shared copy of
// it, so that rosters do not pin the answers they were read from and the
// same group name is held once.
func (r *rosterReader) checkText(s string) (string, string) {
	r.mu.Lock()
	text, ok := r.texts[s]
	r.mu.Unlock()
	if ok {
		return text, ""
	}
	if problem := xmlTextProblem(s); problem != "" {
		return "", problem
	}
	text = strings.Clone(s)
	r.mu.Lock()
	if len(r.texts) >= rosterCacheSize {
		clear(r.texts)
	}
	r.texts[text] = text
	r.mu.Unlock()
	return text, ""
}

// xmlTextProblem is the plugin's check_xml_text: what makes s unfit for XML
// text or an attribute value, or "".
func xmlTextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return "contains a character XML cannot carry"
		}
	}
	if strings.Contains(s, "\uFFFE") || strings.Contains(s, "\uFFFF") {
		return "contains a character XML cannot carry"
	}
	return ""
}

// startsWithLuaSpaceThen reports whether s is Lua's %s* followed by c.
func startsWithLuaSpaceThen(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			continue
		case c:
			return true
		}
		return false
	}
	return false
}

// usesReservedKey reports whether key appears as an object member name:
// after '{' or ',' and before ':', with Lua's %s between (the plugin's
// pattern '[{,]%s*"__array"%s*:').
func usesReservedKey(body, key string) bool {
	for from := 0; ; {
		at := strings.Index(body[from:], key)
		if at < 0 {
			return false
		}
		at += from
		from = at + 1
		before := at - 1
		for before >= 0 && isLuaSpace(body[before]) {
			before--
		}
		after := at + len(key)
		for after < len(body) && isLuaSpace(body[after]) {
			after++
		}
		if before >= 0 && (body[before] == '{' || body[before] == ',') && after < len(body) && body[after] == ':' {
			return true
		}
	}
}

func isLuaSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// luaToString is tostring for the values a decode failure or a key can be.
func luaToString(v glua.LValue) string {
	if n, ok := v.(glua.LNumber); ok {
		return n.String()
	}
	return v.String()
}

func countKeys(t *glua.LTable) int {
	n := 0
	for k, _ := t.Next(glua.LNil); k != glua.LNil; k, _ = t.Next(k) {
		n++
	}
	return n
}

// diffRosters is the plugin's diff_roster: which contacts of wanted are new
// to current, which of current are gone, and which differ in name, groups,
// subscription or a pending ask. A wanted item without groups has none and
// one without a subscription has "both". Each list is sorted.
func diffRosters(L *glua.LState) int {
	current := L.CheckTable(1)
	if _, ok := L.Get(2).(*glua.LUserData); ok {
		return pushSortedLists(L, diffNative(L, current, checkNativeRoster(L, 2)))
	}
	return pushSortedLists(L, diffTables(L, current, L.CheckTable(2)))
}

// diffTables is diffRosters for a wanted roster that is a Lua table (what
// roster-admin/fetched handlers were given): added, removed, changed.
func diffTables(L *glua.LState, current, wanted *glua.LTable) [3][]glua.LValue {
	var lists [3][]glua.LValue
	wanted.ForEach(func(jid, item glua.LValue) {
		old := lookup(L, current, jid)
		switch {
		case !glua.LVAsBool(old):
			lists[0] = append(lists[0], jid)
		case !sameItem(L, old, item):
			lists[2] = append(lists[2], jid)
		}
	})
	current.ForEach(func(jid, _ glua.LValue) {
		if glua.LVAsBool(jid) && !glua.LVAsBool(lookup(L, wanted, jid)) {
			lists[1] = append(lists[1], jid)
		}
	})
	return lists
}

// diffNative is diffRosters for a roster read into Go.
func diffNative(L *glua.LState, current *glua.LTable, wanted *nativeRoster) [3][]glua.LValue {
	var lists [3][]glua.LValue
	for i := range wanted.items {
		it := &wanted.items[i]
		old := field(L, current, it.jid)
		switch {
		case !glua.LVAsBool(old):
			lists[0] = append(lists[0], glua.LString(it.jid))
		case !it.same(L, old):
			lists[2] = append(lists[2], glua.LString(it.jid))
		}
	}
	for jid, _ := current.Next(glua.LNil); jid != glua.LNil; jid, _ = current.Next(jid) {
		if !glua.LVAsBool(jid) {
			continue
		}
		if s, ok := jid.(glua.LString); ok && wanted.item(string(s)) != nil {
			continue
		}
		lists[1] = append(lists[1], jid)
	}
	return lists
}

// applyRoster is apply(host, username, wanted) → added, removed, changed,
// or nil and the reason: the plugin's apply_roster done in Go, in one step
// (host/roster's Commit: stored, held, mirrored, pushed), so that a
// refresh is never half applied, and without a Lua table per contact of a
// roster Go holds. wanted is what parse gave (a roster read into Go, or the
// table roster-admin/fetched handlers saw); its items are normalised as the
// plugin's normalised does. Not available outside a modhost runtime.
func applyRoster(L *glua.LState) int {
	host, user := L.CheckString(1), L.CheckString(2)
	rosters := roster.Of(L)
	if rosters == nil {
		L.RaiseError("modhost.roster_admin.apply needs the runtime's rosters")
	}
	var wanted any
	if _, ok := L.Get(3).(*glua.LUserData); ok {
		wanted = checkNativeRoster(L, 3)
	} else {
		wanted = L.CheckTable(3)
	}
	lists, err := applyWanted(L, rosters, host, user, wanted, L.ToBool(4))
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	return pushLists(L, lists)
}

// applyWanted is applyRoster for Go callers: wanted is a *nativeRoster or
// the *glua.LTable roster-admin/fetched handlers saw. It returns the
// added, removed and changed contact JIDs, each sorted.
func applyWanted(L *glua.LState, rosters roster.Rosters, host, user string, wanted any, exchange bool) ([3][]glua.LValue, error) {
	var lists [3][]glua.LValue
	native, isNative := wanted.(*nativeRoster)
	if isNative {
		defer native.release()
		p, ok, err := rosters.Packed(L, host, user)
		if err != nil {
			return lists, errors.New("could not load the current roster: " + err.Error())
		}
		if ok {
			lists, err := applyPacked(L, rosters, host, user, p, native)
			if err != nil {
				return lists, err
			}
			if exchange {
				exchangePresence(L, rosters, host, user, lists[0], lists[1])
			}
			return lists, nil
		}
	}
	current, err := rosters.Load(L, host, user)
	if err != nil {
		return lists, errors.New("could not load the current roster: " + err.Error())
	}
	var item func(jid glua.LValue) (glua.LValue, string)
	if isNative {
		lists = diffNative(L, current, native)
		item = func(jid glua.LValue) (glua.LValue, string) {
			return native.item(string(jid.(glua.LString))).table(), ""
		}
	} else {
		table, ok := wanted.(*glua.LTable)
		if !ok {
			return lists, fmt.Errorf("wanted roster is a %T, not a table", wanted)
		}
		lists = diffTables(L, current, table)
		item = func(jid glua.LValue) (glua.LValue, string) { return normalisedItem(L, jid, lookup(L, table, jid)) }
	}
	for i := range lists {
		sortJIDs(lists[i])
	}
	jids := make([]string, 0, len(lists[0])+len(lists[1])+len(lists[2]))
	for _, jid := range lists[1] {
		if s, ok := jid.(glua.LString); ok {
			current.RawSet(jid, glua.LNil)
			jids = append(jids, string(s))
		}
	}
	for _, list := range [][]glua.LValue{lists[0], lists[2]} {
		for _, jid := range list {
			s, ok := jid.(glua.LString)
			if !ok {
				return lists, errors.New("contact " + luaToString(jid) + " is not a JID")
			}
			it, problem := item(jid)
			if problem != "" {
				return lists, errors.New(problem)
			}
			current.RawSet(jid, it)
			jids = append(jids, string(s))
		}
	}
	if err := rosters.Commit(L, host, user, current, jids); err != nil {
		return lists, err
	}
	if exchange {
		exchangePresence(L, rosters, host, user, lists[0], lists[1])
	}
	return lists, nil
}

// exchangePresence is the plugin's exchange_presence, in Go: each client of
// user that has sent its presence sends it to the added contacts and
// unavailable to the removed ones, and the user's bare JID probes the added
// contacts' presence.
func exchangePresence(L *glua.LState, rosters roster.Rosters, host, user string, added, removed []glua.LValue) {
	if len(added)+len(removed) == 0 {
		return
	}
	bare := user + "@" + host
	var users glua.LValue = glua.LNil
	if h, ok := L.GetField(L.GetGlobal("hosts"), host).(*glua.LTable); ok {
		if sessions, ok := h.RawGetString("sessions").(*glua.LTable); ok {
			users = sessions.RawGetString(user)
		}
	}
	if u, ok := users.(*glua.LTable); ok {
		if sessions, ok := u.RawGetString("sessions").(*glua.LTable); ok {
			for k, s := sessions.Next(glua.LNil); k != glua.LNil; k, s = sessions.Next(k) {
				session, ok := s.(*glua.LTable)
				if !ok {
					continue
				}
				presence, ok := session.RawGetString("presence").(*glua.LTable)
				if !ok {
					continue // clients without initial presence stay silent
				}
				available, err := compat.StanzaToElement(L, presence)
				if err != nil {
					continue
				}
				full := glua.LVAsString(session.RawGetString("full_jid"))
				for _, contact := range added {
					rosters.Send(L, host, addressed(available, full, contact.String()))
				}
				for _, contact := range removed {
					rosters.Send(L, host, &xmpp.Element{Name: "presence", Attr: []xml.Attr{
						xmlAttr("type", "unavailable"), xmlAttr("from", full), xmlAttr("to", contact.String())}})
				}
			}
		}
	}
	for _, contact := range added {
		rosters.Send(L, host, &xmpp.Element{Name: "presence", Attr: []xml.Attr{
			xmlAttr("type", "probe"), xmlAttr("from", bare), xmlAttr("to", contact.String())}})
	}
}

// addressed is a copy of stanza e from from to to (its children shared).
func addressed(e *xmpp.Element, from, to string) *xmpp.Element {
	c := *e
	c.Attr = make([]xml.Attr, 0, len(e.Attr)+2)
	for _, a := range e.Attr {
		if a.Name.Space == "" && (a.Name.Local == "from" || a.Name.Local == "to") {
			continue
		}
		c.Attr = append(c.Attr, a)
	}
	c.Attr = append(c.Attr, xmlAttr("from", from), xmlAttr("to", to))
	return &c
}

func xmlAttr(name, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: name}, Value: value}
}

// applyPacked is applyRoster for a roster Go holds packed and an answer
// read into Go: the diff compares packed items with the answer's, and the
// change is made on the packed form (no Lua table at all).
func applyPacked(L *glua.LState, rosters roster.Rosters, host, user string, p *roster.Packed, wanted *nativeRoster) ([3][]glua.LValue, error) {
	var lists [3][]glua.LValue
	seen := make([]bool, len(wanted.items))
	var scratch []byte
	index := wanted.lookup()
	for i := range p.Len() {
		jid := p.JID(i)
		at, ok := index[jid]
		if !ok {
			lists[1] = append(lists[1], glua.LString(jid))
			continue
		}
		seen[at] = true
		want := wanted.items[at].rosterItem()
		var same bool
		if same, scratch = p.Same(i, &want, scratch); !same {
			lists[2] = append(lists[2], glua.LString(jid))
		}
	}
	for at := range wanted.items {
		if !seen[at] {
			lists[0] = append(lists[0], glua.LString(wanted.items[at].jid))
		}
	}
	for i := range lists {
		sortJIDs(lists[i])
	}
	changes := make([]roster.Change, 0, len(lists[0])+len(lists[1])+len(lists[2]))
	for _, jid := range lists[1] {
		changes = append(changes, roster.Change{JID: string(jid.(glua.LString))})
	}
	items := make([]roster.Item, 0, len(lists[0])+len(lists[2])) // one allocation, not one an item
	for _, list := range [][]glua.LValue{lists[0], lists[2]} {
		for _, jid := range list {
			s := string(jid.(glua.LString))
			items = append(items, wanted.item(s).rosterItem())
			changes = append(changes, roster.Change{JID: s, Item: &items[len(items)-1]})
		}
	}
	return lists, rosters.CommitPacked(L, host, user, p, changes)
}

// normalisedItem is the plugin's normalised for an item a roster-admin/
// fetched handler left: groups default to none, subscription to "both".
func normalisedItem(L *glua.LState, jid, v glua.LValue) (glua.LValue, string) {
	item, ok := v.(*glua.LTable)
	if !ok {
		return nil, "contact " + luaToString(jid) + ": item is not a table"
	}
	if field(L, item, "groups") == glua.LNil {
		item.RawSetString("groups", compat.NewTable(0, 0))
	}
	if field(L, item, "subscription") == glua.LNil {
		item.RawSetString("subscription", glua.LString("both"))
	}
	return item, ""
}

func sortJIDs(list []glua.LValue) {
	slices.SortFunc(list, func(a, b glua.LValue) int { return strings.Compare(a.String(), b.String()) })
}

// pushSortedLists pushes added, removed and changed as Lua arrays, sorted.
func pushSortedLists(L *glua.LState, lists [3][]glua.LValue) int {
	for i := range lists {
		sortJIDs(lists[i])
	}
	return pushLists(L, lists)
}

// pushLists pushes each list as a Lua array.
func pushLists(L *glua.LState, lists [3][]glua.LValue) int {
	for _, list := range lists {
		t := L.CreateTable(len(list), 0)
		for _, jid := range list {
			t.Append(jid)
		}
		L.Push(t)
	}
	return len(lists)
}

// lookup is t[key] as Lua reads it: raw unless t has a metatable.
func lookup(L *glua.LState, t *glua.LTable, key glua.LValue) glua.LValue {
	if t.Metatable == glua.LNil {
		return t.RawGet(key)
	}
	return L.GetTable(t, key)
}

// field is t.name as Lua reads it.
func field(L *glua.LState, t *glua.LTable, name string) glua.LValue {
	if t.Metatable == glua.LNil {
		return t.RawGetString(name)
	}
	return L.GetField(t, name)
}

// sameItem reports whether a stored item already says what a wanted one
// does. Anything malformed counts as a difference, so that it is replaced.
func sameItem(L *glua.LState, old, item glua.LValue) bool {
	o, ok := old.(*glua.LTable)
	w, ok2 := item.(*glua.LTable)
	if !ok || !ok2 {
		return false
	}
	subscription := field(L, w, "subscription")
	if subscription == glua.LNil {
		subscription = glua.LString("both")
	}
	if !L.Equal(field(L, o, "name"), field(L, w, "name")) || !L.Equal(field(L, o, "subscription"), subscription) {
		return false
	}
	if glua.LVAsBool(field(L, o, "ask")) {
		return false
	}
	return sameGroups(field(L, o, "groups"), field(L, w, "groups"))
}

// sameGroups compares two group sets (group → true); a missing set is the
// empty one, and a set that is not a plain table differs from every other.
func sameGroups(a, b glua.LValue) bool {
	ta, aok := a.(*glua.LTable)
	tb, bok := b.(*glua.LTable)
	if (!aok && a != glua.LNil) || (!bok && b != glua.LNil) ||
		(aok && ta.Metatable != glua.LNil) || (bok && tb.Metatable != glua.LNil) {
		return false
	}
	// Every member of a is in b, and b has as many members.
	na, same := 0, true
	if aok {
		ta.ForEach(func(g, in glua.LValue) {
			if glua.LVAsBool(in) {
				na++
				if !bok || !glua.LVAsBool(tb.RawGet(g)) {
					same = false
				}
			}
		})
	}
	nb := 0
	if bok {
		tb.ForEach(func(_, in glua.LValue) {
			if glua.LVAsBool(in) {
				nb++
			}
		})
	}
	return same && na == nb
}

// Library is modhost.roster_admin, for the runtime to offer plugins.
func Library() lua.Library { return lua.Library{Name: "modhost.roster_admin", Open: openModhostRoster} }
