package rosteradmin

import (
	"fmt"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

func benchRosterBody(contacts int, version int) string {
	var b strings.Builder
	b.WriteByte('{')
	for k := range contacts {
		if k > 0 {
			b.WriteByte(',')
		}
		name := fmt.Sprintf("Contact %d", k)
		if k == version%contacts {
			name += fmt.Sprintf(" v%d", version)
		}
		fmt.Fprintf(&b, `"contact%03d@example.net":{"name":%q,"groups":["Bench"]}`, k, name)
	}
	b.WriteByte('}')
	return b.String()
}

func BenchmarkRosterRead(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	null := L.NewTable()
	mt := L.NewTable()
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	body := benchRosterBody(100, 1)
	for b.Loop() {
		if _, _, reason := r.read(body, "user@example.com", null, mt, false, 0); reason != "" {
			b.Fatal(reason)
		}
	}
}

// benchDiffSetup reads a stored roster and the next fetch of it, the
// latter with entries (a table) or without (the native reader's handle).
func benchDiffSetup(b *testing.B, native bool) (*glua.LState, *glua.LTable, glua.LValue) {
	L := glua.NewState()
	b.Cleanup(L.Close)
	null := L.NewTable()
	mt := L.NewTable()
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	current, _, _ := r.read(benchRosterBody(100, 1), "user@example.com", null, mt, true, 0)
	wanted, _, _ := r.read(benchRosterBody(100, 2), "user@example.com", null, mt, !native, 0)
	if n, ok := wanted.(*nativeRoster); ok {
		ud := L.NewUserData()
		ud.Value = n
		ud.Metatable = nativeRosterMeta(L)
		return L, current.(*glua.LTable), ud
	}
	return L, current.(*glua.LTable), wanted.(*glua.LTable)
}

func benchmarkDiff(b *testing.B, native bool) {
	L, current, wanted := benchDiffSetup(b, native)
	diff := L.NewFunction(diffRosters)
	for b.Loop() {
		if err := L.CallByParam(glua.P{Fn: diff, NRet: 3, Protect: true}, current, wanted); err != nil {
			b.Fatal(err)
		}
		L.Pop(3)
	}
}

func BenchmarkRosterDiff(b *testing.B)       { benchmarkDiff(b, false) }
func BenchmarkRosterDiffNative(b *testing.B) { benchmarkDiff(b, true) }
