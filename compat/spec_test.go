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

// specResult is one `it` of a spec file run by testdata/minibusted.lua.
type specResult struct {
	name, err string
}

// runSpec runs a compat/spec file in a fresh loop with the minimal busted
// stand-in and returns the outcome of each test.
func runSpec(t *testing.T, file string) []specResult {
	t.Helper()
	shim, err := os.ReadFile("testdata/minibusted.lua")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var results []specResult
	l := newLoop(t)
	err = l.Do(context.Background(), func(L *glua.LState) error {
		runner, err := lua.DoChunk(L, string(shim), "testdata/minibusted.lua", 1)
		if err != nil {
			return err
		}
		chunk, err := L.Load(strings.NewReader(string(spec)), "@"+file)
		if err != nil {
			return err
		}
		rets, err := lua.Call(L, runner[0], 1, chunk)
		if err != nil {
			return err
		}
		rets[0].(*glua.LTable).ForEach(func(_, v glua.LValue) {
			r := v.(*glua.LTable)
			results = append(results, specResult{name: r.RawGetString("name").String()})
			if e := r.RawGetString("err"); e != glua.LNil {
				results[len(results)-1].err = e.String()
			}
		})
		return nil
	})
	if err != nil {
		t.Fatalf("running %s: %v", file, err)
	}
	return results
}

// TestSpecsPassInModhost runs this helper's spec files against modhost's
// libraries in gopher-lua, the same files that pass under busted against
// Prosody's own.
func TestSpecsPassInModhost(t *testing.T) {
	for _, name := range []string{
		"util_cache_spec.lua", "util_error_spec.lua", "util_datetime_spec.lua",
		"util_id_spec.lua", "util_uuid_spec.lua", "util_logger_spec.lua",
		"util_timer_spec.lua", "util_hex_spec.lua", "util_queue_spec.lua",
		"util_random_spec.lua", "util_time_spec.lua",
	} {
		t.Run(name, func(t *testing.T) {
			results := runSpec(t, filepath.Join("spec", name))
			if len(results) == 0 {
				t.Fatal("no tests ran")
			}
			for _, r := range results {
				t.Run(r.name, func(t *testing.T) {
					if strings.Contains(r.err, "module util.stanza not found") {
						t.Skip("util.stanza is not on this branch")
					}
					if r.err != "" {
						t.Error(r.err)
					}
				})
			}
		})
	}
}
