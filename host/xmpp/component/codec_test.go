package component

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modhost/modhost/host/xmpp"
)

const testHeader = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='roster.example.com'>"

// decodeAll reads every stanza of body after the test stream header.
func decodeAll(body string, maxSize int64) ([]*xmpp.Element, error) {
	d := newDecoder(strings.NewReader(testHeader+body), maxSize)
	if _, err := d.streamHeader(); err != nil {
		return nil, err
	}
	var out []*xmpp.Element
	for {
		e, err := d.next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func a(local, value string) xml.Attr { return xml.Attr{Name: xml.Name{Local: local}, Value: value} }

func TestDecodeFillsNamespacesLikeXMPPStream(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *xmpp.Element
	}{{
		name: "stanza and children in the stream namespace keep NS empty",
		in:   `<message to='a@b'><body>hi</body></message>`,
		want: &xmpp.Element{Name: "message", Attr: []xml.Attr{a("to", "a@b")}, Children: []xmpp.Node{
			&xmpp.Element{Name: "body", Children: []xmpp.Node{xmpp.Text("hi")}}}},
	}, {
		name: "a payload and everything under it carry their namespace",
		in:   `<iq type='result'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>`,
		want: &xmpp.Element{Name: "iq", Attr: []xml.Attr{a("type", "result")}, Children: []xmpp.Node{
			&xmpp.Element{Name: "query", NS: "jabber:iq:roster", Children: []xmpp.Node{
				&xmpp.Element{Name: "item", NS: "jabber:iq:roster", Attr: []xml.Attr{a("jid", "x@y")}}}}}},
	}, {
		name: "the stream namespace inside a foreign element is explicit",
		in:   `<message><x xmlns='urn:x'><body xmlns='jabber:component:accept'/></x></message>`,
		want: &xmpp.Element{Name: "message", Children: []xmpp.Node{
			&xmpp.Element{Name: "x", NS: "urn:x", Children: []xmpp.Node{
				&xmpp.Element{Name: "body", NS: NSComponent}}}}},
	}, {
		name: "prefixed elements and attributes resolve to their URIs",
		in:   `<message xmlns:p='urn:p'><p:x p:a='1' xml:lang='de'/></message>`,
		want: &xmpp.Element{Name: "message", Children: []xmpp.Node{
			&xmpp.Element{Name: "x", NS: "urn:p", Attr: []xml.Attr{
				{Name: xml.Name{Space: "urn:p", Local: "a"}, Value: "1"},
				{Name: xml.Name{Space: nsXML, Local: "lang"}, Value: "de"}}}}},
	}, {
		name: "text, references and CDATA join into one text node",
		in:   `<message><body>a &amp; b<![CDATA[ <c> ]]>&#x44;</body></message>`,
		want: &xmpp.Element{Name: "message", Children: []xmpp.Node{
			&xmpp.Element{Name: "body", Children: []xmpp.Node{xmpp.Text("a & b <c> D")}}}},
	}, {
		name: "an explicit empty namespace is kept as an xmlns attribute",
		in:   `<message><x xmlns=''/></message>`,
		want: &xmpp.Element{Name: "message", Children: []xmpp.Node{
			&xmpp.Element{Name: "x", Attr: []xml.Attr{a("xmlns", "")}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(" \n"+tt.in+"  ", 0)
			if len(got) != 1 {
				t.Fatalf("decoded %d elements (%v)", len(got), err)
			}
			if !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("decoded\n%#v\nwant\n%#v", got[0], tt.want)
			}
			// What we decode, we write back so that it decodes the same.
			b, err := Marshal(got[0])
			if err != nil {
				t.Fatal(err)
			}
			again, _ := decodeAll(string(b), 0)
			if len(again) != 1 || !reflect.DeepEqual(again[0], got[0]) {
				t.Errorf("round trip through %s changed the element", b)
			}
		})
	}
}

func TestDecodeRefusesWhatAStreamMayNotCarry(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int64
		want error
	}{
		{"stanza over the size limit", `<message><body>` + strings.Repeat("x", 2000) + `</body></message>`, 1000, errTooLarge},
		{"one huge text token", `<message><body>` + strings.Repeat("x", 100000), 1000, errTooLarge},
		{"nesting beyond the depth limit", strings.Repeat("<a>", defaultMaxDepth+1), 0, errTooDeep},
		{"a comment", `<message><!-- c --></message>`, 0, ErrRestrictedXML},
		{"a processing instruction", `<?pi x?>`, 0, ErrRestrictedXML},
		{"an unbound prefix", `<p:message/>`, 0, ErrBadNamespacePrefix},
		{"an unbound attribute prefix", `<message p:a='1'/>`, 0, ErrBadNamespacePrefix},
		{"a mismatched end tag", `<message></iq>`, 0, ErrNotWellFormed},
		{"a duplicate attribute", `<message a='1' a='2'/>`, 0, ErrNotWellFormed},
		{"text between stanzas", `hello`, 0, ErrBadFormat},
		{"the end of the stream", `<message/></stream:stream>`, 0, errStreamEnd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(tt.in, tt.max)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeSizeLimitIsPerStanza(t *testing.T) {
	// Many stanzas and keepalives, each under the limit, add up to far more.
	body := strings.Repeat("<message><body>"+strings.Repeat("y", 400)+"</body></message>  ", 50)
	got, err := decodeAll(body, 1000)
	if len(got) != 50 {
		t.Fatalf("decoded %d of 50 stanzas: %v", len(got), err)
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   *xmpp.Element
		want string
	}{{
		name: "a top-level jabber:client stanza takes the stream's namespace",
		in:   add(elem("iq", NSClient, "type", "get", "id", "1"), elem("query", NSRoster)),
		want: `<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`,
	}, {
		name: "a wrapped client stanza declares jabber:client; its children inherit it",
		in:   add(elem("forwarded", NSForward), add(elem("iq", NSClient, "type", "result"), elem("error", ""))),
		want: `<forwarded xmlns='urn:xmpp:forward:0'><iq xmlns='jabber:client' type='result'><error/></iq></forwarded>`,
	}, {
		name: "a child in its parent's namespace repeats nothing",
		in:   add(elem("query", NSRoster), elem("item", NSRoster, "jid", "a@b")),
		want: `<query xmlns='jabber:iq:roster'><item jid='a@b'/></query>`,
	}, {
		name: "attribute values and text are escaped; whitespace in attributes is kept",
		in:   add(elem("message", "", "x", "a'b\"c<&>\n\t"), xmpp.Text("1 < 2 & 3 > 2\r\n")),
		want: `<message x='a&apos;b&quot;c&lt;&amp;&gt;&#xA;&#x9;'>1 &lt; 2 &amp; 3 &gt; 2&#xD;` + "\n" + `</message>`,
	}, {
		name: "namespaced attributes get a declared prefix, xml:lang its own",
		in: &xmpp.Element{Name: "x", Attr: []xml.Attr{
			{Name: xml.Name{Space: "urn:p", Local: "a"}, Value: "1"},
			{Name: xml.Name{Space: nsXML, Local: "lang"}, Value: "en"}}},
		want: `<x xmlns:ns1='urn:p' ns1:a='1' xml:lang='en'/>`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// MarshalString renders in a reused buffer: after a larger
			// stanza and after one that failed half-way, the same text.
			big := add(elem("message", ""), xmpp.Text(strings.Repeat("x", 5000)))
			half := add(elem("message", ""), elem("ok", ""), xmpp.Text("\x00"))
			for _, before := range []*xmpp.Element{big, half} {
				_, _ = MarshalString(before)
				if s, err := MarshalString(tt.in); err != nil || s != tt.want {
					t.Errorf("MarshalString = %q, %v; want %s", s, err, tt.want)
				}
			}
		})
	}
}

func TestMarshalRefusesWhatXMLCannotCarry(t *testing.T) {
	tests := []struct {
		name string
		in   *xmpp.Element
	}{
		{"a control character in text", add(elem("message", ""), xmpp.Text("a\x00b"))},
		{"a control character in an attribute", elem("message", "", "to", "a\x1bb")},
		{"invalid UTF-8", add(elem("message", ""), xmpp.Text("\xff"))},
		{"an empty name", elem("", "")},
		{"a name with a space", elem("a b", "")},
		{"a nil child", &xmpp.Element{Name: "x", Children: []xmpp.Node{(*xmpp.Element)(nil)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := Marshal(tt.in); err == nil {
				t.Errorf("Marshal = %s, want an error", b)
			}
			if s, err := MarshalString(tt.in); err == nil {
				t.Errorf("MarshalString = %s, want an error", s)
			}
		})
	}
}

func TestHandshakeDigest(t *testing.T) {
	// Vectors computed independently (Python hashlib).
	tests := []struct{ id, secret, want string }{
		{"3BF96D32", "sound-of-silence", "9624e4ee0b864e73b52351063672401575def399"},
		{"abc", "", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"idé", "sécret", "78e9f12a7dc1f22cd44a289aaef4f17015c1c25b"},
	}
	for _, tt := range tests {
		if got := HandshakeDigest(tt.id, tt.secret); got != tt.want {
			t.Errorf("HandshakeDigest(%q, %q) = %s, want %s", tt.id, tt.secret, got, tt.want)
		}
	}
}

// A stanza rendered a child at a time is the one rendered from the whole
// tree: namespaces declared where they change, escaping, empty elements,
// the reused child element reset between children; and what Marshal
// refuses in a child is refused.
func TestMarshalStringOfManyIsMarshalOfTheTree(t *testing.T) {
	items := []*xmpp.Element{
		add(elem("item", NSRoster, "jid", "a@b", "name", "A'&<"), add(elem("group", ""), xmpp.Text("x & y"))),
		elem("item", "", "jid", "c@d", "subscription", "both"),
		add(elem("item", "", "jid", "e@f"), add(elem("group", ""), xmpp.Text("1")), add(elem("group", ""), xmpp.Text("2"))),
		add(elem("item", "urn:other"), elem("x", "")),
	}
	for n := range len(items) + 1 {
		iq := elem("iq", NSClient, "type", "result", "id", "r1", "to", "u@h/r")
		query := elem("query", NSRoster, "ver", "3")
		whole, err := MarshalString(add(add(elem("iq", NSClient, "type", "result", "id", "r1", "to", "u@h/r"),
			add(elem("query", NSRoster, "ver", "3"), nodes(items[:n])...))))
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalStringOfMany([]*xmpp.Element{iq, query}, n, func(i int, child *xmpp.Element) {
			it := items[i]
			child.Name, child.NS = it.Name, it.NS
			child.Attr = append(child.Attr, it.Attr...)
			child.Children = append(child.Children, it.Children...)
		})
		if err != nil || got != whole {
			t.Errorf("%d children: got %q, %v\nwant %q", n, got, err, whole)
		}
	}
	_, err := MarshalStringOfMany([]*xmpp.Element{elem("iq", NSClient), elem("query", NSRoster)}, 1, func(_ int, child *xmpp.Element) {
		child.Name = "item"
		child.Attr = append(child.Attr, xml.Attr{Name: xml.Name{Local: "jid"}, Value: "a\x00b"})
	})
	if err == nil {
		t.Error("a control character in a child was rendered")
	}
}

func nodes(es []*xmpp.Element) []xmpp.Node {
	out := make([]xmpp.Node, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// plainName is checkName's shortcut: a name it passes is one the full
// checks pass, for every byte a name can hold and names around them.
func TestAPlainNameIsOneCheckNamePasses(t *testing.T) {
	full := checkNameFully
	names := []string{"iq", "query", "xmlns", "x-y.z_1", "\u00e9t\u00e9", "a\x7fb", "\uFFFF", "a\xffb"}
	for c := range 256 {
		names = append(names, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	for _, name := range names {
		if plainName(name) && full(name) != nil {
			t.Errorf("%q passes as plain, but %v", name, full(name))
		}
		if (checkName(name) == nil) != (full(name) == nil) {
			t.Errorf("%q: checkName %v, the full checks %v", name, checkName(name), full(name))
		}
	}
	if !plainName("subscription") {
		t.Error("an ordinary name is not plain")
	}
}
