package component

import (
	"errors"
	"fmt"

	"github.com/modhost/modhost/host/xmpp"
)

// XEP-0356 (Privileged Entity) namespaces: :2 is what Prosody's
// mod_privilege speaks, :1 what older servers (ejabberd) speak.
const (
	NSPrivilege2 = "urn:xmpp:privilege:2"
	NSPrivilege1 = "urn:xmpp:privilege:1"
	NSForward    = "urn:xmpp:forward:0"
	NSRoster     = "jabber:iq:roster"
)

// Access values of a permission (XEP-0356 §3). The zero value "" means the
// server did not mention the permission, which is the same as none.
const (
	AccessNone          = "none"
	AccessGet           = "get"
	AccessSet           = "set"
	AccessBoth          = "both"
	AccessManagedEntity = "managed_entity" // presence: every local user's presence
	AccessRoster        = "roster"         // presence: also contacts of local users
	AccessOutgoing      = "outgoing"       // message: send on users' behalf
)

// Privileges is a server's XEP-0356 §4.2 advertisement: what this component
// may do on the server's users.
type Privileges struct {
	NS       string            // the namespace it came in (urn:xmpp:privilege:2 or :1)
	Server   string            // the domain that granted them (the message's from)
	Roster   string            // none, get, set, both
	Presence string            // none, managed_entity, roster
	Message  string            // none, outgoing
	IQ       map[string]string // namespace → get, set, both (privilege:2 only)
}

// CanGetRoster says whether the component may read users' rosters.
func (p Privileges) CanGetRoster() bool { return p.Roster == AccessGet || p.Roster == AccessBoth }

// CanSetRoster says whether the component may write users' rosters.
func (p Privileges) CanSetRoster() bool { return p.Roster == AccessSet || p.Roster == AccessBoth }

// SeesPresence says whether the server forwards users' presence.
func (p Privileges) SeesPresence() bool {
	return p.Presence == AccessManagedEntity || p.Presence == AccessRoster
}

// CanSendIQ says whether the component may send privileged IQs of type typ
// (get or set) with a payload in namespace ns: for jabber:iq:roster "set",
// roster pushes to clients from their own bare JID.
func (p Privileges) CanSendIQ(ns, typ string) bool {
	a := p.IQ[ns]
	return a == AccessBoth || a == typ
}

// ParsePrivileges reads a privilege advertisement message; ok is false when e
// is not one.
func ParsePrivileges(e *xmpp.Element) (p Privileges, ok bool) {
	if e == nil || e.Name != "message" {
		return p, false
	}
	var priv *xmpp.Element
	for _, ns := range []string{NSPrivilege2, NSPrivilege1} {
		if priv = child(e, "privilege", ns); priv != nil {
			p.NS = ns
			break
		}
	}
	if priv == nil {
		return p, false
	}
	p.Server = attr(e, "from")
	for _, perm := range children(priv) {
		if perm.Name != "perm" {
			continue
		}
		typ := attr(perm, "type")
		switch attr(perm, "access") {
		case "roster":
			p.Roster = typ
		case "presence":
			p.Presence = typ
		case "message":
			p.Message = typ
		case "iq":
			p.IQ = map[string]string{}
			collectIQPerms(perm, p.IQ)
		}
	}
	return p, true
}

// collectIQPerms gathers <namespace ns= type=/> elements at any depth:
// mod_privilege (prosody-modules 2023) nests each namespace element inside
// the previous one instead of listing them side by side.
func collectIQPerms(e *xmpp.Element, into map[string]string) {
	for _, c := range children(e) {
		if c.Name == "namespace" {
			if ns, typ := attr(c, "ns"), attr(c, "type"); ns != "" && typ != "" {
				into[ns] = typ
			}
		}
		collectIQPerms(c, into)
	}
}

// RosterItem is one roster entry (RFC 6121 §2.1.2). Subscription "remove"
// deletes the item in a roster set.
type RosterItem struct {
	JID          string
	Name         string
	Subscription string
	Ask          string
	Groups       []string
}

func (it RosterItem) element() *xmpp.Element {
	item := elem("item", "", "jid", it.JID, "name", it.Name, "subscription", it.Subscription, "ask", it.Ask)
	for _, g := range it.Groups {
		add(item, add(elem("group", ""), xmpp.Text(g)))
	}
	return item
}

// RosterGet builds the privileged roster get (XEP-0356 §5.1) of user's
// roster. It goes from the component's bare JID: from a full JID the server
// would delegate it back to the component.
func RosterGet(component, user string) *xmpp.Element {
	return add(elem("iq", "", "type", "get", "from", component, "to", BareJID(user)),
		elem("query", NSRoster))
}

// RosterSet builds the privileged roster set (XEP-0356 §5.2) of one item in
// user's roster. One item per IQ: mod_privilege answers an N-item set with N
// results of the same id.
func RosterSet(component, user string, item RosterItem) *xmpp.Element {
	return add(elem("iq", "", "type", "set", "from", component, "to", BareJID(user)),
		add(elem("query", NSRoster), item.element()))
}

// ParseRoster reads the items of a roster result or push.
func ParseRoster(iq *xmpp.Element) []RosterItem {
	q := child(iq, "query", NSRoster)
	if q == nil {
		return nil
	}
	var items []RosterItem
	for _, it := range children(q) {
		if it.Name != "item" {
			continue
		}
		item := RosterItem{JID: attr(it, "jid"), Name: attr(it, "name"),
			Subscription: attr(it, "subscription"), Ask: attr(it, "ask")}
		for _, g := range children(it) {
			if g.Name == "group" {
				item.Groups = append(item.Groups, textOf(g))
			}
		}
		items = append(items, item)
	}
	return items
}

// PrivilegedIQ wraps inner, an IQ as from user's bare JID, for the iq
// permission (XEP-0356 §6, privilege:2 only):
//
//	<iq type=T from=component to=user><privileged_iq xmlns='urn:xmpp:privilege:2'>
//	  <iq xmlns='jabber:client' type=T from=user to=... id=...>payload</iq>
//	</privileged_iq></iq>
//
// mod_privilege demands exactly one payload element with an xmlns, an id on
// the inner IQ, the same type inside and out, and the inner from (if any)
// equal to the outer to; the builder checks all of that here, so a mistake
// is an error now rather than a forbidden reply later. inner is not changed.
func PrivilegedIQ(component, user string, inner *xmpp.Element) (*xmpp.Element, error) {
	user = BareJID(user)
	if inner == nil || inner.Name != "iq" {
		return nil, errors.New("privileged iq: inner stanza is not an iq")
	}
	typ := attr(inner, "type")
	if typ != "get" && typ != "set" {
		return nil, fmt.Errorf("privileged iq: inner iq type %q, want get or set", typ)
	}
	if !isBareUserJID(user) {
		return nil, fmt.Errorf("privileged iq: %q is not a user's bare JID", user)
	}
	if f := attr(inner, "from"); f != "" && f != user {
		return nil, fmt.Errorf("privileged iq: inner from %q is not the wrapper's to %q", f, user)
	}
	if attr(inner, "id") == "" {
		return nil, errors.New("privileged iq: inner iq has no id")
	}
	els := children(inner)
	if len(els) != 1 || len(inner.Children) != 1 {
		return nil, fmt.Errorf("privileged iq: inner iq needs exactly one payload element, has %d children", len(inner.Children))
	}
	if els[0].NS == "" {
		return nil, fmt.Errorf("privileged iq: payload <%s> has no xmlns", els[0].Name)
	}
	in := shallowCopy(inner)
	in.NS = NSClient
	setAttr(in, "from", user)
	return add(elem("iq", "", "type", typ, "from", component, "to", user),
		add(elem("privileged_iq", NSPrivilege2), in)), nil
}

// RosterPush builds the privileged IQ that pushes item to one of user's
// resources (RFC 6121 §2.1.6) from the user's own bare JID, as the client
// expects. id is the inner push's id.
func RosterPush(component, fullJID, id string, item RosterItem) (*xmpp.Element, error) {
	push := add(elem("iq", NSClient, "type", "set", "to", fullJID, "id", id),
		add(elem("query", NSRoster), item.element()))
	return PrivilegedIQ(component, BareJID(fullJID), push)
}

// UnwrapPrivilegedResult returns the client's answer forwarded inside the
// server's result to a privileged IQ (<privilege><forwarded><iq/>), or nil;
// like DelegatedIQ.IQ, with the jabber:client namespace left implicit.
func UnwrapPrivilegedResult(reply *xmpp.Element) *xmpp.Element {
	for _, name := range []string{"privilege", "privileged_iq"} {
		for _, ns := range []string{NSPrivilege2, NSPrivilege1} {
			if w := child(reply, name, ns); w != nil {
				if fwd := child(w, "forwarded", NSForward); fwd != nil {
					if iq := child(fwd, "iq", ""); iq != nil {
						return clientForm(iq)
					}
				}
			}
		}
	}
	return nil
}

// PrivilegedMessage wraps msg, a message from a local user's bare JID, for the
// message permission (XEP-0356 §4.3): the server then sends it as that user.
// ns is the privilege namespace the server advertised.
func PrivilegedMessage(ns, component string, msg *xmpp.Element) (*xmpp.Element, error) {
	if msg == nil || msg.Name != "message" {
		return nil, errors.New("privileged message: not a message")
	}
	from := attr(msg, "from")
	if !isBareUserJID(from) {
		return nil, fmt.Errorf("privileged message: from %q is not a user's bare JID", from)
	}
	if ns == "" {
		ns = NSPrivilege2
	}
	in := shallowCopy(msg)
	in.NS = NSClient
	return add(elem("message", "", "from", component, "to", DomainOf(from)),
		add(elem("privilege", ns), add(elem("forwarded", NSForward), in))), nil
}
