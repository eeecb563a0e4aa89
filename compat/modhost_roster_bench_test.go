package compat

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
		if _, _, reason := r.read(body, "user@example.com", null, mt, false); reason != "" {
			b.Fatal(reason)
		}
	}
}

func BenchmarkRosterDiff(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	null := L.NewTable()
	mt := L.NewTable()
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	current, _, _ := r.read(benchRosterBody(100, 1), "user@example.com", null, mt, true)
	wanted, _, _ := r.read(benchRosterBody(100, 2), "user@example.com", null, mt, true)
	diff := L.NewFunction(diffRosters)
	for b.Loop() {
		if err := L.CallByParam(glua.P{Fn: diff, NRet: 3, Protect: true}, current.(*glua.LTable), wanted.(*glua.LTable)); err != nil {
			b.Fatal(err)
		}
		L.Pop(3)
	}
}

func BenchmarkRosterDiffNative(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	null := L.NewTable()
	mt := L.NewTable()
	r := &rosterReader{jids: map[string]checkedJID{}, texts: map[string]string{}}
	current, _, _ := r.read(benchRosterBody(100, 1), "user@example.com", null, mt, true)
	wanted, _, _ := r.read(benchRosterBody(100, 2), "user@example.com", null, mt, false)
	ud := L.NewUserData()
	ud.Value = wanted
	ud.Metatable = nativeRosterMeta(L)
	diff := L.NewFunction(diffRosters)
	for b.Loop() {
		if err := L.CallByParam(glua.P{Fn: diff, NRet: 3, Protect: true}, current.(*glua.LTable), ud); err != nil {
			b.Fatal(err)
		}
		L.Pop(3)
	}
}
