package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// A table whose keys come and go keeps every one of them in gopher-lua
// v1.1.2; KeysOf counts them and DeadKeys finds the table by its path,
// also behind a function's upvalue. If a later gopher-lua forgets deleted
// keys, the first check fails and the note in tablekeys.go is out of date.
func TestDeadKeysFindsTablesThatRememberDeletedKeys(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	if err := L.DoString(`
		churned = {}
		for i = 1, 300 do churned["iq" .. i] = true; churned["iq" .. i] = nil end
		churned.kept = true
		local hidden = {}
		for i = 1, 200 do hidden[i + 0.5] = i; hidden[i + 0.5] = nil end
		function reads_hidden() return hidden end
		steady = {}
		for i = 1, 300 do steady.same = i; steady.same = nil end
	`); err != nil {
		t.Fatal(err)
	}
	churned := L.GetGlobal("churned").(*glua.LTable)
	if got := KeysOf(churned); got != (KeyCount{Recorded: 301, Live: 1}) {
		t.Fatalf("KeysOf(churned) = %+v, want 301 recorded, 1 live", got)
	}
	found := DeadKeys(L, 100)
	if len(found) != 2 {
		t.Fatalf("DeadKeys found %+v, want churned and the upvalue", found)
	}
	if found[0].Table != churned || found[0].Dead() != 300 || !strings.HasSuffix(found[0].Path, ".churned") {
		t.Errorf("first: %s with %+v, want _G.churned with 300 dead", found[0].Path, found[0].KeyCount)
	}
	if found[1].Dead() != 200 || !strings.HasSuffix(found[1].Path, ".reads_hidden<hidden>") {
		t.Errorf("second: %s with %+v, want reads_hidden's upvalue hidden with 200 dead", found[1].Path, found[1].KeyCount)
	}
	for _, f := range DeadKeys(L, 1) {
		if strings.HasSuffix(f.Path, ".steady") && f.Dead() != 1 {
			t.Errorf("steady, one key set and cleared 300 times, counted %+v", f.KeyCount)
		}
	}
}
