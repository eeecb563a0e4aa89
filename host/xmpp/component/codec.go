package component

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/modhost/modhost/host/xmpp"
)

// Namespaces of the component stream (XEP-0114 §3, RFC 6120 §4).
const (
	NSComponent = "jabber:component:accept"
	NSClient    = "jabber:client"
	nsStream    = "http://etherx.jabber.org/streams"
	nsStreamErr = "urn:ietf:params:xml:ns:xmpp-streams"
	nsStanzaErr = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
)

// Decoder limits unless Config says otherwise.
const (
	DefaultMaxStanzaSize = 1 << 20
	// defaultMaxDepth bounds nesting so that nothing downstream (the Lua
	// converters, the encoder) recurses without bound on hostile input.
	defaultMaxDepth = 128
	// readSlack covers encoding/xml's internal read-ahead (a 4 KiB bufio)
	// beyond the byte the decoder reports as its offset.
	readSlack = 8 << 10
)

// errTooLarge and errTooDeep are what the decoder reports when a stanza breaks
// a limit; the stream answers them with a policy-violation stream error.
var (
	errTooLarge = errors.New("stanza too large")
	errTooDeep  = errors.New("stanza nested too deeply")
)

// decoder reads an XMPP stream's top-level elements into xmpp.Elements. It
// resolves namespaces itself over RawToken: encoding/xml's Token lets unbound
// prefixes through and keeps xmlns declarations as attributes, and the
// Element type needs util.xmppstream's rule for NS (see fill below).
type decoder struct {
	budget   *budgetReader
	dec      *xml.Decoder
	defNS    string // the stream's default namespace, left implicit in NS
	prefixes map[string]string
	maxSize  int64
	maxDepth int
}

// budgetReader refuses to read past limit, so a single huge token cannot make
// encoding/xml buffer more than the stanza size limit allows.
type budgetReader struct {
	r     io.Reader
	read  int64
	limit int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	room := b.limit - b.read
	if room <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

func newDecoder(r io.Reader, maxSize int64) *decoder {
	if maxSize <= 0 {
		maxSize = DefaultMaxStanzaSize
	}
	b := &budgetReader{r: r, limit: maxSize + readSlack}
	d := xml.NewDecoder(b)
	d.Strict = true
	return &decoder{budget: b, dec: d, maxSize: maxSize, maxDepth: defaultMaxDepth, prefixes: map[string]string{}}
}

// rearm lets the next stanza use the whole size limit again.
func (d *decoder) rearm() {
	d.budget.limit = d.dec.InputOffset() + d.maxSize + readSlack
}

// streamHeader reads up to the peer's <stream:stream> start tag and returns
// its attributes (namespace declarations removed). The declarations become
// the scope every stanza is resolved in.
func (d *decoder) streamHeader() (map[string]string, error) {
	for {
		tok, err := d.dec.RawToken()
		if err != nil {
			return nil, d.wrap(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst, xml.Comment:
			continue
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("text before the stream header: %w", ErrBadFormat)
			}
		case xml.StartElement:
			attrs := map[string]string{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					d.defNS = a.Value
				case a.Name.Space == "xmlns":
					d.prefixes[a.Name.Local] = a.Value
				default:
					attrs[a.Name.Local] = a.Value
				}
			}
			ns := d.defNS
			if t.Name.Space != "" {
				ns = d.prefixes[t.Name.Space]
			}
			if t.Name.Local != "stream" || ns != nsStream {
				return nil, fmt.Errorf("expected a stream header, got <%s> in %q: %w", t.Name.Local, ns, ErrInvalidNamespace)
			}
			d.rearm()
			return attrs, nil
		default:
			return nil, fmt.Errorf("unexpected %T before the stream header: %w", tok, ErrRestrictedXML)
		}
	}
}

// scope is one open element while a stanza is being read.
type scope struct {
	el      *xmpp.Element
	raw     xml.Name
	ns      xmpp.NSBindings
	foreign bool // this element or an ancestor is outside the stream's namespace
}

// errStreamEnd is returned by next when the peer closed its stream.
var errStreamEnd = errors.New("stream closed by peer")

// next reads the next top-level element. Whitespace between stanzas
// (keepalives) is skipped. The end of the peer's stream is errStreamEnd.
func (d *decoder) next() (*xmpp.Element, error) {
	var stack []scope
	start := int64(-1)
	for {
		tok, err := d.dec.RawToken()
		if err != nil {
			return nil, d.wrap(err)
		}
		if start >= 0 && d.dec.InputOffset()-start > d.maxSize {
			return nil, errTooLarge
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= d.maxDepth {
				return nil, errTooDeep
			}
			parent := scope{ns: xmpp.NSBindings{Default: d.defNS, Prefixes: d.prefixes}}
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			} else {
				start = d.dec.InputOffset()
			}
			s, err := d.open(t, parent)
			if err != nil {
				return nil, err
			}
			if len(stack) > 0 {
				parent.el.Children = append(parent.el.Children, s.el)
			}
			stack = append(stack, s)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errStreamEnd
			}
			top := stack[len(stack)-1]
			if t.Name != top.raw {
				return nil, fmt.Errorf("end tag </%s> closes <%s>: %w", t.Name.Local, top.raw.Local, ErrNotWellFormed)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				d.rearm()
				return top.el, nil
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("text between stanzas: %w", ErrBadFormat)
				}
				d.rearm() // keepalives never add up to a stanza
				continue
			}
			if len(t) == 0 {
				continue // an empty CDATA section is no text at all
			}
			el := stack[len(stack)-1].el
			if n := len(el.Children); n > 0 {
				if prev, ok := el.Children[n-1].(xmpp.Text); ok {
					el.Children[n-1] = prev + xmpp.Text(t)
					continue
				}
			}
			el.Children = append(el.Children, xmpp.Text(t))
		case xml.Comment, xml.ProcInst, xml.Directive:
			// RFC 6120 §11.1: none of these may appear in a stream.
			return nil, fmt.Errorf("%T in the stream: %w", tok, ErrRestrictedXML)
		}
	}
}

// open resolves a start tag's names within its parent's scope and fills the
// Element the way util.xmppstream fills a stanza: NS stays "" for an element
// in the stream's namespace whose ancestors all are too, and is set on every
// other element, so the Element converts to the table Prosody would build.
func (d *decoder) open(t xml.StartElement, parent scope) (scope, error) {
	s := scope{raw: t.Name, ns: parent.ns}
	var nsErr *xmpp.NSError
	if s.ns, nsErr = parent.ns.Enter(t.Attr); nsErr != nil {
		return s, fmt.Errorf("bad namespace declaration xmlns:%s: %w", nsErr.Name, ErrNotWellFormed)
	}
	if !ncName(t.Name.Local) {
		return s, fmt.Errorf("element name %q: %w", t.Name.Local, ErrBadNamespacePrefix)
	}
	ns, nsErr := s.ns.ElementNS(t.Name)
	if nsErr != nil {
		return s, fmt.Errorf("unbound prefix %q on <%s>: %w", t.Name.Space, t.Name.Local, ErrBadNamespacePrefix)
	}
	el := &xmpp.Element{Name: t.Name.Local}
	s.foreign = parent.foreign || ns != d.defNS
	if s.foreign {
		if ns == "" {
			// An explicit empty namespace: the Element type keeps it as an
			// ordinary attribute, since NS "" means "inherited".
			el.Attr = append(el.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}})
		}
		el.NS = ns
	}
	attrs, nsErr := s.ns.ResolveAttrs(t.Attr, ncName)
	switch {
	case nsErr == nil:
	case nsErr.Kind == xmpp.UnboundPrefix:
		return s, fmt.Errorf("unbound attribute prefix %q on <%s>: %w", nsErr.Name, t.Name.Local, ErrBadNamespacePrefix)
	case nsErr.Kind == xmpp.InvalidName:
		return s, fmt.Errorf("attribute name %q on <%s>: %w", nsErr.Name, t.Name.Local, ErrBadNamespacePrefix)
	default:
		return s, fmt.Errorf("attribute %s given twice on <%s>: %w", nsErr.Name, t.Name.Local, ErrNotWellFormed)
	}
	el.Attr = append(el.Attr, attrs...)
	s.el = el
	return s, nil
}

// ncName says whether a local name is usable as one: non-empty and without
// a colon (Namespaces in XML §3), which encoding/xml's RawToken lets through.
func ncName(s string) bool { return s != "" && !strings.ContainsRune(s, ':') }

// wrap turns decoder failures into stream error conditions.
func (d *decoder) wrap(err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, errTooLarge):
		return errTooLarge
	case errors.As(err, &se):
		return fmt.Errorf("line %d: %s: %w", se.Line, se.Msg, ErrNotWellFormed)
	}
	return err
}

// Marshal renders e as it goes on a component stream: a top-level element in
// jabber:client or the stream's own namespace carries no xmlns (the stream's
// default applies), every other namespace change is declared. It fails, naming
// the element, on what XML cannot carry: bad names, control characters,
// invalid UTF-8.
func Marshal(e *xmpp.Element) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, e, NSComponent, true, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MarshalString is Marshal as a string, rendered in a reused buffer: the
// string is the only allocation, where growing a fresh buffer for every
// stanza (a roster result of a hundred items, a push) made several.
func MarshalString(e *xmpp.Element) (string, error) {
	var out string
	err := withEncoded(e, func(b []byte) error {
		out = string(b)
		return nil
	})
	return out, err
}

// encodeBuffers are the buffers stanzas are rendered in; one grown past
// maxPooledBuffer (a huge roster) is left to the collector.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 64 << 10

// withEncoded renders e in a pooled buffer and calls use with its bytes,
// which are valid only during the call.
func withEncoded(e *xmpp.Element, use func([]byte) error) error {
	return withBuffer(func(b *bytes.Buffer) error {
		if err := encode(b, e, NSComponent, true, 0); err != nil {
			return err
		}
		return use(b.Bytes())
	})
}

// withBuffer calls fill with an empty pooled buffer, given back after.
func withBuffer(fill func(*bytes.Buffer) error) error {
	b := encodeBuffers.Get().(*bytes.Buffer)
	b.Reset()
	defer func() {
		if b.Cap() <= maxPooledBuffer {
			encodeBuffers.Put(b)
		}
	}()
	return fill(b)
}

// MarshalStringOfMany is MarshalString for a stanza whose innermost element
// has many children, made one at a time: path is the stanza and its
// descendants down to that element (each the only child of the one
// before; their own Children are ignored), and each(i, child) makes child
// i < n in an element that is reused for the next one. The text is
// MarshalString's of the same tree, without the tree of every child (a
// roster result of a thousand items) ever being built.
func MarshalStringOfMany(path []*xmpp.Element, n int, each func(i int, child *xmpp.Element)) (string, error) {
	if len(path) == 0 {
		return "", errors.New("encode: no element")
	}
	var out string
	err := withBuffer(func(b *bytes.Buffer) error {
		ns := NSComponent
		for depth, e := range path {
			var err error
			if ns, err = encodeStart(b, e, ns, depth == 0, depth); err != nil {
				return err
			}
			if depth < len(path)-1 {
				b.WriteByte('>')
			}
		}
		if n == 0 {
			b.WriteString("/>")
		} else {
			b.WriteByte('>')
			var child xmpp.Element
			for i := range n {
				child = xmpp.Element{Attr: child.Attr[:0], Children: child.Children[:0]}
				each(i, &child)
				if err := encode(b, &child, ns, false, len(path)); err != nil {
					return err
				}
			}
			closeTag(b, path[len(path)-1].Name)
		}
		for depth := len(path) - 2; depth >= 0; depth-- {
			closeTag(b, path[depth].Name)
		}
		out = b.String()
		return nil
	})
	return out, err
}

func closeTag(b *bytes.Buffer, name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// encode writes e as a child of an element whose namespace is parentNS (for
// a stanza, the stream's); top marks a stanza.
func encode(b *bytes.Buffer, e *xmpp.Element, parentNS string, top bool, depth int) error {
	ns, err := encodeStart(b, e, parentNS, top, depth)
	if err != nil {
		return err
	}
	if len(e.Children) == 0 {
		b.WriteString("/>")
		return nil
	}
	b.WriteByte('>')
	for _, c := range e.Children {
		switch c := c.(type) {
		case xmpp.Text:
			if err := checkText(string(c)); err != nil {
				return fmt.Errorf("encode <%s> text: %w", e.Name, err)
			}
			escapeText(b, string(c))
		case *xmpp.Element:
			if err := encode(b, c, ns, false, depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("encode <%s>: child of type %T", e.Name, c)
		}
	}
	closeTag(b, e.Name)
	return nil
}

// encodeStart writes e's start tag up to (not including) its closing '>'
// or '/>', and returns the namespace its children are in.
func encodeStart(b *bytes.Buffer, e *xmpp.Element, parentNS string, top bool, depth int) (string, error) {
	if e == nil {
		return "", errors.New("encode: nil element")
	}
	if depth > defaultMaxDepth {
		return "", fmt.Errorf("encode <%s>: nested deeper than %d", e.Name, defaultMaxDepth)
	}
	if err := checkName(e.Name); err != nil {
		return "", fmt.Errorf("encode element name %q: %w", e.Name, err)
	}
	ns := parentNS
	b.WriteByte('<')
	b.WriteString(e.Name)
	switch {
	case e.NS == "":
	case top && (e.NS == NSClient || e.NS == NSComponent):
		// A stanza is a stanza: on this stream it takes the stream's namespace.
	case e.NS != parentNS:
		if err := checkText(e.NS); err != nil {
			return "", fmt.Errorf("encode <%s> xmlns: %w", e.Name, err)
		}
		b.WriteString(" xmlns='")
		escapeAttr(b, e.NS)
		b.WriteByte('\'')
		ns = e.NS
	default:
		ns = e.NS
	}
	nsid := 0
	for _, a := range e.Attr {
		if err := checkText(a.Value); err != nil {
			return "", fmt.Errorf("encode <%s> attribute %s: %w", e.Name, a.Name.Local, err)
		}
		if err := checkName(a.Name.Local); err != nil {
			return "", fmt.Errorf("encode <%s> attribute name %q: %w", e.Name, a.Name.Local, err)
		}
		b.WriteByte(' ')
		switch a.Name.Space {
		case "":
			if a.Name.Local == "xmlns" {
				if e.NS != "" && e.NS != a.Value {
					return "", fmt.Errorf("encode <%s>: NS %q and an xmlns attribute %q", e.Name, e.NS, a.Value)
				}
				ns = a.Value
			}
			b.WriteString(a.Name.Local)
		case nsXML, "xml":
			b.WriteString("xml:")
			b.WriteString(a.Name.Local)
		case "xmlns":
			b.WriteString("xmlns:")
			b.WriteString(a.Name.Local)
		default:
			if err := checkText(a.Name.Space); err != nil {
				return "", fmt.Errorf("encode <%s> attribute namespace: %w", e.Name, err)
			}
			nsid++
			fmt.Fprintf(b, "xmlns:ns%d='", nsid)
			escapeAttr(b, a.Name.Space)
			fmt.Fprintf(b, "' ns%d:%s", nsid, a.Name.Local)
		}
		b.WriteString("='")
		escapeAttr(b, a.Value)
		b.WriteByte('\'')
	}
	return ns, nil
}

func checkName(name string) error {
	if name != "" && plainName(name) {
		return nil // what every stanza's names are: checkNameFully passes them
	}
	return checkNameFully(name)
}

func checkNameFully(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsAny(name, "<>&'\"=/ \t\r\n:"):
		return errors.New("invalid character in name")
	case !utf8.ValidString(name):
		return errors.New("invalid UTF-8")
	}
	return checkText(name)
}

// nameStops are the bytes checkName looks further at: those it refuses in
// a name, the C0 controls, and every byte of a multi-byte character.
var nameStops = func() (stops [256]bool) {
	for _, c := range []byte("<>&'\"=/ \t\r\n:") {
		stops[c] = true
	}
	for c := range 0x20 {
		stops[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		stops[c] = true
	}
	return stops
}()

// plainName reports whether name is ASCII with none of nameStops: a
// name checkName passes, found in one pass (strings.ContainsAny built its
// set of characters anew on every name of every stanza sent).
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if nameStops[name[i]] {
			return false
		}
	}
	return true
}

// checkText refuses what XML 1.0 cannot carry: C0 controls other than tab,
// LF and CR, and invalid UTF-8.
func checkText(s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validRuneAt(s, i):
			return errors.New("invalid UTF-8")
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xFFFE, r == 0xFFFF:
			return fmt.Errorf("character %U not allowed in XML", r)
		}
	}
	return nil
}

func validRuneAt(s string, i int) bool {
	r, n := utf8.DecodeRuneInString(s[i:])
	return !(r == utf8.RuneError && n <= 1)
}

// attrEscaper escapes for a single-quoted attribute; whitespace other than
// the space is written as a reference so the parser's attribute-value
// normalisation cannot change it. textEscaper escapes character data; CR is
// a reference because parsers turn a literal CR into LF. Both are given
// text checkText has passed (valid UTF-8), so replacing bytes is replacing
// characters.
var (
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;",
		"\n", "&#xA;", "\r", "&#xD;", "\t", "&#x9;")
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
)

func escapeAttr(b *bytes.Buffer, s string) { _, _ = attrEscaper.WriteString(b, s) }

func escapeText(b *bytes.Buffer, s string) { _, _ = textEscaper.WriteString(b, s) }
