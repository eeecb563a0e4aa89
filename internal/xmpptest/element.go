package xmpptest

import (
	"encoding/xml"
	"strings"
)

// Element is one parsed XML element: a stanza or a child of one.
type Element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []Element  `xml:",any"`
	Text     string     `xml:",chardata"`
}

// Name is the element's local name (iq, presence, message, item, ...).
func (e Element) Name() string { return e.XMLName.Local }

// NS is the element's namespace.
func (e Element) NS() string { return e.XMLName.Space }

// Attr is the value of the attribute with this local name, "" when absent.
func (e Element) Attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Child is the first child with this local name (and namespace, unless ns is
// ""), and whether there was one.
func (e Element) Child(name, ns string) (Element, bool) {
	for _, c := range e.Children {
		if c.XMLName.Local == name && (ns == "" || c.XMLName.Space == ns) {
			return c, true
		}
	}
	return Element{}, false
}

// String renders the element back to XML, for test failure messages.
func (e Element) String() string {
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	if err := enc.Encode(e); err != nil {
		return "<unprintable " + e.Name() + ": " + err.Error() + ">"
	}
	return b.String()
}

// Is says whether e is a stanza of this kind and type ("" matches any type;
// an absent type attribute matches "normal" for messages and "available" for
// presences only when asked for exactly "").
func (e Element) Is(name, typ string) bool {
	return e.Name() == name && (typ == "" || e.Attr("type") == typ)
}
