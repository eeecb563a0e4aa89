package host

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// rosterBook holds the rosters of online users in Go, packed (modhost.pack's
// form, ~60 bytes a contact), where a Lua table would cost ~1.4 KiB a
// contact (gopher-lua gives each table with string keys a map, a key slice
// and a key index). core.rostermanager's load_online puts a user's roster
// here at login; the first Lua read of session.roster takes it out as the
// Lua table that is the truth from then on (host/sessions.lua), so a plugin
// that never reads rosters costs nothing per contact. Go code changes a
// held roster through roster.Rosters (Load, Commit), which this implements.
// Used on the loop only.
type rosterBook struct {
	rt   *Runtime
	held map[string]glua.LValue // host \0 user → packed roster
	// parsed is the parsed form of a held packed string (heldParsed), kept
	// beside it: every refresh and roster query of an online user reads
	// it, and parsing 100 contacts cost as much as comparing them (12
	// bytes a contact, sharing the held string).
	parsed  map[string]*roster.Packed
	pushSeq uint64
}

var _ roster.Rosters = (*rosterBook)(nil)

func bookKey(host, user string) string { return host + "\x00" + user }

// heldParsed is the held packed string s of key, parsed (once for each
// string held).
func (b *rosterBook) heldParsed(key string, s glua.LString) (*roster.Packed, bool) {
	if p := b.parsed[key]; p != nil && p.Data() == string(s) {
		return p, true
	}
	p, ok := roster.ParsePacked(string(s))
	if ok {
		b.parsed[key] = p
	}
	return p, ok
}

// forgetHeld stops holding key's roster.
func (b *rosterBook) forgetHeld(key string) {
	delete(b.held, key)
	delete(b.parsed, key)
}

func (b *rosterBook) natives() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"roster_hold":    b.luaHold,
		"roster_take":    b.luaTake,
		"roster_held":    b.luaHeld,
		"roster_drop":    b.luaDrop,
		"roster_prepare": luaRosterPrepare,
		"roster_query":   b.luaQuery,
		"roster_answer":  b.luaAnswer,
		"roster_version": b.luaVersion,
	}
}

// roster_hold(host, user, packed)
func (b *rosterBook) luaHold(L *glua.LState) int {
	key := bookKey(L.CheckString(1), L.CheckString(2))
	b.held[key] = L.CheckAny(3)
	delete(b.parsed, key)
	return 0
}

// roster_take(host, user) → the roster as a Lua table, no longer held; nil
// if none is held.
func (b *rosterBook) luaTake(L *glua.LState) int {
	key := bookKey(L.CheckString(1), L.CheckString(2))
	packed, ok := b.held[key]
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	t, err := storagememory.Unpack(L, packed)
	if err != nil {
		L.RaiseError("roster of %s: %s", L.CheckString(2), err.Error())
	}
	b.forgetHeld(key)
	L.Push(t)
	return 1
}

// roster_held(host, user) → whether Go holds the user's roster.
func (b *rosterBook) luaHeld(L *glua.LState) int {
	_, ok := b.held[bookKey(L.CheckString(1), L.CheckString(2))]
	L.Push(glua.LBool(ok))
	return 1
}

// roster_version(host, user) → roster[false].version of the roster Go
// holds (1 when it has none, as Prosody's mod_roster counts it), nil when
// none is held.
func (b *rosterBook) luaVersion(L *glua.LState) int {
	host, user := L.CheckString(1), L.CheckString(2)
	key := bookKey(host, user)
	held, ok := b.held[key]
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	if s, ok := held.(glua.LString); ok {
		if p, ok := b.heldParsed(key, s); ok {
			L.Push(glua.LString(p.Version()))
			return 1
		}
	}
	t, err := b.unpackHeld(L, host, user)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	version := glua.LValue(glua.LNumber(1))
	if t == nil {
		L.Push(version)
		return 1
	}
	if meta, ok := t.RawGet(glua.LFalse).(*glua.LTable); ok {
		if v := meta.RawGetString("version"); v != glua.LNil {
			version = v
		}
	}
	L.Push(version)
	return 1
}

// versionAttr is the ver of a roster result from p, as Prosody's mod_roster
// gives it (tonumber of roster[false].version, or 1): "" when that is not a
// number, as Prosody then sends none.
func versionAttr(p *roster.Packed) string {
	v := p.Version()
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		return ""
	}
	return v
}

// roster_drop(host, user): the user's last session has ended.
func (b *rosterBook) luaDrop(L *glua.LState) int {
	b.forgetHeld(bookKey(L.CheckString(1), L.CheckString(2)))
	return 0
}

// roster_prepare(packed, bare) → the stored roster (packed, nil for none)
// with its metadata as load_roster gives it (roster[false] with pending),
// packed; nil when load_roster would have to repair it (a legacy "pending"
// contact, the user as their own contact) or it is no roster table.
func luaRosterPrepare(L *glua.LState) int {
	stored, bare := L.Get(1), L.CheckString(2)
	var r *glua.LTable
	changed := false
	if stored == glua.LNil {
		r, changed = L.CreateTable(0, 1), true
	} else {
		v, err := storagememory.Unpack(L, stored)
		t, ok := v.(*glua.LTable)
		if err != nil || !ok {
			L.Push(glua.LNil)
			return 1
		}
		r = t
	}
	if r.RawGetString(bare) != glua.LNil || r.RawGetString("pending") != glua.LNil {
		L.Push(glua.LNil)
		return 1
	}
	meta, ok := r.RawGet(glua.LFalse).(*glua.LTable)
	if !ok {
		if r.RawGet(glua.LFalse) != glua.LNil {
			L.Push(glua.LNil)
			return 1
		}
		meta, changed = L.CreateTable(0, 2), true
		r.RawSet(glua.LFalse, meta)
	}
	if meta.RawGetString("pending") == glua.LNil {
		meta.RawSetString("pending", L.CreateTable(0, 0))
		changed = true
	}
	if !changed {
		L.Push(stored)
		return 1
	}
	L.Push(storagememory.Pack(L, r))
	return 1
}

// roster_query(host, user) → the <query xmlns='jabber:iq:roster'/> of a
// roster result, from the roster Go holds: items sorted by JID, groups
// sorted, as host/sessions.lua's own answer.
func (b *rosterBook) luaQuery(L *glua.LState) int {
	host, user := L.CheckString(1), L.CheckString(2)
	key := bookKey(host, user)
	if s, ok := b.held[key].(glua.LString); ok {
		if p, ok := b.heldParsed(key, s); ok {
			L.Push(queryOf(L, p))
			return 1
		}
	}
	t, err := b.unpackHeld(L, host, user)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	query := &xmpp.Element{Name: "query", NS: nsRoster}
	var jids []string
	if t != nil {
		for k, v := t.Next(glua.LNil); k != glua.LNil; k, v = t.Next(k) {
			if s, ok := k.(glua.LString); ok {
				if _, ok := v.(*glua.LTable); ok {
					jids = append(jids, string(s))
				}
			}
		}
	}
	slices.Sort(jids)
	query.Children = make([]xmpp.Node, 0, len(jids))
	for _, jid := range jids {
		query.Children = append(query.Children, rosterItemElement(jid, t.RawGetString(jid)))
	}
	st, err := compat.ElementToStanza(L, query)
	if err != nil {
		L.RaiseError("roster of %s: %s", user, err.Error())
	}
	L.Push(st)
	return 1
}

const nsRoster = "jabber:iq:roster"

// queryOf is roster_query's answer read from a packed roster, with no Lua
// table per contact; an item Go cannot read is left out, as the Lua answer
// would fail on it.
func queryOf(L *glua.LState, p *roster.Packed) glua.LValue {
	st, err := compat.ElementToStanza(L, queryElement(p))
	if err != nil {
		L.RaiseError("roster query: %s", err.Error())
	}
	return st
}

// queryElement is the <query xmlns='jabber:iq:roster'/> of a roster result
// read from a packed roster: items sorted by JID.
func queryElement(p *roster.Packed) *xmpp.Element {
	order := readableInOrder(p)
	query := &xmpp.Element{Name: "query", NS: nsRoster, Attr: attrs("ver", versionAttr(p)), Children: make([]xmpp.Node, 0, len(order))}
	for _, i := range order {
		it, _ := p.Item(i)
		query.Children = append(query.Children, itemElement(roster.Change{JID: p.JID(i), Item: &it}))
	}
	return query
}

// roster_answer(session, iq) → true when it has answered the client's
// roster get iq from the packed roster Go holds, handing the result to the
// session's Sender as a roster push is: no Lua stanza per contact, which
// was most of what a login allocated. False (nothing sent) when the roster
// is not held packed or the session takes only Lua stanzas: the caller
// answers in Lua then.
func (b *rosterBook) luaAnswer(L *glua.LState) int {
	session, iq := L.CheckTable(1), L.CheckTable(2)
	send, text := roster.SenderOf(session), roster.TextSenderOf(session)
	host, _ := session.RawGetString("host").(glua.LString)
	user, _ := session.RawGetString("username").(glua.LString)
	key := bookKey(string(host), string(user))
	held, _ := b.held[key].(glua.LString)
	attr, _ := iq.RawGetString("attr").(*glua.LTable)
	if (send == nil && text == nil) || held == "" || attr == nil {
		L.Push(glua.LFalse)
		return 1
	}
	p, ok := b.heldParsed(key, held)
	if !ok {
		L.Push(glua.LFalse)
		return 1
	}
	// st.reply's attributes: to and from swapped, the same id, type result.
	reply := &xmpp.Element{Name: "iq"}
	for _, a := range [...]struct{ name, from string }{{"to", "from"}, {"from", "to"}, {"id", "id"}} {
		if v, ok := attr.RawGetString(a.from).(glua.LString); ok {
			reply.Attr = append(reply.Attr, xml.Attr{Name: xml.Name{Local: a.name}, Value: string(v)})
		}
	}
	reply.Attr = append(reply.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: "result"})
	if text == nil {
		reply.Children = []xmpp.Node{queryElement(p)}
		if answer := roster.AnswerSenderOf(session); answer != nil {
			answer(L, reply, string(held))
		} else {
			send(L, reply)
		}
		L.Push(glua.LTrue)
		return 1
	}
	// Rendered item by item: no element per contact.
	order := readableInOrder(p)
	var groups []xmpp.Element
	var groupText []xmpp.Node
	query := &xmpp.Element{Name: "query", NS: nsRoster, Attr: attrs("ver", versionAttr(p))}
	x, err := component.MarshalStringOfMany([]*xmpp.Element{reply, query}, len(order), func(i int, child *xmpp.Element) {
		it, _ := p.Item(order[i])
		child.Name = "item"
		child.Attr = appendAttrs(child.Attr, "jid", p.JID(order[i]), "subscription", it.Subscription, "name", it.Name, "ask", it.Ask)
		groups, groupText = groups[:0], groupText[:0]
		for _, g := range it.Groups {
			groupText = append(groupText, xmpp.Text(g))
		}
		for j := range it.Groups {
			groups = append(groups, xmpp.Element{Name: "group", Children: groupText[j : j+1]})
		}
		for j := range groups {
			child.Children = append(child.Children, &groups[j])
		}
	})
	if err != nil {
		b.rt.log.Warn("roster result for a session not serialisable", "to", glua.LVAsString(session.RawGetString("full_jid")), "error", err)
		L.Push(glua.LFalse) // answered in Lua, which reports what it cannot send
		return 1
	}
	text(x)
	L.Push(glua.LTrue)
	return 1
}

// readableInOrder are the indexes of p's contacts that read as items,
// sorted by JID: a roster result's order.
func readableInOrder(p *roster.Packed) []int {
	order := make([]int, 0, p.Len())
	for i := range p.Len() {
		if _, ok := p.Item(i); ok {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(p.JID(a), p.JID(b)) })
	return order
}

// itemElement is <item/> for a change: the item, or its removal.
func itemElement(c roster.Change) *xmpp.Element {
	if c.Item == nil {
		return &xmpp.Element{Name: "item", Attr: attrs("jid", c.JID, "subscription", "remove")}
	}
	e := &xmpp.Element{Name: "item", Attr: attrs("jid", c.JID, "subscription", c.Item.Subscription, "name", c.Item.Name, "ask", c.Item.Ask)}
	for _, g := range c.Item.Groups {
		e.Children = append(e.Children, &xmpp.Element{Name: "group", Children: []xmpp.Node{xmpp.Text(g)}})
	}
	return e
}

func (b *rosterBook) unpackHeld(L *glua.LState, host, user string) (*glua.LTable, error) {
	packed, ok := b.held[bookKey(host, user)]
	if !ok {
		return nil, nil
	}
	v, err := storagememory.Unpack(L, packed)
	if err != nil {
		return nil, fmt.Errorf("roster of %s held in Go: %w", user, err)
	}
	t, _ := v.(*glua.LTable)
	return t, nil
}

// rosterItemElement is <item/> for the roster item v at jid (a removal when
// v is not an item), as core.rostermanager's pushes and results write it.
func rosterItemElement(jid string, v glua.LValue) *xmpp.Element {
	item, ok := v.(*glua.LTable)
	if !ok {
		return &xmpp.Element{Name: "item", Attr: attrs("jid", jid, "subscription", "remove")}
	}
	str := func(name string) string {
		s, _ := item.RawGetString(name).(glua.LString)
		return string(s)
	}
	e := &xmpp.Element{Name: "item", Attr: attrs("jid", jid, "subscription", str("subscription"), "name", str("name"), "ask", str("ask"))}
	if groups, ok := item.RawGetString("groups").(*glua.LTable); ok {
		var names []string
		for k, _ := groups.Next(glua.LNil); k != glua.LNil; k, _ = groups.Next(k) {
			if s, ok := k.(glua.LString); ok {
				names = append(names, string(s))
			}
		}
		slices.Sort(names)
		for _, g := range names {
			e.Children = append(e.Children, &xmpp.Element{Name: "group", Children: []xmpp.Node{xmpp.Text(g)}})
		}
	}
	return e
}

// attrs makes attributes of name, value pairs, leaving out empty values.
func attrs(pairs ...string) []xml.Attr {
	return appendAttrs(make([]xml.Attr, 0, len(pairs)/2), pairs...)
}

// appendAttrs is attrs appended to out.
func appendAttrs(out []xml.Attr, pairs ...string) []xml.Attr {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, xml.Attr{Name: xml.Name{Local: pairs[i]}, Value: pairs[i+1]})
		}
	}
	return out
}

// bareSession is hosts[host].sessions[user], nil if the user is offline.
func bareSession(L *glua.LState, host, user string) *glua.LTable {
	sessions := hostTable(L, host, "sessions")
	if sessions == nil {
		return nil
	}
	t, _ := sessions.RawGetString(user).(*glua.LTable)
	return t
}

// rostermanager calls core.rostermanager's function name.
func rostermanager(L *glua.LState, name string, nret int, args ...glua.LValue) ([]glua.LValue, error) {
	rm, err := lua.Call(L, L.GetGlobal("require"), 1, glua.LString("core.rostermanager"))
	if err != nil {
		return nil, err
	}
	return lua.Call(L, L.GetField(rm[0], name), nret, args...)
}

// Load implements roster.Rosters.
func (b *rosterBook) Load(L *glua.LState, host, user string) (*glua.LTable, error) {
	if bare := bareSession(L, host, user); bare != nil {
		if live, ok := bare.RawGetString("roster").(*glua.LTable); ok {
			cp := L.CreateTable(0, lua.CountKeys(live))
			for k, v := live.Next(glua.LNil); k != glua.LNil; k, v = live.Next(k) {
				cp.RawSet(k, v)
			}
			return cp, nil
		}
		if t, err := b.unpackHeld(L, host, user); t != nil || err != nil {
			return t, err
		}
	}
	rets, err := rostermanager(L, "stored_packed", 2, glua.LString(user), glua.LString(host))
	if err != nil {
		return nil, fmt.Errorf("read the stored roster of %s: %s", user, lua.ErrorMessage(err))
	}
	if rets[1] != glua.LNil {
		return nil, fmt.Errorf("read the stored roster of %s: %s", user, glua.LVAsString(rets[1]))
	}
	if rets[0] == glua.LNil {
		t := L.CreateTable(0, 1)
		meta := L.CreateTable(0, 1)
		meta.RawSetString("pending", L.CreateTable(0, 0))
		t.RawSet(glua.LFalse, meta)
		return t, nil
	}
	v, err := storagememory.Unpack(L, rets[0])
	if err != nil {
		return nil, fmt.Errorf("stored roster of %s: %w", user, err)
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("stored roster of %s is a %s, not a table", user, v.Type())
	}
	return t, nil
}

// Commit implements roster.Rosters: stored first, so that a failure
// changes nothing; then held, mirrored to the server and pushed.
func (b *rosterBook) Commit(L *glua.LState, host, user string, r *glua.LTable, jids []string) error {
	if len(jids) == 0 {
		return nil
	}
	bare := bareSession(L, host, user)
	var live *glua.LTable
	if bare != nil {
		live, _ = bare.RawGetString("roster").(*glua.LTable)
	}
	if live != nil {
		// Lua's table is the truth: the items go into it, and it is saved
		// as a plugin would save it (roster-saved mirrors it).
		previous := make([]glua.LValue, len(jids))
		for i, jid := range jids {
			previous[i] = live.RawGetString(jid)
			live.RawSetString(jid, r.RawGetString(jid))
		}
		rets, err := rostermanager(L, "save_roster", 2, glua.LString(user), glua.LString(host), live)
		if err == nil && !glua.LVAsBool(rets[0]) {
			err = errors.New(orText(rets[1], "not saved"))
		}
		if err != nil {
			for i, jid := range jids {
				live.RawSetString(jid, previous[i])
			}
			return fmt.Errorf("save the roster of %s: %s", user, lua.ErrorMessage(err))
		}
		b.push(L, bare, live, jids)
		return nil
	}
	meta, ok := r.RawGet(glua.LFalse).(*glua.LTable)
	if !ok {
		meta = L.CreateTable(0, 2)
		meta.RawSetString("pending", L.CreateTable(0, 0))
		r.RawSet(glua.LFalse, meta)
	}
	if n, ok := meta.RawGetString("version").(glua.LNumber); ok {
		meta.RawSetString("version", n+1)
	} else if meta.RawGetString("version") != glua.LTrue {
		meta.RawSetString("version", glua.LNumber(1))
	}
	packed := storagememory.Pack(L, r)
	rets, err := rostermanager(L, "store_packed", 2, glua.LString(user), glua.LString(host), packed)
	if err == nil && !glua.LVAsBool(rets[0]) {
		err = errors.New(orText(rets[1], "not stored"))
	}
	if err != nil {
		return fmt.Errorf("store the roster of %s: %s", user, lua.ErrorMessage(err))
	}
	key := bookKey(host, user)
	if _, held := b.held[key]; held && bare != nil {
		b.held[key] = packed
	}
	b.rt.links.Mirror(L, host, user, r, jids)
	if bare != nil {
		b.push(L, bare, r, jids)
	}
	return nil
}

func orText(v glua.LValue, def string) string {
	if s, ok := v.(glua.LString); ok && s != "" {
		return string(s)
	}
	return def
}

// push sends one roster push per contact at jids to each of the user's
// resources that asked for its roster (RFC 6121 §2.1.6), as
// core.rostermanager's roster_push does.
func (b *rosterBook) push(L *glua.LState, bare, r *glua.LTable, jids []string) {
	interested := interestedSessions(bare)
	if len(interested) == 0 {
		return
	}
	version := "1"
	if meta, ok := r.RawGet(glua.LFalse).(*glua.LTable); ok {
		if v := meta.RawGetString("version"); v != glua.LNil {
			version = luaText(v)
		}
	}
	for _, jid := range jids {
		iq := b.pushIQ(version, rosterItemElement(jid, r.RawGetString(jid)))
		for _, s := range interested {
			b.sendTo(L, s, iq)
		}
	}
}

// sendTo gives a session a stanza built in Go: through its Sender, else
// as a Lua stanza through session.send.
func (b *rosterBook) sendTo(L *glua.LState, session *glua.LTable, e *xmpp.Element) {
	if send := roster.SenderOf(session); send != nil {
		send(L, e)
		return
	}
	st, err := compat.ElementToStanza(L, e)
	if err == nil {
		_, err = lua.Call(L, session.RawGetString("send"), 0, st)
	}
	if err != nil {
		b.rt.log.Warn("stanza for a session not sent", "to", glua.LVAsString(session.RawGetString("full_jid")), "error", lua.ErrorMessage(err))
	}
}

// Send implements roster.Rosters, as prosody.core_post_stanza (host/boot.lua)
// routes: to a full JID with a session here, that session; else the host's
// link; else the stanza sink.
func (b *rosterBook) Send(L *glua.LState, host string, e *xmpp.Element) {
	to := ""
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == "to" {
			to = a.Value
		}
	}
	if at, slash := strings.IndexByte(to, '@'), strings.IndexByte(to, '/'); at > 0 && slash > at+1 && slash < len(to)-1 {
		if bare := bareSession(L, to[at+1:slash], to[:at]); bare != nil {
			if sessions, ok := bare.RawGetString("sessions").(*glua.LTable); ok {
				if s, ok := sessions.RawGetString(to[slash+1:]).(*glua.LTable); ok && s.RawGetString("send") != glua.LNil {
					b.sendTo(L, s, e)
					return
				}
			}
		}
	}
	if b.rt.links.SendElement(host, e) {
		return
	}
	sink := b.rt.sink()
	if sink == nil {
		return
	}
	data, err := component.MarshalString(e)
	if err == nil {
		err = sink.SendStanza(host, data)
	}
	if err != nil {
		b.rt.log.Debug("stanza not sent", "host", host, "error", err)
	}
}

// luaText is tostring(v) for the values a roster version can be.
func luaText(v glua.LValue) string {
	if v == glua.LTrue {
		return "true"
	}
	return v.String()
}

// Packed implements roster.Rosters.
func (b *rosterBook) Packed(L *glua.LState, host, user string) (*roster.Packed, bool, error) {
	bare := bareSession(L, host, user)
	var packed glua.LValue
	if bare != nil {
		if _, ok := bare.RawGetString("roster").(*glua.LTable); ok {
			return nil, false, nil // Lua's table is the truth
		}
		key := bookKey(host, user)
		held, ok := b.held[key]
		if !ok {
			return nil, false, nil // not loaded yet
		}
		if s, ok := held.(glua.LString); ok {
			if p, ok := b.heldParsed(key, s); ok {
				return p, true, nil
			}
		}
		packed = held
	} else {
		rets, err := rostermanager(L, "stored_packed", 2, glua.LString(user), glua.LString(host))
		if err != nil || rets[1] != glua.LNil || rets[0] == glua.LNil {
			return nil, false, nil // Load says what is wrong, or makes the roster
		}
		packed = rets[0]
	}
	if s, ok := packed.(glua.LString); ok {
		if p, ok := roster.ParsePacked(string(s)); ok {
			return p, true, nil
		}
	}
	// Packed by Lua, with back references: packed again without them, once.
	t, err := storagememory.Unpack(L, packed)
	if err != nil {
		return nil, false, fmt.Errorf("roster of %s: %w", user, err)
	}
	flat, ok := storagememory.PackFlat(L, t)
	if !ok {
		return nil, false, nil
	}
	p, ok := roster.ParsePacked(flat)
	return p, ok, nil
}

// CommitPacked implements roster.Rosters: as Commit, stored first.
func (b *rosterBook) CommitPacked(L *glua.LState, host, user string, p *roster.Packed, changes []roster.Change) error {
	if len(changes) == 0 {
		return nil
	}
	next := p.With(changes)
	packed := glua.LString(next.Data())
	rets, err := rostermanager(L, "store_packed", 2, glua.LString(user), glua.LString(host), packed)
	if err == nil && !glua.LVAsBool(rets[0]) {
		err = errors.New(orText(rets[1], "not stored"))
	}
	if err != nil {
		return fmt.Errorf("store the roster of %s: %s", user, lua.ErrorMessage(err))
	}
	bare := bareSession(L, host, user)
	key := bookKey(host, user)
	if _, held := b.held[key]; held && bare != nil {
		b.held[key] = packed
		b.parsed[key] = next
	}
	if b.rt.links.Linked(host) {
		changed := make([]component.RosterItem, len(changes))
		for i, c := range changes {
			changed[i] = componentItem(c)
		}
		b.rt.links.MirrorItems(host, user, p, next, changed)
	}
	if bare != nil {
		b.pushChanges(L, bare, next.Version(), changes)
	}
	return nil
}

func componentItem(c roster.Change) component.RosterItem {
	if c.Item == nil {
		return component.RosterItem{JID: c.JID, Subscription: "remove"}
	}
	return component.RosterItem{JID: c.JID, Name: c.Item.Name, Subscription: orDefault(c.Item.Subscription, "none"),
		Ask: c.Item.Ask, Groups: slices.Clone(c.Item.Groups)}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pushChanges is push for changes made in Go.
func (b *rosterBook) pushChanges(L *glua.LState, bare *glua.LTable, version string, changes []roster.Change) {
	interested := interestedSessions(bare)
	if len(interested) == 0 {
		return
	}
	for _, c := range changes {
		iq := b.pushIQ(version, itemElement(c))
		for _, s := range interested {
			b.sendTo(L, s, iq)
		}
	}
}

// pushIQ is the roster push (RFC 6121 §2.1.6) of one item.
func (b *rosterBook) pushIQ(version string, item *xmpp.Element) *xmpp.Element {
	b.pushSeq++
	return &xmpp.Element{Name: "iq", Attr: attrs("type", "set", "id", "push"+strconv.FormatUint(b.pushSeq, 36)),
		Children: []xmpp.Node{&xmpp.Element{Name: "query", NS: nsRoster, Attr: attrs("ver", version),
			Children: []xmpp.Node{item}}}}
}

// interestedSessions are the user's sessions that asked for their roster.
func interestedSessions(bare *glua.LTable) []*glua.LTable {
	sessions, ok := bare.RawGetString("sessions").(*glua.LTable)
	if !ok {
		return nil
	}
	var interested []*glua.LTable
	for k, s := sessions.Next(glua.LNil); k != glua.LNil; k, s = sessions.Next(k) {
		if t, ok := s.(*glua.LTable); ok && glua.LVAsBool(t.RawGetString("interested")) {
			interested = append(interested, t)
		}
	}
	return interested
}
