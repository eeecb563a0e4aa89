package roster_test

import (
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/roster"
	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// packedRoster packs the roster a Lua chunk returns, flat, as the runtime
// does before it edits a roster in Go.
func packedRoster(t *testing.T, L *glua.LState, chunk string) *roster.Packed {
	t.Helper()
	if err := L.DoString(chunk); err != nil {
		t.Fatal(err)
	}
	data, ok := storagememory.PackFlat(L, L.Get(-1))
	L.Pop(1)
	if !ok {
		t.Fatal("not packable flat")
	}
	p, ok := roster.ParsePacked(data)
	if !ok {
		t.Fatal("not a plain packed roster")
	}
	return p
}

// unpacked runs check (a Lua function body with the roster as r) on p's
// bytes unpacked by modhost.pack, and fails with what it returns.
func unpacked(t *testing.T, L *glua.LState, p *roster.Packed, check string) {
	t.Helper()
	v, err := storagememory.Unpack(L, glua.LString(p.Data()))
	if err != nil {
		t.Fatalf("the edited roster does not unpack: %v", err)
	}
	fn, err := L.LoadString("local r = ...; " + check)
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	L.Push(v)
	if err := L.PCall(1, 1, nil); err != nil {
		t.Fatal(err)
	}
	if msg := L.Get(-1); msg != glua.LNil {
		t.Error(msg.String())
	}
	L.Pop(1)
}

func TestPackedRosterEditsKeepWhatUnpackingShows(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	p := packedRoster(t, L, `return {
		[false] = { version = 4, pending = { ["x@example.com"] = true }, extra = "kept" };
		["bob@example.com"] = { name = "Bob", subscription = "both", groups = { Work = true, Friends = true } };
		["carol@example.com"] = { subscription = "none", ask = "subscribe", groups = {} };
		["dave@example.com"] = { subscription = "to", groups = { Chess = true }, approved = true };
	}`)
	if p.Len() != 3 || p.Version() != "4" {
		t.Fatalf("%d contacts, version %q", p.Len(), p.Version())
	}
	for i := range p.Len() {
		it, ok := p.Item(i)
		if !ok {
			t.Fatalf("%s: not read", p.JID(i))
		}
		switch p.JID(i) {
		case "bob@example.com":
			if it.Name != "Bob" || it.Subscription != "both" || len(it.Groups) != 2 || it.Groups[0] != "Friends" {
				t.Errorf("bob read as %+v", it)
			}
			same, _ := p.Same(i, &roster.Item{Name: "Bob", Subscription: "both", Groups: []string{"Friends", "Work"}}, nil)
			other, _ := p.Same(i, &roster.Item{Name: "Bob", Subscription: "both", Groups: []string{"Work"}}, nil)
			if !same || other {
				t.Errorf("bob the same as himself %v, as with one group less %v", same, other)
			}
		case "carol@example.com":
			if it.Ask != "subscribe" || it.Subscription != "none" {
				t.Errorf("carol read as %+v", it)
			}
		}
	}
	next := p.With([]roster.Change{
		{JID: "carol@example.com"},
		{JID: "erin@example.com", Item: &roster.Item{Name: "Erin", Subscription: "both", Groups: []string{"Family"}}},
		{JID: "bob@example.com", Item: &roster.Item{Subscription: "both"}},
	})
	if next.Len() != 3 || next.Version() != "5" {
		t.Errorf("after the change: %d contacts, version %q", next.Len(), next.Version())
	}
	unpacked(t, L, next, `
		if r["carol@example.com"] ~= nil then return "carol not removed"; end
		local e = r["erin@example.com"];
		if not (e and e.name == "Erin" and e.subscription == "both" and e.groups.Family) then return "erin not added"; end
		local b = r["bob@example.com"];
		if not (b and b.name == nil and next(b.groups) == nil) then return "bob not changed"; end
		local d = r["dave@example.com"];
		if not (d and d.approved == true and d.groups.Chess and d.subscription == "to") then return "dave not kept as he was"; end
		local m = r[false];
		if not (m.version == 5 and m.pending["x@example.com"] and m.extra == "kept") then return "metadata not kept"; end
	`)
	// The edited bytes are as plain as the first: edited again, the same.
	again, ok := roster.ParsePacked(next.Data())
	if !ok || again.With(nil).Len() != 3 {
		t.Fatal("edited roster not editable again")
	}
}

func TestPackedRosterWithoutMetadataGetsIt(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	p := packedRoster(t, L, `return {}`)
	next := p.With([]roster.Change{{JID: "a@example.com", Item: &roster.Item{Subscription: "both"}}})
	unpacked(t, L, next, `
		if not (r[false] and r[false].version == 1 and type(r[false].pending) == "table") then return "no metadata"; end
		if not r["a@example.com"] then return "no contact"; end
	`)
}

func TestPackedRosterRefusesWhatItCannotEdit(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	for _, chunk := range []string{
		`return { [1] = "array part" }`,
		`return { [42] = { subscription = "both" } }`,
		`local g = { Work = true }; return { ["a@x"] = { groups = g }, ["b@x"] = { groups = g } }`,
	} {
		if err := L.DoString(chunk); err != nil {
			t.Fatal(err)
		}
		v := L.Get(-1)
		L.Pop(1)
		if data, ok := storagememory.PackFlat(L, v); ok {
			if _, ok := roster.ParsePacked(data); ok {
				t.Errorf("%s: edited in Go", chunk)
			}
		}
		// Packed by Lua (the shared table by a back reference), neither.
		if s, ok := storagememory.Pack(L, v).(glua.LString); ok {
			if _, ok := roster.ParsePacked(string(s)); ok {
				t.Errorf("%s: packed by Lua, edited in Go", chunk)
			}
		}
	}
}

// hundredContacts is a packed hundred-contact roster, as the benchmarks'
// refreshes find it.
func hundredContacts(b *testing.B) string {
	L := glua.NewState()
	defer L.Close()
	chunk := `local r = { [false] = { version = 7 } }
		for i = 1, 100 do
			r["contact" .. i .. "@example.com"] = { name = "Contact " .. i, subscription = "both", groups = { Friends = true } }
		end
		return r`
	if err := L.DoString(chunk); err != nil {
		b.Fatal(err)
	}
	data, ok := storagememory.PackFlat(L, L.Get(-1))
	if !ok {
		b.Fatal("not packable flat")
	}
	return data
}

// BenchmarkParsePacked reads a hundred-contact roster as a refresh does
// before it compares it with the application's answer.
func BenchmarkParsePacked(b *testing.B) {
	data := hundredContacts(b)
	b.ReportAllocs()
	for b.Loop() {
		if p, ok := roster.ParsePacked(data); !ok || p.Len() != 100 {
			b.Fatal("not read")
		}
	}
}

// BenchmarkPackedWith makes the roster a refresh leaves: one contact of a
// hundred renamed.
func BenchmarkPackedWith(b *testing.B) {
	p, ok := roster.ParsePacked(hundredContacts(b))
	if !ok {
		b.Fatal("not read")
	}
	changes := []roster.Change{{JID: "contact50@example.com",
		Item: &roster.Item{Name: "Renamed", Subscription: "both", Groups: []string{"Friends"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if next := p.With(changes); next.Len() != 100 {
			b.Fatal("contacts lost")
		}
	}
}
