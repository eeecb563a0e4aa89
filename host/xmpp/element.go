package xmpp

import "encoding/xml"

// XMLNamespace is the namespace the reserved prefix "xml" is bound to (Namespaces
// in XML 1.0 §3); encoding/xml reports xml:lang with it as Name.Space.
const XMLNamespace = "http://www.w3.org/XML/1998/namespace"

// Element is an XML element in the shape of a util.stanza table, for Go code
// (the XMPP link) that reads or writes stanzas with encoding/xml.
//
// The mapping to a stanza table is exact in both directions:
//
//   - Name is stanza.name, the local name without prefix.
//   - NS is stanza.attr.xmlns: "" means the stanza has no xmlns attribute and
//     so shares its parent's namespace, as in st.message():tag("body"). An
//     explicit xmlns="" is kept as an ordinary Attr named "xmlns". (Prosody's
//     stream parser, util.xmppstream, leaves xmlns unset on an element in the
//     stream's default namespace, e.g. jabber:component:accept, unless an
//     ancestor is in another namespace; it sets it everywhere else. A link
//     reading the stream should fill NS the same way.)
//   - Attr holds the other attributes in the stanza's attribute order (the
//     order pairs() gives; a stanza made from an Element has xmlns first). Name
//     is {"", local} for a plain attribute, {XMLNamespace, local} for "xml:local"
//     (as encoding/xml reports xml:lang), {"xmlns", p} for a literal
//     "xmlns:p" key, and {uri, local} for Prosody's "uri\1local" key.
//   - Prefixes is stanza.namespaces (prefix → namespace URI of the prefixed
//     declarations in scope where the element was parsed); nil when the
//     stanza has none.
//   - Children are the stanza's array part in order: *Element for a child
//     element, Text for character data (unescaped).
type Element struct {
	Name     string
	NS       string
	Attr     []xml.Attr
	Prefixes map[string]string
	Children []Node
}

// Node is a child of an Element: *Element or Text.
type Node interface{ isNode() }

// Text is character data, unescaped.
type Text string

func (*Element) isNode() {}
func (Text) isNode()     {}
