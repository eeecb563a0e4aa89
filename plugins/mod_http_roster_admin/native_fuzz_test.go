package rosteradmin

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// FuzzRosterReaderWays reads every body both ways the native reader can:
// scanned straight into Go values (the shape applications write) and
// through util.json's decoder with the general checks. Both must give the
// same roster, entries and failure reason; the plugin's own Lua reader is
// compared with these in plugins' FuzzBackendRoster.
func FuzzRosterReaderWays(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` {"a@b.c":{}} `, `{"a@b.c":{"name":"A","groups":["x","x",""]},"me@h.x":{"name":null}}`,
		`{"A@B.C":{"groups":null},"a@b.c":{"name":"dup"}}`, `{"a@b.c":{"name":"\u0041"}}`,
		`{"a@b.c":{"name":1}}`, `{"a@b.c/r":{}}`, `{"a@b.c":{"groups":["\u0001"]}}`, `{"a@b.c":{},}`,
		`{"a@b.c":{"groups":[]},"d@e.f":{"name":"","groups":["g"]}}`, "{\"a@b.c\":{\"name\":\"\xff\"}}",
		`{"__array":[]}`, `[]`, `{"a@b.c":{"x":1}}`, `{"a@b.c":[]}`,
		`{"a@b.c":{"groups":{"Friends":true,"Work":true}}}`, `{"a@b.c":{"groups":{}}}`,
		`{"a@b.c":{"groups":{"G":1,"H":null,"":true}}}`, `{"a@b.c":{"groups":{"G":true,"G":true}}}`,
		`{"a@b.c":{"groups":"Friends"}}`, `{"a@b.c":{"groups":{"\u0001":true}}}`,
	} {
		f.Add(seed)
	}
	L := glua.NewState()
	defer L.Close()
	null, arrayMT := L.NewTable(), L.NewTable()
	fast := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	general := &rosterReader{generalOnly: true, jids: map[string]checkedJID{}, texts: map[string]string{}}
	f.Fuzz(func(t *testing.T, body string) {
		for _, withEntries := range []bool{false, true} {
			r1, e1, why1 := fast.read(body, "me@h.x", null, arrayMT, withEntries, 0)
			r2, e2, why2 := general.read(body, "me@h.x", null, arrayMT, withEntries, 0)
			if why1 != why2 {
				t.Fatalf("%q: scanned fails %q, decoded fails %q", body, why1, why2)
			}
			if why1 != "" {
				continue
			}
			if a, b := rosterText(r1), rosterText(r2); a != b {
				t.Fatalf("%q (entries %v):\nscanned %s\ndecoded %s", body, withEntries, a, b)
			}
			if (e1 == nil) != (e2 == nil) {
				t.Fatalf("%q: entries scanned %v, decoded %v", body, e1 != nil, e2 != nil)
			}
			if e1 == nil {
				continue
			}
			if a, b := luaText(e1, null, arrayMT), luaText(e2, null, arrayMT); a != b {
				t.Fatalf("%q entries:\nscanned %s\ndecoded %s", body, a, b)
			}
		}
	})
}

// rosterText writes a read roster (a table or a nativeRoster) one sorted
// line per contact.
func rosterText(roster any) string {
	var lines []string
	switch r := roster.(type) {
	case *nativeRoster:
		roster = r.table()
	}
	roster.(*glua.LTable).ForEach(func(jid, item glua.LValue) {
		it := item.(*glua.LTable)
		var groups []string
		it.RawGetString("groups").(*glua.LTable).ForEach(func(g, v glua.LValue) {
			groups = append(groups, fmt.Sprintf("%s=%s", g, v))
		})
		slices.Sort(groups)
		lines = append(lines, fmt.Sprintf("%s name=%s sub=%s groups=%s", jid, it.RawGetString("name"), it.RawGetString("subscription"), strings.Join(groups, ",")))
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// luaText writes a decoded value canonically, naming the null sentinel and
// arrays.
func luaText(v glua.LValue, null *glua.LTable, arrayMT glua.LValue) string {
	t, ok := v.(*glua.LTable)
	switch {
	case v == glua.LValue(null):
		return "null"
	case !ok:
		return fmt.Sprintf("%s:%s", v.Type(), v)
	}
	var parts []string
	t.ForEach(func(k, v glua.LValue) {
		parts = append(parts, fmt.Sprintf("%s:%s=%s", k.Type(), k, luaText(v, null, arrayMT)))
	})
	slices.Sort(parts)
	kind := "object"
	if t.Metatable == arrayMT {
		kind = "array"
	}
	return kind + "{" + strings.Join(parts, ",") + "}"
}

// A roster applied gives its index back; applied again (logins sharing one
// fetch do that), it finds every contact as before, and an index given back
// holds nothing of it.
func TestNativeRosterFindsItsContactsAfterItsIndexIsGivenBack(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	read, _, why := r.read(`{"a@b.c":{"name":"A","groups":["G"]},"d@e.f":{},"A@B.C":{"name":"Again"}}`, "me@h.x", L.NewTable(), L.NewTable(), false, 0)
	n, ok := read.(*nativeRoster)
	if why != "" || !ok {
		t.Fatalf("read: %T %q", read, why)
	}
	show := func() string {
		var out []string
		for _, jid := range []string{"a@b.c", "d@e.f", "x@y.z"} {
			if it := n.item(jid); it != nil {
				out = append(out, fmt.Sprintf("%s=%s|%s", it.jid, it.name, strings.Join(it.groups, ",")))
			} else {
				out = append(out, jid+" missing")
			}
		}
		return strings.Join(out, " ")
	}
	const want = "a@b.c=Again| d@e.f=| x@y.z missing" // the last of a JID given twice counts
	if got := show(); got != want {
		t.Fatalf("before: %s, want %s", got, want)
	}
	given := n.index
	n.release()
	if len(given) != 0 || n.index != nil {
		t.Fatalf("index given back holds %v, roster keeps %v", given, n.index)
	}
	if got := show(); got != want {
		t.Errorf("after: %s, want %s", got, want)
	}
}
