package component

import (
	"encoding/xml"
	"strings"

	"github.com/modhost/modhost/host/xmpp"
)

// Small helpers over xmpp.Element, which is a plain data type.

// attr is the value of the plain attribute name, "" when absent.
func attr(e *xmpp.Element, name string) string {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// setAttr sets (or, with an empty value, removes) a plain attribute, keeping
// the others in order.
func setAttr(e *xmpp.Element, name, value string) {
	for i, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			if value == "" {
				e.Attr = append(e.Attr[:i:i], e.Attr[i+1:]...)
			} else {
				e.Attr[i].Value = value
			}
			return
		}
	}
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
	}
}

// elem builds an element with attributes given as name, value pairs; empty
// values are left out.
func elem(name, ns string, attrs ...string) *xmpp.Element {
	e := &xmpp.Element{Name: name, NS: ns}
	n := 0
	for i := 1; i < len(attrs); i += 2 {
		if attrs[i] != "" {
			n++
		}
	}
	if n > 0 {
		// Room for an id too (SendIQ adds one): grown one by one, the
		// attributes of every roster write cost three slices.
		e.Attr = make([]xml.Attr, 0, n+1)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
		}
	}
	return e
}

// add appends children and returns e, for building trees in one expression.
func add(e *xmpp.Element, children ...xmpp.Node) *xmpp.Element {
	e.Children = append(e.Children, children...)
	return e
}

// children are e's child elements in order.
func children(e *xmpp.Element) []*xmpp.Element {
	var out []*xmpp.Element
	for _, c := range e.Children {
		if c, ok := c.(*xmpp.Element); ok {
			out = append(out, c)
		}
	}
	return out
}

// child is the first child element called name in namespace ns ("" for any
// namespace), nil when there is none.
func child(e *xmpp.Element, name, ns string) *xmpp.Element {
	for _, c := range e.Children {
		if c, ok := c.(*xmpp.Element); ok && c.Name == name && (ns == "" || c.NS == ns) {
			return c
		}
	}
	return nil
}

// textOf is the concatenated character data directly inside e.
func textOf(e *xmpp.Element) string {
	var b strings.Builder
	for _, c := range e.Children {
		if t, ok := c.(xmpp.Text); ok {
			b.WriteString(string(t))
		}
	}
	return b.String()
}

// shallowCopy copies e's own fields (the attribute slice too) so attributes
// can be changed without touching the caller's element.
func shallowCopy(e *xmpp.Element) *xmpp.Element {
	c := *e
	c.Attr = append([]xml.Attr(nil), e.Attr...)
	c.Children = append([]xmpp.Node(nil), e.Children...)
	return &c
}

// BareJID strips the resource of a JID (RFC 7622 §3.1); no preparation is
// applied, the server compares the forms it was sent.
func BareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// DomainOf is a JID's domainpart.
func DomainOf(j string) string {
	j = BareJID(j)
	if i := strings.IndexByte(j, '@'); i >= 0 {
		return j[i+1:]
	}
	return j
}

// isBareUserJID says whether j is node@domain without resource.
func isBareUserJID(j string) bool {
	at := strings.IndexByte(j, '@')
	return at > 0 && at < len(j)-1 && !strings.ContainsRune(j, '/')
}
