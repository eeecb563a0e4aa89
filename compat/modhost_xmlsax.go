package compat

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"
)

// modhost.xmlsax is the incremental, namespace-aware XML parser under
// util.xmppstream: data is fed in pieces of any size (a tag or a character
// split across two reads is kept until the rest arrives) and reported to a
// handler table the way LuaExpat reports it, the subset Prosody uses:
//
//	StartElement(parser, name, attr)   name is "NS<sep>local" (or "local"),
//	                                   attr holds name → value and the names
//	                                   in document order at 1..n
//	EndElement(parser, name)
//	CharacterData(parser, text)
//	StartCdataSection(parser) / EndCdataSection(parser)
//	XmlDecl(parser, version, encoding, standalone)  standalone a boolean
//	StartDoctypeDecl(parser, name)
//	Comment(parser, text)
//	ProcessingInstruction(parser, target, data)
//
// new(handlers, separator) makes a parser; parser:parse(data) gives true,
// or nil and an expat-style message ("mismatched tag", "unbound prefix", …),
// and keeps failing once it has failed; parser:parse() ends the document;
// parser:stop() from inside a handler aborts ("parsing aborted");
// parser:getcurrentbytecount() is the size of the event being reported.
// Unlike expat it never reads a DTD: a document type declaration is reported
// to StartDoctypeDecl and then refused. Not a Prosody library.

const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

type xmlParser struct {
	handlers *glua.LTable
	sep      string

	buf      []byte
	consumed int64 // bytes taken from the input so far
	open     []openTag
	rootDone bool
	count    int // size of the event being reported

	err      string // set once failed
	stopped  bool
	finished bool
	self     *glua.LUserData
}

type openTag struct {
	raw string            // the name as written, to match the end tag
	ns  map[string]string // prefix → namespace in force ("" the default)
}

func openXMLParser(L *glua.LState) int {
	mt := L.NewTable()
	methods := L.NewTable()
	L.SetFuncs(methods, map[string]glua.LGFunction{
		"parse": func(L *glua.LState) int {
			p := checkXMLParser(L)
			if L.GetTop() < 2 || L.Get(2) == glua.LNil {
				return p.finish(L)
			}
			return p.parse(L, L.CheckString(2))
		},
		"stop": func(L *glua.LState) int {
			p := checkXMLParser(L)
			p.stopped = true
			L.Push(glua.LTrue)
			return 1
		},
		"close": func(L *glua.LState) int {
			p := checkXMLParser(L)
			p.finished = true
			p.buf = nil
			return 0
		},
		"getcurrentbytecount": func(L *glua.LState) int {
			L.Push(glua.LNumber(checkXMLParser(L).count))
			return 1
		},
		"pos": func(L *glua.LState) int {
			L.Push(glua.LNumber(checkXMLParser(L).consumed))
			return 1
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", glua.LString("modhost.xmlsax"))

	mod := L.NewTable()
	mod.RawSetString("new", L.NewFunction(func(L *glua.LState) int {
		p := &xmlParser{handlers: L.CheckTable(1), sep: L.OptString(2, "\x01")}
		ud := L.NewUserData()
		ud.Value = p
		ud.Metatable = mt
		p.self = ud
		L.Push(ud)
		return 1
	}))
	L.Push(mod)
	return 1
}

func checkXMLParser(L *glua.LState) *xmlParser {
	ud := L.CheckUserData(1)
	p, ok := ud.Value.(*xmlParser)
	if !ok {
		L.ArgError(1, "modhost.xmlsax expected")
	}
	return p
}

func (p *xmlParser) fail(L *glua.LState, msg string) int {
	if p.err == "" {
		p.err = msg
	}
	L.Push(glua.LNil)
	L.Push(glua.LString(p.err))
	return 2
}

// state reports a parser that can no longer parse.
func (p *xmlParser) state(L *glua.LState) (int, bool) {
	switch {
	case p.err == "parsing aborted":
		p.err = "parsing finished"
		return p.fail(L, p.err), true
	case p.err != "":
		return p.fail(L, p.err), true
	case p.finished:
		return p.fail(L, "parsing finished"), true
	}
	return 0, false
}

func (p *xmlParser) finish(L *glua.LState) int {
	if n, done := p.state(L); done {
		return n
	}
	p.finished = true
	if !p.rootDone || len(p.open) > 0 || len(bytes.TrimLeft(p.buf, " \t\r\n")) > 0 {
		return p.fail(L, "no element found")
	}
	L.Push(glua.LTrue)
	return 1
}

// call reports an event to the handler named name, if there is one.
func (p *xmlParser) call(L *glua.LState, name string, args ...glua.LValue) {
	fn, ok := p.handlers.RawGetString(name).(*glua.LFunction)
	if !ok {
		return
	}
	L.Push(fn)
	L.Push(p.self)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(1+len(args), 0)
}

// take drops n bytes of input, the event about to be reported.
func (p *xmlParser) take(n int) {
	p.buf = p.buf[n:]
	p.consumed += int64(n)
	p.count = n
}

func (p *xmlParser) parse(L *glua.LState, data string) int {
	if n, done := p.state(L); done {
		return n
	}
	p.buf = append(p.buf, data...)
	for len(p.buf) > 0 {
		if p.stopped {
			break
		}
		more, msg := p.step(L)
		if msg != "" {
			p.buf = nil
			return p.fail(L, msg)
		}
		if !more {
			break
		}
	}
	if p.stopped {
		p.buf = nil
		return p.fail(L, "parsing aborted")
	}
	L.Push(glua.LTrue)
	return 1
}

// prefixOf reports whether b could still grow into s.
func prefixOf(b []byte, s string) bool {
	return len(b) < len(s) && strings.HasPrefix(s, string(b))
}

// step parses one event from the buffer: false when it needs more input,
// or an error message.
func (p *xmlParser) step(L *glua.LState) (bool, string) {
	b := p.buf
	if b[0] != '<' {
		return p.text(L)
	}
	if len(b) < 2 {
		return false, ""
	}
	switch b[1] {
	case '?':
		end := bytes.Index(b, []byte("?>"))
		if end < 0 {
			return false, ""
		}
		return true, p.procInst(L, string(b[2:end]), end+2)
	case '/':
		end := bytes.IndexByte(b, '>')
		if end < 0 {
			return false, ""
		}
		return true, p.endTag(L, string(b[2:end]), end+1)
	case '!':
		switch {
		case prefixOf(b, "<!--") || prefixOf(b, "<![CDATA[") || prefixOf(b, "<!DOCTYPE"):
			return false, ""
		case bytes.HasPrefix(b, []byte("<!--")):
			end := bytes.Index(b[4:], []byte("-->"))
			if end < 0 {
				return false, ""
			}
			text := string(b[4 : 4+end])
			p.take(end + 7)
			if strings.Contains(text, "--") || !utf8.ValidString(text) {
				return true, "not well-formed (invalid token)"
			}
			p.call(L, "Comment", glua.LString(text))
			return true, ""
		case bytes.HasPrefix(b, []byte("<![CDATA[")):
			end := bytes.Index(b, []byte("]]>"))
			if end < 0 {
				return false, ""
			}
			if len(p.open) == 0 {
				return true, "syntax error"
			}
			text := string(b[9:end])
			if msg := textProblem(text); msg != "" {
				return true, msg
			}
			p.take(end + 3)
			p.count = 9
			p.call(L, "StartCdataSection")
			if !p.stopped && text != "" {
				p.count = len(text)
				p.call(L, "CharacterData", glua.LString(text))
			}
			if !p.stopped {
				p.count = 3
				p.call(L, "EndCdataSection")
			}
			return true, ""
		case bytes.HasPrefix(b, []byte("<!DOCTYPE")):
			if len(p.open) > 0 || p.rootDone {
				return true, "syntax error"
			}
			fields := strings.Fields(strings.TrimRight(string(b[9:min(len(b), 9+256)]), ">"))
			name := ""
			if len(fields) > 0 {
				name = strings.SplitN(fields[0], ">", 2)[0]
			}
			p.count = 9
			p.call(L, "StartDoctypeDecl", glua.LString(name))
			if p.stopped {
				return true, ""
			}
			return true, "DTDs are not supported"
		}
		return true, "not well-formed (invalid token)"
	}
	end, ok := tagEnd(b)
	if !ok {
		return false, ""
	}
	return true, p.startTag(L, string(b[1:end]), end+1)
}

// tagEnd finds the '>' closing the start tag at b[0], outside quotes.
func tagEnd(b []byte) (int, bool) {
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i, true
		}
	}
	return 0, false
}

// text reports character data up to the next '<', keeping back a reference
// or a UTF-8 sequence that the input has not finished yet.
func (p *xmlParser) text(L *glua.LState) (bool, string) {
	b := p.buf
	end := bytes.IndexByte(b, '<')
	complete := end >= 0
	if !complete {
		end = len(b)
		if amp := bytes.LastIndexByte(b, '&'); amp >= 0 && bytes.IndexByte(b[amp:], ';') < 0 {
			end = amp
		}
		for back := 1; back <= 3 && back <= end; back++ {
			c := b[end-back]
			if c < 0x80 {
				break
			}
			if c >= 0xC0 { // a lead byte: is its sequence complete?
				need := 2
				if c >= 0xF0 {
					need = 4
				} else if c >= 0xE0 {
					need = 3
				}
				if back < need {
					end -= back
				}
				break
			}
		}
		if end == 0 {
			return false, ""
		}
	}
	raw := string(b[:end])
	decoded, msg := decodeRefs(raw, false)
	if msg != "" {
		return true, msg
	}
	if msg := textProblem(decoded); msg != "" {
		return true, msg
	}
	p.take(end)
	if len(p.open) == 0 {
		if strings.Trim(decoded, " \t\r\n") != "" {
			if p.rootDone {
				return true, "junk after document element"
			}
			return true, "syntax error"
		}
		return true, ""
	}
	p.call(L, "CharacterData", glua.LString(decoded))
	return true, ""
}

// textProblem is the expat error for text XML 1.0 does not allow.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not well-formed (invalid token)"
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return "not well-formed (invalid token)"
		}
	}
	return ""
}

var predefinedEntities = map[string]string{"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": `"`}

// decodeRefs replaces entity and character references; in an attribute
// value (attr) a literal tab, CR or LF becomes a space first.
func decodeRefs(s string, attr bool) (string, string) {
	if attr {
		s = attrSpaceReplacer.Replace(s)
	}
	if !strings.ContainsRune(s, '&') {
		return s, ""
	}
	var out strings.Builder
	for {
		amp := strings.IndexByte(s, '&')
		if amp < 0 {
			out.WriteString(s)
			return out.String(), ""
		}
		out.WriteString(s[:amp])
		semi := strings.IndexByte(s[amp:], ';')
		if semi < 0 {
			return "", "not well-formed (invalid token)"
		}
		ref := s[amp+1 : amp+semi]
		s = s[amp+semi+1:]
		if num, ok := strings.CutPrefix(ref, "#"); ok {
			base := 10
			if hex, ok := strings.CutPrefix(num, "x"); ok {
				num, base = hex, 16
			}
			n, err := strconv.ParseUint(num, base, 32)
			r := rune(n)
			if err != nil || num == "" || !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
				return "", "reference to invalid character number"
			}
			out.WriteRune(r)
			continue
		}
		v, ok := predefinedEntities[ref]
		if !ok {
			if ref == "" || !xmlNameStart(ref) {
				return "", "not well-formed (invalid token)"
			}
			return "", "undefined entity"
		}
		out.WriteString(v)
	}
}

func (p *xmlParser) procInst(L *glua.LState, body string, size int) string {
	target, data, _ := strings.Cut(body, " ")
	if i := strings.IndexAny(target, "\t\r\n"); i >= 0 {
		target, data = body[:i], body[i+1:]
	}
	data = strings.TrimLeft(data, " \t\r\n")
	if target == "xml" {
		if p.consumed != 0 {
			return "XML or text declaration not at start of entity"
		}
		p.take(size)
		attrs, ok := pseudoAttrs(data)
		if !ok || attrs["version"] == "" {
			return "XML declaration not well-formed"
		}
		opt := func(k string) glua.LValue {
			if v, ok := attrs[k]; ok {
				return glua.LString(v)
			}
			return glua.LNil
		}
		standalone := glua.LValue(glua.LNil)
		if v, ok := attrs["standalone"]; ok {
			standalone = glua.LBool(v == "yes")
		}
		p.call(L, "XmlDecl", opt("version"), opt("encoding"), standalone)
		return ""
	}
	if strings.EqualFold(target, "xml") || !xmlNameStart(target) {
		return "not well-formed (invalid token)"
	}
	p.take(size)
	p.call(L, "ProcessingInstruction", glua.LString(target), glua.LString(data))
	return ""
}

// pseudoAttrs parses the name='value' pairs of an XML declaration.
func pseudoAttrs(s string) (map[string]string, bool) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return out, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, false
		}
		name := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\r\n")
		if s == "" || (s[0] != '"' && s[0] != '\'') {
			return nil, false
		}
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return nil, false
		}
		out[name] = s[1 : 1+end]
		s = s[end+2:]
	}
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// xmlName reads a name at the start of s: the name and the rest.
func xmlName(s string) (string, string) {
	i := 0
	for i < len(s) && !isXMLSpace(s[i]) && !strings.ContainsRune("=/>'\"<&", rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

func validQName(name string) bool {
	if !xmlNameStart(name) || !utf8.ValidString(name) {
		return false
	}
	prefix, local, found := strings.Cut(name, ":")
	if found {
		return prefix != "" && xmlNameStart(local) && !strings.Contains(local, ":")
	}
	return true
}

type rawAttr struct{ name, value string }

func (p *xmlParser) startTag(L *glua.LState, body string, size int) string {
	if p.rootDone && len(p.open) == 0 {
		return "junk after document element"
	}
	empty := strings.HasSuffix(body, "/")
	if empty {
		body = body[:len(body)-1]
	}
	name, rest := xmlName(body)
	if !validQName(name) {
		return "not well-formed (invalid token)"
	}
	var attrs []rawAttr
	seen := map[string]bool{}
	for {
		trimmed := strings.TrimLeft(rest, " \t\r\n")
		if trimmed == "" {
			break
		}
		if len(trimmed) == len(rest) {
			return "not well-formed (invalid token)" // attributes need space before them
		}
		var an string
		an, rest = xmlName(trimmed)
		if !validQName(an) {
			return "not well-formed (invalid token)"
		}
		rest = strings.TrimLeft(rest, " \t\r\n")
		if !strings.HasPrefix(rest, "=") {
			return "not well-formed (invalid token)"
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			return "not well-formed (invalid token)"
		}
		end := strings.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return "not well-formed (invalid token)"
		}
		raw := rest[1 : 1+end]
		rest = rest[end+2:]
		if strings.ContainsRune(raw, '<') {
			return "not well-formed (invalid token)"
		}
		value, msg := decodeRefs(raw, true)
		if msg == "" {
			msg = textProblem(value)
		}
		if msg != "" {
			return msg
		}
		if seen[an] {
			return "duplicate attribute"
		}
		seen[an] = true
		attrs = append(attrs, rawAttr{an, value})
	}

	// Namespaces: the bindings this element declares, over its parent's.
	parent := map[string]string{"xml": xmlNamespace}
	if len(p.open) > 0 {
		parent = p.open[len(p.open)-1].ns
	}
	ns, copied := parent, false
	var plain []rawAttr
	for _, a := range attrs {
		prefix, declared := "", false
		if a.name == "xmlns" {
			declared = true
		} else if pfx, ok := strings.CutPrefix(a.name, "xmlns:"); ok {
			prefix, declared = pfx, true
			if a.value == "" {
				return "unbound prefix" // XML 1.0 namespaces cannot undeclare a prefix
			}
			if pfx == "xmlns" || (pfx == "xml") != (a.value == xmlNamespace) {
				return "reserved prefix (xml) must not be undeclared or bound to another namespace name"
			}
		}
		if !declared {
			plain = append(plain, a)
			continue
		}
		if !copied {
			copied = true
			ns = make(map[string]string, len(parent)+1)
			for k, v := range parent {
				ns[k] = v
			}
		}
		ns[prefix] = a.value
	}
	resolve := func(qname string, useDefault bool) (string, string, bool) {
		prefix, local, found := strings.Cut(qname, ":")
		if !found {
			if useDefault {
				return ns[""], qname, true
			}
			return "", qname, true
		}
		uri, ok := ns[prefix]
		return uri, local, ok
	}
	uri, local, ok := resolve(name, true)
	if !ok {
		return "unbound prefix"
	}
	tagname := local
	if uri != "" {
		tagname = uri + p.sep + local
	}
	attr := L.CreateTable(len(plain), len(plain))
	expanded := map[string]bool{}
	for i, a := range plain {
		auri, alocal, ok := resolve(a.name, false)
		if !ok {
			return "unbound prefix"
		}
		key := alocal
		if auri != "" {
			key = auri + p.sep + alocal
		}
		if expanded[key] {
			return "duplicate attribute"
		}
		expanded[key] = true
		attr.RawSetInt(i+1, glua.LString(key))
		attr.RawSetString(key, glua.LString(a.value))
	}

	p.take(size)
	if !empty {
		p.open = append(p.open, openTag{raw: name, ns: ns})
	}
	p.call(L, "StartElement", glua.LString(tagname), attr)
	if empty && !p.stopped {
		p.count = 0
		if len(p.open) == 0 {
			p.rootDone = true
		}
		p.call(L, "EndElement", glua.LString(tagname))
	}
	return ""
}

func (p *xmlParser) endTag(L *glua.LState, body string, size int) string {
	name, rest := xmlName(body)
	if strings.Trim(rest, " \t\r\n") != "" {
		return "not well-formed (invalid token)"
	}
	if len(p.open) == 0 {
		if p.rootDone {
			return "junk after document element"
		}
		return "syntax error"
	}
	top := p.open[len(p.open)-1]
	if name != top.raw {
		return "mismatched tag"
	}
	uri, local := "", name
	if prefix, l, found := strings.Cut(name, ":"); found {
		uri, local = top.ns[prefix], l
	} else {
		uri = top.ns[""]
	}
	tagname := local
	if uri != "" {
		tagname = uri + p.sep + local
	}
	p.take(size)
	p.open = p.open[:len(p.open)-1]
	if len(p.open) == 0 {
		p.rootDone = true
	}
	p.call(L, "EndElement", glua.LString(tagname))
	return ""
}
