// Package roster is how the Go half of a plugin reaches the rosters the
// runtime holds (host/rosters.go), without importing the runtime: the
// runtime installs its Rosters in each Lua state it runs, and a plugin's Go
// code finds it there.
//
// A roster here is Prosody's (core.rostermanager): a table of items by
// contact JID ({ subscription, name, ask, groups = { [group] = true } }) and
// roster[false] for its metadata (version, pending).
package roster

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp"
)

// Rosters is what the runtime offers plugins' Go halves. Both methods run
// on the loop, with the loop's state.
type Rosters interface {
	// Load returns user@host's roster as a table of its own: the one Go
	// holds for an online user, unpacked; a shallow copy of the Lua table
	// that is the truth once Lua has read it; or the stored one. Changes
	// to it are seen by nobody until Commit.
	Load(L *glua.LState, host, user string) (*glua.LTable, error)
	// Commit makes roster (from Load, with the items at jids replaced or
	// removed) user@host's roster in one step: stored, held, pushed to the
	// user's resources that asked for their roster and written to the XMPP
	// server by the link. Nothing is changed if it fails.
	Commit(L *glua.LState, host, user string, roster *glua.LTable, jids []string) error
	// Packed returns user@host's roster in the form Go changes without
	// unpacking it, when it has that form or can be given it: held by Go
	// for an online user, or stored for an offline one. False when the
	// roster is a Lua table already, is not loaded yet, or is not plain
	// (Load and Commit serve then).
	Packed(L *glua.LState, host, user string) (*Packed, bool, error)
	// CommitPacked is Commit for a roster from Packed: p with changes
	// made becomes the user's roster, in one step.
	CommitPacked(L *glua.LState, host, user string, p *Packed, changes []Change) error
	// Send routes a stanza from host as module:send does (to a session of
	// this runtime, else through the host's link or stanza sink), without
	// making it a Lua stanza where the recipient takes elements.
	Send(L *glua.LState, host string, e *xmpp.Element)
}

// Sender delivers a stanza built in Go to one client session, as its
// session.send would deliver the same stanza built in Lua.
type Sender func(L *glua.LState, e *xmpp.Element)

// senderKey is the session table's field holding its senders: on the
// table, so that they go when the session does.
const senderKey = "modhost_send_element"

// TextSender delivers a stanza already rendered as XML text to one client
// session (the embedding API's standalone sessions take text): Go code
// that renders a large stanza itself (component.MarshalStringOfMany) hands
// it over with no element tree.
type TextSender func(xml string)

type senders struct {
	element Sender
	text    TextSender
	answer  AnswerSender
}

// AnswerSender delivers a roster result built in Go from a packed roster
// (its data: Packed.Data) to one client session, in place of its Sender:
// a receiver that compares what a client is told with a roster it keeps
// (the link's server roster) can see they are the same without reading
// the stanza back.
type AnswerSender func(L *glua.LState, e *xmpp.Element, packed string)

// SetAnswerSender gives a session table its AnswerSender, beside its
// Sender.
func SetAnswerSender(L *glua.LState, session *glua.LTable, send AnswerSender) {
	setSenders(L, session, func(s *senders) { s.answer = send })
}

// AnswerSenderOf is the AnswerSender of a session table, nil if it has none.
func AnswerSenderOf(session *glua.LTable) AnswerSender {
	if s := sendersOf(session); s != nil {
		return s.answer
	}
	return nil
}

func sendersOf(session *glua.LTable) *senders {
	if ud, ok := session.RawGetString(senderKey).(*glua.LUserData); ok {
		s, _ := ud.Value.(*senders)
		return s
	}
	return nil
}

func setSenders(L *glua.LState, session *glua.LTable, set func(*senders)) {
	s := sendersOf(session)
	if s == nil {
		s = &senders{}
		ud := L.NewUserData()
		ud.Value = s
		session.RawSetString(senderKey, ud)
	}
	set(s)
}

// SetSender gives a session table (host/sessions.lua's) its Sender.
func SetSender(L *glua.LState, session *glua.LTable, send Sender) {
	setSenders(L, session, func(s *senders) { s.element = send })
}

// SetTextSender gives a session table its TextSender, beside its Sender.
func SetTextSender(L *glua.LState, session *glua.LTable, send TextSender) {
	setSenders(L, session, func(s *senders) { s.text = send })
}

// SenderOf is the Sender of a session table, nil if it has none (its
// session.send takes Lua stanzas only).
func SenderOf(session *glua.LTable) Sender {
	if s := sendersOf(session); s != nil {
		return s.element
	}
	return nil
}

// TextSenderOf is the TextSender of a session table, nil if it has none.
func TextSenderOf(session *glua.LTable) TextSender {
	if s := sendersOf(session); s != nil {
		return s.text
	}
	return nil
}

const registryKey = "modhost.rosters"

// Install makes r the Rosters of L.
func Install(L *glua.LState, r Rosters) {
	ud := L.NewUserData()
	ud.Value = r
	L.SetField(L.Get(glua.RegistryIndex), registryKey, ud)
}

// Of returns the Rosters installed in L, or nil (a state no runtime made).
func Of(L *glua.LState) Rosters {
	if ud, ok := L.GetField(L.Get(glua.RegistryIndex), registryKey).(*glua.LUserData); ok {
		r, _ := ud.Value.(Rosters)
		return r
	}
	return nil
}
