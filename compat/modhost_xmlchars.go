package compat

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// openXMLChars pushes modhost.xmlchars, the character checks and escaping
// util.stanza runs on every name, attribute and text. They are the same
// rules as its Lua fallbacks, in Go because gopher-lua compiles a Lua pattern
// on every string.find and these run several times per element. Not a
// Prosody library: plugins have no reason to require it.
func openXMLChars(L *glua.LState) int {
	mod := L.NewTable()
	mod.RawSetString("name_problem", L.NewFunction(func(L *glua.LState) int {
		kind := "tag"
		if L.ToBool(2) {
			kind = "attribute"
		}
		return pushProblem(L, checkName(L.CheckString(1), kind))
	}))
	mod.RawSetString("text_problem", L.NewFunction(func(L *glua.LState) int {
		return pushProblem(L, checkText(L.CheckString(1), "text"))
	}))
	// element(name, attr, namespaces, mt): a new stanza table sized for
	// what it holds. Built from {} in Lua, the element's child list and its
	// tags list would each reserve 32 slots on their first append, and an
	// empty attr table 32 keys on its first attribute: most of a small
	// stanza's allocation.
	mod.RawSetString("element", L.NewFunction(func(L *glua.LState) int {
		el := L.CreateTable(2, 5) // children; name, attr, namespaces, tags, last_add
		el.RawSetString("name", L.Get(1))
		attr := L.Get(2)
		if attr == glua.LNil {
			attr = L.CreateTable(0, 4)
		}
		el.RawSetString("attr", attr)
		if ns := L.Get(3); ns != glua.LNil {
			el.RawSetString("namespaces", ns)
		}
		el.RawSetString("tags", L.CreateTable(2, 0))
		el.Metatable = L.Get(4)
		L.Push(el)
		return 1
	}))
	mod.RawSetString("escape", L.NewFunction(func(L *glua.LState) int {
		s := L.CheckString(1)
		if strings.ContainsAny(s, `'"<>&`) {
			s = xmlEscaper.Replace(s)
		}
		L.Push(glua.LString(s))
		return 1
	}))
	L.Push(mod)
	return 1
}

// pushProblem pushes nil for no error, or the error message; util.stanza
// adds its own prefix, so only the part after the name kind is given.
func pushProblem(L *glua.LState, err error) int {
	if err == nil {
		L.Push(glua.LNil)
		return 1
	}
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		msg = rest
	}
	L.Push(glua.LString(msg))
	return 1
}

// xmlEscaper escapes the five characters util.stanza escapes, with the
// same entities.
var xmlEscaper = strings.NewReplacer("'", "&apos;", `"`, "&quot;", "<", "&lt;", ">", "&gt;", "&", "&amp;")
