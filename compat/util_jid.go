package compat

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// util.jid as Prosody 0.12 has it. split is purely syntactic: node is the run
// before the first '@' (containing no '/'), host the run after it up to '/',
// resource everything after that '/'; any other shape (empty parts, a second
// '@' in the domain part, a trailing '/') is not a JID. prep applies
// nameprep, nodeprep and resourceprep (util.encodings, RFC 3920 appendixes
// A and B), which also enforce the 1023-byte limit per part. escape and
// unescape are XEP-0106.

// jidParts holds a split JID; a part is absent when its has flag is false.
type jidParts struct {
	node, host, resource string
	hasNode, hasResource bool
}

// splitJID returns ok false where Prosody's split returns nils.
func splitJID(j string) (p jidParts, ok bool) {
	rest := j
	if at := strings.IndexAny(j, "@/"); at > 0 && j[at] == '@' {
		p.node, p.hasNode = j[:at], true
		rest = j[at+1:]
	}
	end := strings.IndexAny(rest, "@/")
	if end < 0 {
		end = len(rest)
	}
	if end == 0 {
		return jidParts{}, false
	}
	p.host = rest[:end]
	rest = rest[end:]
	if rest == "" {
		return p, true
	}
	if rest[0] != '/' || len(rest) == 1 {
		return jidParts{}, false
	}
	p.resource, p.hasResource = rest[1:], true
	return p, true
}

func (p jidParts) join() string {
	var b strings.Builder
	b.Grow(len(p.node) + len(p.host) + len(p.resource) + 2)
	if p.hasNode {
		b.WriteString(p.node)
		b.WriteByte('@')
	}
	b.WriteString(p.host)
	if p.hasResource {
		b.WriteByte('/')
		b.WriteString(p.resource)
	}
	return b.String()
}

// prepJID is prepped_split: it strips one trailing '.' from the host (the
// root label) and applies the three profiles; ok is false if any fails or
// the host is ".".
//
// Deliberate difference from Prosody 0.12: a part that the profiles map to
// nothing (U+00AD, U+200B, … are mapped away), or a host still ending in '.'
// (an empty label: "x@y.." or "x@y.­"), is refused. Prosody returns
// "a@b/", "@b" or "x@y." there: strings that are not JIDs (RFC 7622 §3.3,
// §3.4: parts are never empty) and that its own prep then refuses or changes,
// so a prepped JID could fail to be one.
func prepJID(j string, strict bool) (jidParts, bool) {
	p, ok := splitJID(j)
	if !ok || p.host == "." {
		return jidParts{}, false
	}
	p.host = strings.TrimSuffix(p.host, ".")
	if p.host, ok = nameprepProfile.prepare(p.host, strict); !ok || p.host == "" || strings.HasSuffix(p.host, ".") {
		return jidParts{}, false
	}
	if p.hasNode {
		if p.node, ok = nodeprepProfile.prepare(p.node, strict); !ok || p.node == "" {
			return jidParts{}, false
		}
	}
	if p.hasResource {
		if p.resource, ok = resourceprepProfile.prepare(p.resource, strict); !ok || p.resource == "" {
			return jidParts{}, false
		}
	}
	return p, true
}

// jidArg returns argument n as a string; nil means "no JID" (ok false).
// Numbers are accepted as Lua's string functions accept them.
func jidArg(L *glua.LState, n int) (string, bool) {
	v := L.Get(n)
	if v == glua.LNil {
		return "", false
	}
	return L.CheckString(n), true
}

func optString(s string, present bool) glua.LValue {
	if !present {
		return glua.LNil
	}
	return glua.LString(s)
}

func pushParts(L *glua.LState, p jidParts) int {
	L.Push(optString(p.node, p.hasNode))
	L.Push(glua.LString(p.host))
	L.Push(optString(p.resource, p.hasResource))
	return 3
}

// strictArg passes Prosody's "strict" flag on as util.encodings takes it.
func strictArg(L *glua.LState, n int) bool {
	if L.Get(n) == glua.LNil {
		return false
	}
	return bool(L.CheckBool(n))
}

var (
	// XEP-0106 section 3.2: the characters escaped and their escapes.
	jidEscapes = map[byte]string{
		' ': `\20`, '"': `\22`, '&': `\26`, '\'': `\27`, '/': `\2f`,
		':': `\3a`, '<': `\3c`, '>': `\3e`, '@': `\40`, '\\': `\5c`,
	}
	jidUnescapes = func() map[string]byte {
		m := map[string]byte{}
		for c, esc := range jidEscapes {
			m[esc] = c
		}
		return m
	}()
)

// escapeJIDNode escapes per XEP-0106: the listed characters, and a backslash
// only where it starts one of the escape sequences (so "\5c" itself
// round-trips); other backslashes stay.
func escapeJIDNode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 <= len(s) {
			if _, isEscape := jidUnescapes[s[i:i+3]]; isEscape {
				b.WriteString(`\5c`)
				continue
			}
		}
		if esc, ok := jidEscapes[c]; ok && c != '\\' {
			b.WriteString(esc)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unescapeJIDNode(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 <= len(s) {
			if c, ok := jidUnescapes[s[i:i+3]]; ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// concatArg is a join argument: absent when nil, else a string or number as
// Lua's '..' takes it.
func concatArg(L *glua.LState, n int) (string, bool) {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return "", false
	case glua.LString:
		return string(v), true
	case glua.LNumber:
		return v.String(), true
	default:
		L.RaiseError("attempt to concatenate a %s value", v.Type())
		return "", false
	}
}

func openUtilJID(L *glua.LState) int {
	part := func(pick func(jidParts) (string, bool)) glua.LGFunction {
		return func(L *glua.LState) int {
			j, ok := jidArg(L, 1)
			if !ok {
				L.Push(glua.LNil)
				return 1
			}
			p, ok := splitJID(j)
			if !ok {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(optString(pick(p)))
			return 1
		}
	}
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"split": func(L *glua.LState) int {
			j, ok := jidArg(L, 1)
			if !ok {
				return 0
			}
			p, ok := splitJID(j)
			if !ok {
				L.Push(glua.LNil)
				L.Push(glua.LNil)
				L.Push(glua.LNil)
				return 3
			}
			return pushParts(L, p)
		},
		"bare": part(func(p jidParts) (string, bool) {
			p.hasResource = false
			return p.join(), true
		}),
		"node":     part(func(p jidParts) (string, bool) { return p.node, p.hasNode }),
		"host":     part(func(p jidParts) (string, bool) { return p.host, true }),
		"resource": part(func(p jidParts) (string, bool) { return p.resource, p.hasResource }),
		"prepped_split": func(L *glua.LState) int {
			j, ok := jidArg(L, 1)
			if !ok {
				return 0
			}
			p, ok := prepJID(j, strictArg(L, 2))
			if !ok {
				return 0
			}
			return pushParts(L, p)
		},
		"prep": func(L *glua.LState) int {
			// Like Prosody, no value at all (not nil) for an invalid JID.
			j, ok := jidArg(L, 1)
			if !ok {
				return 0
			}
			p, ok := prepJID(j, strictArg(L, 2))
			if !ok {
				return 0
			}
			L.Push(glua.LString(p.join()))
			return 1
		},
		"join": func(L *glua.LState) int {
			var p jidParts
			var hasHost bool
			p.node, p.hasNode = concatArg(L, 1)
			p.host, hasHost = concatArg(L, 2)
			p.resource, p.hasResource = concatArg(L, 3)
			if !hasHost {
				return 0
			}
			L.Push(glua.LString(p.join()))
			return 1
		},
		"compare": func(L *glua.LState) int {
			j, _ := jidArg(L, 1)
			acl, _ := jidArg(L, 2)
			// A part missing from the rule matches anything; a present
			// one must equal the JID's (which must be present too).
			jp, _ := splitJID(j)
			ap, _ := splitJID(acl)
			match := (!ap.hasNode || jp.hasNode && ap.node == jp.node) &&
				(ap.host == "" || ap.host == jp.host) &&
				(!ap.hasResource || jp.hasResource && ap.resource == jp.resource)
			L.Push(glua.LBool(match))
			return 1
		},
		"escape":   nodeStringFunc(escapeJIDNode),
		"unescape": nodeStringFunc(unescapeJIDNode),
	})
	L.Push(mod)
	return 1
}

// nodeStringFunc makes escape/unescape: nil and false pass through
// unchanged, as in Prosody; anything else must be a string.
func nodeStringFunc(f func(string) string) glua.LGFunction {
	return func(L *glua.LState) int {
		v := L.Get(1)
		if !glua.LVAsBool(v) {
			L.Push(v)
			return 1
		}
		L.Push(glua.LString(f(L.CheckString(1))))
		return 1
	}
}
