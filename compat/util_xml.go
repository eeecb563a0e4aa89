package compat

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/xmpp"
)

// Limits util.xml.parse applies unless its options say otherwise. The depth
// limit keeps parsed documents within what the Lua side can walk recursively
// (gopher-lua's call stack holds 256 frames); the size limit bounds the work
// one call can cause.
const (
	defaultMaxXMLSize  = 10 << 20
	defaultMaxXMLDepth = 128
	// maxConvertDepth stops the converters on cyclic or absurdly deep tables.
	maxConvertDepth = 1000
)

// attrKey returns the util.stanza attribute key for an attribute name.
func attrKey(n xml.Name) string {
	switch n.Space {
	case "":
		return n.Local
	case xmpp.XMLNamespace:
		return "xml:" + n.Local
	case "xmlns":
		return "xmlns:" + n.Local
	default:
		return n.Space + "\x01" + n.Local
	}
}

// attrName is the inverse of attrKey.
func attrName(key string) xml.Name {
	if ns, local, ok := strings.Cut(key, "\x01"); ok {
		return xml.Name{Space: ns, Local: local}
	}
	if local, ok := strings.CutPrefix(key, "xml:"); ok {
		return xml.Name{Space: xmpp.XMLNamespace, Local: local}
	}
	if local, ok := strings.CutPrefix(key, "xmlns:"); ok {
		return xml.Name{Space: "xmlns", Local: local}
	}
	return xml.Name{Local: key}
}

// checkName applies util.stanza's rules for tag and attribute names, so a
// stanza made in Go is one Lua could have made.
func checkName(name, kind string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid %s name: empty string", kind)
	case strings.ContainsAny(name, "<>& '\""):
		return fmt.Errorf("invalid %s name: contains invalid characters", kind)
	case hasControls(name, kind == "attribute"):
		return fmt.Errorf("invalid %s name: contains control characters", kind)
	case !utf8.ValidString(name):
		return fmt.Errorf("invalid %s name: contains invalid utf8", kind)
	}
	return nil
}

// checkText applies util.stanza's rules for text and attribute values.
func checkText(text, kind string) error {
	switch {
	case hasControls(text, false):
		return fmt.Errorf("invalid %s value: contains control characters", kind)
	case !utf8.ValidString(text):
		return fmt.Errorf("invalid %s value: contains invalid utf8", kind)
	}
	return nil
}

// hasControls reports C0 controls XML 1.0 forbids (all but tab, LF, CR);
// attribute keys may also hold \x01, util.stanza's namespace separator.
func hasControls(s string, attrKey bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 || c == '\t' || c == '\n' || c == '\r' || (attrKey && c == 1) {
			continue
		}
		return true
	}
	return false
}

// stanzaMeta returns util.stanza's stanza_mt, so tables built here are
// stanzas to Lua (is_stanza, methods, tostring).
func stanzaMeta(L *glua.LState) (*glua.LTable, error) {
	if err := L.CallByParam(glua.P{Fn: L.GetGlobal("require"), NRet: 1, Protect: true}, glua.LString("util.stanza")); err != nil {
		return nil, fmt.Errorf("require util.stanza: %w", err)
	}
	mod := L.Get(-1)
	L.Pop(1)
	modTable, ok := mod.(*glua.LTable)
	if !ok {
		return nil, errors.New("util.stanza is not a table")
	}
	mt, ok := modTable.RawGetString("stanza_mt").(*glua.LTable)
	if !ok {
		return nil, errors.New("util.stanza has no stanza_mt")
	}
	return mt, nil
}

// ElementToStanza builds the util.stanza table for e. It fails, naming the
// element, where util.stanza would raise: bad names, bad text, an attribute
// given twice.
func ElementToStanza(L *glua.LState, e *xmpp.Element) (*glua.LTable, error) {
	mt, err := stanzaMeta(L)
	if err != nil {
		return nil, err
	}
	return elementToStanza(L, mt, e, 0)
}

func elementToStanza(L *glua.LState, mt *glua.LTable, e *xmpp.Element, depth int) (*glua.LTable, error) {
	if e == nil {
		return nil, errors.New("nil element")
	}
	if depth > maxConvertDepth {
		return nil, fmt.Errorf("element <%s>: nested deeper than %d", e.Name, maxConvertDepth)
	}
	if err := checkName(e.Name, "tag"); err != nil {
		return nil, err
	}
	attr := L.CreateTable(0, len(e.Attr)+1)
	if e.NS != "" {
		if err := checkText(e.NS, "attribute"); err != nil {
			return nil, fmt.Errorf("element <%s> xmlns: %w", e.Name, err)
		}
		attr.RawSetString("xmlns", glua.LString(e.NS))
	}
	for _, a := range e.Attr {
		key := attrKey(a.Name)
		if err := checkName(key, "attribute"); err != nil {
			return nil, fmt.Errorf("element <%s>: %w", e.Name, err)
		}
		if err := checkText(a.Value, "attribute"); err != nil {
			return nil, fmt.Errorf("element <%s> attribute %q: %w", e.Name, key, err)
		}
		if attr.RawGetString(key) != glua.LNil {
			return nil, fmt.Errorf("element <%s>: attribute %q given twice", e.Name, key)
		}
		attr.RawSetString(key, glua.LString(a.Value))
	}

	st := L.CreateTable(len(e.Children), 4)
	st.RawSetString("name", glua.LString(e.Name))
	st.RawSetString("attr", attr)
	if e.Prefixes != nil {
		ns := L.CreateTable(0, len(e.Prefixes))
		for prefix, uri := range e.Prefixes {
			ns.RawSetString(prefix, glua.LString(uri))
		}
		st.RawSetString("namespaces", ns)
	}
	tags := L.CreateTable(len(e.Children), 0)
	for _, child := range e.Children {
		switch c := child.(type) {
		case xmpp.Text:
			if err := checkText(string(c), "text"); err != nil {
				return nil, fmt.Errorf("element <%s>: %w", e.Name, err)
			}
			st.Append(glua.LString(c))
		case *xmpp.Element:
			sub, err := elementToStanza(L, mt, c, depth+1)
			if err != nil {
				return nil, err
			}
			st.Append(sub)
			tags.Append(sub)
		default:
			return nil, fmt.Errorf("element <%s>: child of type %T", e.Name, child)
		}
	}
	st.RawSetString("tags", tags)
	L.SetMetatable(st, mt)
	return st, nil
}

// StanzaToElement reads a util.stanza table (any table of that shape; the
// metatable is not checked) into an Element. It fails on what could not be
// written as XML: a missing or bad name, non-string attributes or text,
// control characters, invalid UTF-8, a child that is neither string nor
// table.
func StanzaToElement(L *glua.LState, st *glua.LTable) (*xmpp.Element, error) {
	return stanzaToElement(st, 0)
}

func stanzaToElement(st *glua.LTable, depth int) (*xmpp.Element, error) {
	if st == nil {
		return nil, errors.New("nil stanza")
	}
	name, ok := st.RawGetString("name").(glua.LString)
	if !ok {
		return nil, fmt.Errorf("invalid tag name: expected string, got %s", st.RawGetString("name").Type())
	}
	e := &xmpp.Element{Name: string(name)}
	if depth > maxConvertDepth {
		return nil, fmt.Errorf("element <%s>: nested deeper than %d", e.Name, maxConvertDepth)
	}
	if err := checkName(e.Name, "tag"); err != nil {
		return nil, err
	}
	switch attr := st.RawGetString("attr").(type) {
	case *glua.LTable:
		// Next, not ForEach: ForEach walks string keys in Go map order, Next
		// in gopher-lua's insertion order, which pairs() also follows.
		for k, v := attr.Next(glua.LNil); k != glua.LNil; k, v = attr.Next(k) {
			key, ok := k.(glua.LString)
			if !ok {
				return nil, fmt.Errorf("element <%s>: invalid attribute name: expected string, got %s", e.Name, k.Type())
			}
			value, ok := v.(glua.LString)
			if !ok {
				return nil, fmt.Errorf("element <%s> attribute %q: invalid attribute value: expected string, got %s", e.Name, string(key), v.Type())
			}
			if err := checkName(string(key), "attribute"); err != nil {
				return nil, fmt.Errorf("element <%s>: %w", e.Name, err)
			}
			if err := checkText(string(value), "attribute"); err != nil {
				return nil, fmt.Errorf("element <%s> attribute %q: %w", e.Name, string(key), err)
			}
			if key == "xmlns" && value != "" {
				e.NS = string(value)
				continue
			}
			e.Attr = append(e.Attr, xml.Attr{Name: attrName(string(key)), Value: string(value)})
		}
	case *glua.LNilType:
	default:
		return nil, fmt.Errorf("element <%s>: invalid attributes: expected table, got %s", e.Name, attr.Type())
	}
	if ns, ok := st.RawGetString("namespaces").(*glua.LTable); ok {
		e.Prefixes = make(map[string]string)
		var bad error
		ns.ForEach(func(k, v glua.LValue) {
			prefix, ok1 := k.(glua.LString)
			uri, ok2 := v.(glua.LString)
			if !ok1 || !ok2 {
				bad = fmt.Errorf("element <%s>: namespaces holds %s = %s, want strings", e.Name, k.Type(), v.Type())
				return
			}
			e.Prefixes[string(prefix)] = string(uri)
		})
		if bad != nil {
			return nil, bad
		}
	}
	n := st.Len()
	if n > 0 {
		e.Children = make([]xmpp.Node, 0, n)
	}
	for i := 1; i <= n; i++ {
		switch c := st.RawGetInt(i).(type) {
		case glua.LString:
			if err := checkText(string(c), "text"); err != nil {
				return nil, fmt.Errorf("element <%s>: %w", e.Name, err)
			}
			e.Children = append(e.Children, xmpp.Text(c))
		case *glua.LTable:
			child, err := stanzaToElement(c, depth+1)
			if err != nil {
				return nil, err
			}
			e.Children = append(e.Children, child)
		default:
			return nil, fmt.Errorf("element <%s>: child %d is a %s, want string or stanza", e.Name, i, c.Type())
		}
	}
	return e, nil
}

// xmlParseOptions are util.xml.parse's options: Prosody's two, plus the
// limits modhost adds.
type xmlParseOptions struct {
	allowComments bool
	allowPI       bool
	maxSize       int
	maxDepth      int
}

// openUtilXML pushes the util.xml module table.
func openUtilXML(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("parse", L.NewFunction(luaParseXML))
	L.Push(mod)
	return 1
}

// luaParseXML is util.xml.parse(xml, options): the document's root element
// as a stanza, or nil and a message ending in "(line L, col C)".
func luaParseXML(L *glua.LState) int {
	src := L.CheckString(1)
	opts := xmlParseOptions{maxSize: defaultMaxXMLSize, maxDepth: defaultMaxXMLDepth}
	if t, ok := L.Get(2).(*glua.LTable); ok {
		opts.allowComments = glua.LVAsBool(t.RawGetString("allow_comments"))
		opts.allowPI = glua.LVAsBool(t.RawGetString("allow_processing_instructions"))
		if n, ok := t.RawGetString("max_size").(glua.LNumber); ok {
			opts.maxSize = int(n)
		}
		if n, ok := t.RawGetString("max_depth").(glua.LNumber); ok {
			opts.maxDepth = int(n)
		}
	}
	e, err := parseXML(src, opts)
	if err == nil {
		var st *glua.LTable
		if st, err = ElementToStanza(L, e); err == nil {
			L.Push(st)
			return 1
		}
	}
	L.Push(glua.LNil)
	L.Push(glua.LString(err.Error()))
	return 2
}

// scope is one open element during parsing, with the namespace bindings in
// force inside it.
type scope struct {
	el  *xmpp.Element
	raw xml.Name // name as written, to match the end tag
	ns  xmpp.NSBindings
}

// parseXML parses one XML document into its root element. It resolves
// namespaces itself (RawToken) so that it can reject unbound prefixes and
// duplicate attributes, which encoding/xml lets through, and it refuses
// DTDs outright, so no entity beyond XML's five predefined ones and
// character references is ever expanded.
func parseXML(src string, opts xmlParseOptions) (*xmpp.Element, error) {
	if opts.maxSize > 0 && len(src) > opts.maxSize {
		return nil, fmt.Errorf("document too large: %d bytes, limit %d (line 1, col 1)", len(src), opts.maxSize)
	}
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = true
	fail := func(msg string) error {
		line, col := d.InputPos()
		return fmt.Errorf("%s (line %d, col %d)", msg, line, col)
	}

	var root *xmpp.Element
	var stack []scope
	rootPrefixes := map[string]string{}
	for {
		offset := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			if root == nil || len(stack) > 0 {
				return nil, fail("no element found")
			}
			return root, nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fail("not well-formed: " + se.Msg)
			}
			return nil, fail(err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fail("junk after document element")
			}
			if opts.maxDepth > 0 && len(stack) >= opts.maxDepth {
				return nil, fail(fmt.Sprintf("elements nested deeper than %d", opts.maxDepth))
			}
			parent := scope{ns: xmpp.NSBindings{Prefixes: rootPrefixes}}
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			t = normalizeAttrSpace(t, src[offset:d.InputOffset()])
			s, err := openElement(t, parent)
			if err != nil {
				return nil, fail(err.Error())
			}
			if len(stack) > 0 {
				parent.el.Children = append(parent.el.Children, s.el)
			} else {
				root = s.el
			}
			stack = append(stack, s)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fail("end tag without start tag")
			}
			top := stack[len(stack)-1]
			if t.Name != top.raw {
				return nil, fail("mismatched tag")
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(strings.TrimLeft(string(t), " \t\r\n")) > 0 {
					if root == nil {
						return nil, fail("syntax error: text before the document element")
					}
					return nil, fail("junk after document element")
				}
				continue
			}
			if len(t) == 0 {
				continue
			}
			el := stack[len(stack)-1].el
			// Adjacent character data (text, entity references, CDATA) is
			// one text child, as Prosody's expat-based parser gives it.
			if n := len(el.Children); n > 0 {
				if prev, ok := el.Children[n-1].(xmpp.Text); ok {
					el.Children[n-1] = prev + xmpp.Text(t)
					continue
				}
			}
			el.Children = append(el.Children, xmpp.Text(t))
		case xml.Comment:
			if !opts.allowComments {
				return nil, fail("comments are not allowed")
			}
		case xml.ProcInst:
			if t.Target == "xml" {
				if offset != 0 {
					return nil, fail("XML declaration not at start of document")
				}
				continue
			}
			if !opts.allowPI {
				return nil, fail("processing instructions are not allowed")
			}
		case xml.Directive:
			return nil, fail("DTDs and other declarations are not allowed")
		}
	}
}

// normalizeAttrSpace applies XML 1.0 §3.3.3 to t's attribute values, as
// expat (and so Prosody) does and encoding/xml does not: a tab, CR or LF
// written raw in a value becomes a space (CR LF one space), while one written
// as a character reference (&#9;) stays. tag is the start tag as written.
func normalizeAttrSpace(t xml.StartElement, tag string) xml.StartElement {
	if !strings.ContainsAny(tag, "\t\r\n") {
		return t
	}
	// Quotes occur in a well-formed start tag only around values, one pair
	// per attribute, in order.
	i := 0
	for n := range t.Attr {
		open := strings.IndexAny(tag[i:], `'"`)
		if open < 0 {
			break
		}
		open += i
		end := strings.IndexByte(tag[open+1:], tag[open])
		if end < 0 {
			break
		}
		end += open + 1
		raw := tag[open+1 : end]
		i = end + 1
		if !strings.ContainsAny(raw, "\t\r\n") {
			continue
		}
		spaced := attrSpaceReplacer.Replace(raw)
		// The value with its references still to decode: encoding/xml
		// decodes them, in a document of this one attribute.
		q := string(tag[open])
		var one struct {
			V string `xml:"v,attr"`
		}
		if xml.Unmarshal([]byte("<a v="+q+spaced+q+"/>"), &one) == nil {
			t.Attr[n].Value = one.V
		}
	}
	return t
}

var attrSpaceReplacer = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ", "\t", " ")

// openElement resolves a start tag's namespaces within parent's bindings.
func openElement(t xml.StartElement, parent scope) (scope, error) {
	s := scope{raw: t.Name, ns: parent.ns}
	var nsErr *xmpp.NSError
	if s.ns, nsErr = parent.ns.Enter(t.Attr); nsErr != nil {
		return s, nsErr
	}
	// encoding/xml checks "p:0" as one name; the part after the prefix must
	// be a name of its own, or the stanza would serialise as <0>.
	if !xmlNameStart(t.Name.Local) {
		return s, fmt.Errorf("invalid element name %q", t.Name.Local)
	}
	el := &xmpp.Element{Name: t.Name.Local}
	if el.NS, nsErr = s.ns.ElementNS(t.Name); nsErr != nil {
		return s, nsErr
	}
	el.Prefixes = make(map[string]string, len(s.ns.Prefixes))
	for k, v := range s.ns.Prefixes {
		el.Prefixes[k] = v
	}
	if el.Attr, nsErr = s.ns.ResolveAttrs(t.Attr, xmlNameStart); nsErr != nil {
		return s, nsErr
	}
	s.el = el
	return s, nil
}

// xmlNameStart reports whether name starts with an XML NameStartChar
// (XML 1.0 §2.3), as every element and attribute name must.
func xmlNameStart(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	switch {
	case name == "":
		return false
	case r == '_' || r == ':' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
		return true
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}
