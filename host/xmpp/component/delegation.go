package component

import (
	"errors"
	"fmt"
	"strings"

	"github.com/modhost/modhost/host/xmpp"
)

// XEP-0355 (Namespace Delegation) namespaces: :2 is Prosody's
// mod_delegation, :1 older servers'.
const (
	NSDelegation2 = "urn:xmpp:delegation:2"
	NSDelegation1 = "urn:xmpp:delegation:1"
	nsDiscoInfo   = "http://jabber.org/protocol/disco#info"
)

// ParseDelegations reads a delegation advertisement message (XEP-0355 §4.2)
// and returns the delegated namespaces; ok is false when e is not one.
func ParseDelegations(e *xmpp.Element) (namespaces []string, ok bool) {
	if e == nil || e.Name != "message" {
		return nil, false
	}
	d := child(e, "delegation", NSDelegation2)
	if d == nil {
		d = child(e, "delegation", NSDelegation1)
	}
	if d == nil {
		return nil, false
	}
	for _, c := range children(d) {
		if c.Name == "delegated" && attr(c, "namespace") != "" {
			namespaces = append(namespaces, attr(c, "namespace"))
		}
	}
	return namespaces, true
}

// DelegatedIQ is a client's IQ the server forwarded because its namespace is
// delegated to this component (XEP-0355 §5):
//
//	<iq type='set' from='example.com' id=X><delegation xmlns='urn:xmpp:delegation:2'>
//	  <forwarded xmlns='urn:xmpp:forward:0'><iq xmlns='jabber:client' .../></forwarded>
//	</delegation></iq>
type DelegatedIQ struct {
	NS    string        // the delegation namespace used
	Outer *xmpp.Element // the server's wrapper
	// IQ is the client's IQ, from its full JID, as Prosody would hand it to
	// a plugin from the client's own stream: the jabber:client namespace
	// left implicit (NS "" on it and on its children in that namespace).
	IQ *xmpp.Element
}

// UnwrapDelegated recognises a delegated IQ; ok is false for anything else.
func UnwrapDelegated(e *xmpp.Element) (d *DelegatedIQ, ok bool) {
	if e == nil || e.Name != "iq" || attr(e, "type") != "set" {
		return nil, false
	}
	for _, ns := range []string{NSDelegation2, NSDelegation1} {
		w := child(e, "delegation", ns)
		if w == nil {
			continue
		}
		fwd := child(w, "forwarded", NSForward)
		if fwd == nil {
			return nil, false
		}
		inner := child(fwd, "iq", "")
		if inner == nil {
			return nil, false
		}
		return &DelegatedIQ{NS: ns, Outer: e, IQ: clientForm(inner)}, true
	}
	return nil, false
}

// clientForm copies e with the jabber:client namespace made implicit, as on
// a client's own stream (where it is the default): on e and on every
// descendant reached through elements in that namespace. Other namespaces,
// and everything below them, are left as they are.
func clientForm(e *xmpp.Element) *xmpp.Element {
	if e.NS != NSClient {
		return e
	}
	c := shallowCopy(e)
	c.NS = ""
	for i, n := range c.Children {
		if el, ok := n.(*xmpp.Element); ok {
			c.Children[i] = clientForm(el)
		}
	}
	return c
}

// ForSelf says whether the client asked about its own account. The server
// delegates IQs addressed to other users' bare JIDs too; answering those
// from the asker's data, or the addressee's, would leak or corrupt rosters.
func (d *DelegatedIQ) ForSelf() bool {
	to := attr(d.IQ, "to")
	return to == "" || BareJID(to) == BareJID(attr(d.IQ, "from"))
}

// Reply wraps answer, the reply to the client's IQ, as the result of the
// server's delegation IQ. The server (mod_delegation) silently drops the
// answer, leaving the client waiting for ever, unless: the answer is a
// result or error with the client's id, addressed to the client's full JID,
// with at most one child (result) or two (error), and every wrapper has
// exactly one child. Reply fills an empty to and id from the request and
// refuses the rest with an error. answer is not changed.
func (d *DelegatedIQ) Reply(answer *xmpp.Element) (*xmpp.Element, error) {
	if answer == nil || answer.Name != "iq" {
		return nil, errors.New("delegated reply: not an iq")
	}
	a := shallowCopy(answer)
	a.NS = NSClient
	if attr(a, "id") == "" {
		setAttr(a, "id", attr(d.IQ, "id"))
	}
	if attr(a, "to") == "" {
		setAttr(a, "to", attr(d.IQ, "from"))
	}
	switch {
	case attr(a, "id") != attr(d.IQ, "id"):
		return nil, fmt.Errorf("delegated reply: id %q does not answer %q", attr(a, "id"), attr(d.IQ, "id"))
	case attr(a, "to") != attr(d.IQ, "from"):
		return nil, fmt.Errorf("delegated reply: to %q is not the asker %q", attr(a, "to"), attr(d.IQ, "from"))
	}
	switch t := attr(a, "type"); {
	case t == "result" && len(a.Children) > 1:
		return nil, fmt.Errorf("delegated reply: result with %d children, at most one allowed", len(a.Children))
	case t == "error" && len(a.Children) > 2:
		return nil, fmt.Errorf("delegated reply: error with %d children, at most two allowed", len(a.Children))
	case t != "result" && t != "error":
		return nil, fmt.Errorf("delegated reply: type %q, want result or error", t)
	}
	return add(elem("iq", "", "type", "result", "from", attr(d.Outer, "to"), "to", attr(d.Outer, "from"), "id", attr(d.Outer, "id")),
		add(elem("delegation", d.NS), add(elem("forwarded", NSForward), a))), nil
}

// ErrorReply builds the error answer to iq (RFC 6120 §8.3), e.g. to refuse a
// delegated IQ: ErrorReply(d.IQ, "cancel", "forbidden", "").
func ErrorReply(iq *xmpp.Element, typ, condition, text string) *xmpp.Element {
	errEl := add(elem("error", "", "type", typ), elem(condition, nsStanzaErr))
	if text != "" {
		add(errEl, add(elem("text", nsStanzaErr), xmpp.Text(text)))
	}
	return add(elem("iq", "", "type", "error", "id", attr(iq, "id"), "from", attr(iq, "to"), "to", attr(iq, "from")), errEl)
}

// Result builds an empty result answer to iq; add the payload as its one
// child if there is one.
func Result(iq *xmpp.Element) *xmpp.Element {
	return elem("iq", "", "type", "result", "id", attr(iq, "id"), "from", attr(iq, "to"), "to", attr(iq, "from"))
}

// delegationDisco answers the disco#info queries the server sends right after
// connecting, one per delegated namespace and node kind (XEP-0355 §7.2:
// nodes "urn:xmpp:delegation:2::NS" and "urn:xmpp:delegation:2:bare:NS").
// The answer holds features only: the server merges it into its own and
// every account's disco, and an identity there would misdescribe them.
func (c *Conn) delegationDisco(e *xmpp.Element) *xmpp.Element {
	if e.Name != "iq" || attr(e, "type") != "get" {
		return nil
	}
	q := child(e, "query", nsDiscoInfo)
	if q == nil {
		return nil
	}
	node := attr(q, "node")
	for _, ns := range []string{NSDelegation2, NSDelegation1} {
		var bare bool
		var delegated string
		if rest, ok := strings.CutPrefix(node, ns+"::"); ok {
			delegated = rest
		} else if rest, ok := strings.CutPrefix(node, ns+":bare:"); ok {
			delegated, bare = rest, true
		} else {
			continue
		}
		answer := elem("query", nsDiscoInfo, "node", node)
		for _, f := range c.cfg.DelegationFeatures(delegated, bare) {
			add(answer, elem("feature", "", "var", f))
		}
		return add(Result(e), answer)
	}
	return nil
}
