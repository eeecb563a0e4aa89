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
	spec, err := os.ReadFile(filepath.Join("spec", file))
	if err != nil {
		t.Fatal(err)
	}
	return runSpecSource(t, file, string(spec))
}

// runSpecSource runs spec source code, named file in messages.
func runSpecSource(t *testing.T, file, spec string) []specResult {
	t.Helper()
	runner, err := os.ReadFile(filepath.Join("testdata", "minibusted.lua"))
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
		chunk, err := L.Load(strings.NewReader(spec), "@spec/"+file)
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

// TestMiniBustedReportsFailures guards TestSpecs against passing vacuously:
// every failing assertion form the specs use must come back as a failure,
// and the passing forms as passes.
func TestMiniBustedReportsFailures(t *testing.T) {
	spec := `
describe("d", function ()
	-- A table, not a local number: gopher-lua closes the upvalues of live
	-- frames when an error is raised, so a counter local would diverge.
	local count = { n = 0 }
	before_each(function () count.n = count.n + 1 end)
	it("equal", function () assert.are.equal(1, 2) end)
	it("same", function () assert.are.same({ 1 }, { 2 }) end)
	it("truthy", function () assert.truthy(false) end)
	it("falsy", function () assert.falsy(1) end)
	it("is_nil", function () assert.is_nil(0) end)
	it("is_table", function () assert.is_table("x") end)
	it("is_string", function () assert.is_string(1) end)
	it("matches", function () assert.matches("^a", "ba") end)
	it("error_matches", function () assert.error_matches(function () error("x") end, "y") end)
	it("error_matches without error", function () assert.error_matches(function () end, "y") end)
	it("has_error", function () assert.has_error(function () end) end)
	it("are_not.equal", function () assert.are_not.equal(1, 1) end)
	it("plain error", function () error("boom") end)
	it("before_each ran", function () assert.are.equal(100, count.n) end)
	it("pass", function ()
		assert.are.equal(1, 1); assert.are.same({ a = { 1 } }, { a = { 1 } }); assert.truthy(0)
		assert.falsy(nil); assert.is_nil(nil); assert.is_table({}); assert.matches("b", "abc")
		assert.error_matches(function () error("xyz") end, "y"); assert.has_error(function () error("e") end)
		assert.has_error(function () error("exact") end, "exact"); assert.are_not.equal(1, 2)
		assert.are.equal(15, count.n)
	end)
end)`
	results := runSpecSource(t, "inline", spec)
	if len(results) != 15 {
		t.Fatalf("got %d results, want 15: %v", len(results), results)
	}
	for _, r := range results[:14] {
		if r.err == "" {
			t.Errorf("%s: passed, want a failure", r.name)
		}
	}
	if last := results[14]; last.err != "" {
		t.Errorf("%s: %s", last.name, last.err)
	}
}
