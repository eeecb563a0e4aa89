package host

import (
	"context"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/lua"
)

//go:embed sessions.lua
var sessionsSource string

// Session is a standalone client session: a user logged in to a host of this
// runtime without an XMPP server, for embedding programs and tests. It sees
// every stanza the host sends to its full JID.
type Session struct {
	rt                   *Runtime
	Host, User, Resource string

	mu        sync.Mutex
	received  []string      // stanzas since the last Forget
	forgotten int           // stanzas dropped by Forget; indices count them
	arrived   chan struct{} // closed and replaced on each arrival

	ref glua.LValue // the Lua session table; touched on the loop only
}

// FullJID is user@host/resource.
func (s *Session) FullJID() string { return s.User + "@" + s.Host + "/" + s.Resource }

func (rt *Runtime) sessionsAPI(L *glua.LState) (*glua.LTable, error) {
	if t, ok := L.G.Registry.RawGetString("modhost.sessions").(*glua.LTable); ok {
		return t, nil
	}
	native, err := lua.DoChunk(L, `return require "modhost.native"`, "sessions", 1)
	if err != nil {
		return nil, err
	}
	rets, err := lua.DoChunk(L, sessionsSource, "host/sessions.lua", 1, native[0])
	if err != nil {
		return nil, err
	}
	t, ok := rets[0].(*glua.LTable)
	if !ok {
		return nil, errors.New("host/sessions.lua returned no table")
	}
	L.G.Registry.RawSetString("modhost.sessions", t)
	return t, nil
}

// Login binds user@host/resource as a client would: user and resource are
// normalised (nodeprep, resourceprep) as Prosody's SASL and binding do, and
// the Session carries the normalised names; the roster is loaded
// (plugins' roster-load handlers may fetch it), then resource-bind fires.
// Login returns when all of that has finished, or when ctx ends.
func (rt *Runtime) Login(ctx context.Context, host, user, resource string) (*Session, error) {
	if rt.loop == nil {
		return nil, errors.New("runtime not started")
	}
	if user == "" || resource == "" || strings.ContainsAny(user, "@/") {
		return nil, fmt.Errorf("login: invalid user %q or resource %q", user, resource)
	}
	s := &Session{rt: rt, Host: host, User: user, Resource: resource, arrived: make(chan struct{})}
	result := make(chan error, 1)
	err := rt.loop.Do(ctx, func(L *glua.LState) error {
		api, err := rt.sessionsAPI(L)
		if err != nil {
			return err
		}
		send := L.NewFunction(func(L *glua.LState) int {
			s.deliver(L.ToStringMeta(L.Get(1)).String())
			return 0
		})
		done := L.NewFunction(func(L *glua.LState) int {
			if L.Get(1) == glua.LNil {
				result <- fmt.Errorf("login %s: %s", s.FullJID(), L.OptString(2, "failed"))
				return 0
			}
			s.ref = L.Get(1)
			if t, ok := s.ref.(*glua.LTable); ok {
				roster.SetSender(L, t, func(_ *glua.LState, e *xmpp.Element) {
					x, err := component.MarshalString(e)
					if err != nil {
						rt.log.Warn("stanza for a session not serialisable", "to", s.FullJID(), "error", err)
						return
					}
					s.deliver(x)
				})
				roster.SetTextSender(L, t, s.deliver)
			}
			// The names as normalised by the login (nodeprep, resourceprep).
			s.User = glua.LVAsString(L.GetField(s.ref, "username"))
			s.Resource = glua.LVAsString(L.GetField(s.ref, "resource"))
			result <- nil
			return 0
		})
		_, err = lua.Call(L, L.GetField(api, "login"), 0, glua.LString(host), glua.LString(user), glua.LString(resource), send, done)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", s.FullJID(), err)
	}
	select {
	case err := <-result:
		if err != nil {
			return nil, err
		}
		return s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("login %s: %w", s.FullJID(), ctx.Err())
	}
}

func (s *Session) deliver(xml string) {
	s.mu.Lock()
	s.received = append(s.received, xml)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

// Received returns every stanza delivered to this session since it was
// created or last told to Forget.
func (s *Session) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

// Forget drops the stanzas received so far. A session keeps every stanza
// it is sent until then, so a long-lived one (an embedding program's)
// should call it once it has read what it needs. Indices (Next, Count) go
// on counting from where they were.
func (s *Session) Forget() {
	s.mu.Lock()
	s.forgotten += len(s.received)
	s.received = nil
	s.mu.Unlock()
}

// Count is how many stanzas the session has been sent, forgotten or not:
// the index the next one will have.
func (s *Session) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forgotten + len(s.received)
}

// Next waits for the first stanza at or after index from that match accepts
// and returns it with its index. Forgotten stanzas are not looked at.
func (s *Session) Next(ctx context.Context, from int, match func(xml string) bool) (string, int, error) {
	for {
		s.mu.Lock()
		for i := max(from, s.forgotten); i < s.forgotten+len(s.received); i++ {
			if x := s.received[i-s.forgotten]; match == nil || match(x) {
				s.mu.Unlock()
				return x, i, nil
			}
		}
		from = s.forgotten + len(s.received)
		wait := s.arrived
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return "", -1, fmt.Errorf("%s: no matching stanza: %w", s.FullJID(), ctx.Err())
		}
	}
}

// Send hands the host a stanza from this client (XML text), processed as
// Prosody processes a client's stanza: from is set to the full JID and the
// same events fire.
func (s *Session) Send(ctx context.Context, stanzaXML string) error {
	return s.rt.loop.Do(ctx, func(L *glua.LState) error {
		if s.ref == nil {
			return errors.New("session is not logged in")
		}
		api, err := s.rt.sessionsAPI(L)
		if err != nil {
			return err
		}
		rets, err := lua.Call(L, L.GetField(api, "incoming_xml"), 2, s.ref, glua.LString(stanzaXML))
		if err != nil {
			return err
		}
		if rets[0] == glua.LNil {
			return fmt.Errorf("stanza is not XML: %s", glua.LVAsString(rets[1]))
		}
		return nil
	})
}

// RosterItem is one contact as a client sees it in a roster result or push.
type RosterItem struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr"`
	Subscription string   `xml:"subscription,attr"`
	Ask          string   `xml:"ask,attr"`
	Groups       []string `xml:"group"`
}

// RosterItems parses the items of a roster result or push.
func RosterItems(iqXML string) ([]RosterItem, error) {
	var iq struct {
		Type  string `xml:"type,attr"`
		Query struct {
			Items []RosterItem `xml:"item"`
		} `xml:"jabber:iq:roster query"`
	}
	if err := xml.Unmarshal([]byte(iqXML), &iq); err != nil {
		return nil, fmt.Errorf("parse roster IQ: %w", err)
	}
	return iq.Query.Items, nil
}

var rosterQueryID = struct {
	sync.Mutex
	n int
}{}

// Roster asks for the roster as a client does (which also marks the session
// as interested in roster pushes) and returns its items.
func (s *Session) Roster(ctx context.Context) ([]RosterItem, error) {
	rosterQueryID.Lock()
	rosterQueryID.n++
	id := fmt.Sprintf("roster-%d", rosterQueryID.n)
	rosterQueryID.Unlock()
	start := s.Count()
	if err := s.Send(ctx, `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"/></iq>`); err != nil {
		return nil, err
	}
	reply, _, err := s.Next(ctx, start, func(x string) bool { return strings.Contains(x, `id='`+id+`'`) || strings.Contains(x, `id="`+id+`"`) })
	if err != nil {
		return nil, err
	}
	if strings.Contains(reply, `type='error'`) || strings.Contains(reply, `type="error"`) {
		return nil, fmt.Errorf("roster query refused: %s", reply)
	}
	return RosterItems(reply)
}

// Presence sends initial (available) presence.
func (s *Session) Presence(ctx context.Context) error {
	return s.Send(ctx, `<presence/>`)
}

// Logout unbinds the resource: unavailable presence if it had sent any,
// resource-unbind, and the session is gone.
func (s *Session) Logout(ctx context.Context) error {
	result := make(chan struct{}, 1)
	err := s.rt.loop.Do(ctx, func(L *glua.LState) error {
		if s.ref == nil {
			return errors.New("session is not logged in")
		}
		api, err := s.rt.sessionsAPI(L)
		if err != nil {
			return err
		}
		done := L.NewFunction(func(L *glua.LState) int { result <- struct{}{}; return 0 })
		_, err = lua.Call(L, L.GetField(api, "logout"), 0, s.ref, glua.LNil, done)
		return err
	})
	if err != nil {
		return err
	}
	select {
	case <-result:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
