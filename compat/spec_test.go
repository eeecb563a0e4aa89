package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// specResult is one it() of a spec file run by testdata/minibusted.lua.
type specResult struct {
	name string
	err  string // empty when the test passed
}

// runSpec runs compat/spec/<file> with the minimal busted stand-in and
// returns its results. The same files run under real busted against
// Prosody's libraries, which is how they are checked for correctness.
func runSpec(t *testing.T, file string) []specResult {
	t.Helper()
	runner, err := os.ReadFile(filepath.Join("testdata", "minibusted.lua"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join("spec", file))
	if err != nil {
		t.Fatal(err)
	}
	var results []specResult
	l := newLoop(t)
	err = l.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, string(runner), "testdata/minibusted.lua", 1)
		if err != nil {
			return err
		}
		chunk, err := L.Load(strings.NewReader(string(spec)), "@spec/"+file)
		if err != nil {
			return err
		}
		out, err := lua.Call(L, rets[0], 1, chunk)
		if err != nil {
			return err
		}
		out[0].(*glua.LTable).ForEach(func(_, v glua.LValue) {
			r := v.(*glua.LTable)
			res := specResult{name: r.RawGetString("name").String()}
			if msg, ok := r.RawGetString("err").(glua.LString); ok {
				res.err = string(msg)
			}
			results = append(results, res)
		})
		return nil
	})
	if err != nil {
		t.Fatalf("running %s: %v", file, err)
	}
	return results
}

// TestSpecs runs every spec this helper wrote; each it() becomes a subtest.
func TestSpecs(t *testing.T) {
	for _, file := range []string{
		"util_stanza_spec.lua",
		"util_xml_spec.lua",
		"util_set_spec.lua",
		"util_array_spec.lua",
		"util_iterators_spec.lua",
	} {
		t.Run(file, func(t *testing.T) {
			results := runSpec(t, file)
			if len(results) < 5 {
				t.Fatalf("only %d results: the spec did not run", len(results))
			}
			for _, r := range results {
				t.Run(r.name, func(t *testing.T) {
					if r.err != "" {
						t.Error(r.err)
					}
				})
			}
		})
	}
}
