// Package busted runs busted-style spec files (describe/it, luassert's
// assert, spies, stubs and matchers) inside a modhost Lua loop, so specs
// written for busted run unchanged against modhost's runtime. It is what
// `modhost test` runs.
//
// The Lua side lives in runner.lua (the suite walker) and luassert.lua (the
// assertions); this file finds the spec files, starts the runner on the loop
// and waits for it, and report.go prints what happened.
package busted

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

//go:embed runner.lua
var runnerSource string

//go:embed luassert.lua
var luassertSource string

// Options say which specs to run and how.
type Options struct {
	// Paths are spec files or folders searched recursively for files whose
	// name ends in Pattern + ".lua". Files named directly always run.
	Paths []string
	// Filter and FilterOut are Lua patterns matched against a test's full
	// name (its describe names and its own, joined by spaces), as busted's
	// --filter and --filter-out.
	Filter, FilterOut string
	// Pattern is the spec file name suffix; "" means "_spec".
	Pattern string
	// ExcludeTags skips tests whose full name carries #tag for one of these
	// tags. nil means []string{DefaultExcludeTag}; an empty non-nil slice excludes
	// nothing.
	ExcludeTags []string
	// Timeout bounds each test, hook or describe body that waits; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Out receives the progress and the report; nil discards them.
	Out io.Writer
	// Verbose prints one line per test instead of one character.
	Verbose bool
	// Output is the report's format: "" or "plain" (busted's plain
	// terminal layout), or "json" (one document with every result, for
	// tools: see report.go).
	Output string
}

// DefaultTimeout is how long a test may wait before it is reported as an error.
const DefaultTimeout = 5 * time.Second

// DefaultExcludeTag is the tag modhost's runner skips unless told otherwise:
// tests that only hold against Prosody's own libraries under plain busted.
const DefaultExcludeTag = "prosody_only"

// Summary counts the outcomes of a run.
type Summary struct {
	Passed, Failed, Errors, Pending int
}

// Ran is the number of tests that were found and selected, pending included.
func (s Summary) Ran() int { return s.Passed + s.Failed + s.Errors + s.Pending }

// OK reports whether the run should count as a success: something ran and
// nothing failed or errored.
func (s Summary) OK() bool { return s.Failed == 0 && s.Errors == 0 && s.Ran() > 0 }

// prosodyWorld puts util.promise and util.async back as Prosody's libraries
// are under busted, with no server startup having configured them:
// executors and a runner's return to ready run at once, and async.sleep
// has no schedule function (modhost's runtime, like Prosody's startup,
// installs loop-backed ones). Only where the state has the libraries.
const prosodyWorld = `local ok, promise = pcall(require, "util.promise")
if ok and type(promise) == "table" and promise.set_nexttick then promise.set_nexttick(nil) end
local ok2, async = pcall(require, "util.async")
if ok2 and type(async) == "table" and async.set_nexttick then
	async.set_nexttick(nil)
	if async.set_schedule_function then async.set_schedule_function(nil) end
end`

// Run runs the specs of opts on loop and reports to opts.Out. The returned
// error means the run itself could not happen (a missing path, a closed
// loop, ctx done); test failures are in the Summary.
func Run(ctx context.Context, loop *lua.Loop, opts Options) (Summary, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	pattern := opts.Pattern
	if pattern == "" {
		pattern = "_spec"
	}
	files, err := specFiles(opts.Paths, pattern)
	if err != nil {
		return Summary{}, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	exclude := opts.ExcludeTags
	if exclude == nil {
		exclude = []string{DefaultExcludeTag}
	}

	if opts.Output != "" && opts.Output != "plain" && opts.Output != "json" {
		return Summary{}, fmt.Errorf("unknown output format %q (plain or json)", opts.Output)
	}
	rep := newReporter(out, opts.Verbose)
	rep.json = opts.Output == "json"
	finished := make(chan error, 1)
	start := func(L *glua.LState) error {
		// Specs run where busted runs them, with no server startup having
		// given util.promise and util.async a scheduler (a server's
		// startup defers to the next loop turn; modhost's runtime does too).
		if _, err := lua.DoChunk(L, prosodyWorld, "busted", 0); err != nil {
			return fmt.Errorf("reset util.promise and util.async to their defaults: %w", err)
		}
		assertMod, err := lua.DoChunk(L, luassertSource, "busted/luassert.lua", 1)
		if err != nil {
			return fmt.Errorf("load luassert: %w", err)
		}
		host := hostTable(L, loop, rep, finished)
		luaOpts := L.NewTable()
		luaOpts.RawSetString("filter", glua.LString(opts.Filter))
		luaOpts.RawSetString("filter_out", glua.LString(opts.FilterOut))
		luaOpts.RawSetString("timeout", glua.LNumber(timeout.Seconds()))
		tags := L.NewTable()
		for _, t := range exclude {
			tags.Append(glua.LString(t))
		}
		luaOpts.RawSetString("exclude_tags", tags)
		luaFiles := L.NewTable()
		for _, f := range files {
			luaFiles.Append(glua.LString(f))
		}
		preloadLuassert(L, assertMod[0])
		if _, err := lua.DoChunk(L, runnerSource, "busted/runner.lua", 0, host, luaOpts, luaFiles, assertMod[0]); err != nil {
			return fmt.Errorf("start spec runner: %w", err)
		}
		return nil
	}
	if err := loop.Do(ctx, start); err != nil {
		return Summary{}, err
	}
	select {
	case err := <-finished:
		if err != nil {
			return Summary{}, err
		}
	case <-ctx.Done():
		// The loop may still be reporting; the counts are not ours to read.
		return Summary{}, ctx.Err()
	case <-loop.Done():
		return Summary{}, lua.ErrClosed
	}
	// The report is written on the loop goroutine; finish is its last word.
	rep.close()
	return rep.summary, nil
}

// preloadLuassert lets specs that require luassert's modules by name get
// this runner's versions of them.
func preloadLuassert(L *glua.LState, mod glua.LValue) {
	t, ok := mod.(*glua.LTable)
	if !ok {
		return
	}
	for name, field := range map[string]string{
		"luassert": "assert", "luassert.spy": "spy", "luassert.stub": "stub",
		"luassert.match": "match", "luassert.mock": "mock",
	} {
		value := t.RawGetString(field)
		L.PreloadModule(name, func(L *glua.LState) int {
			L.Push(value)
			return 1
		})
	}
}

// hostTable builds the primitives runner.lua drives the loop with.
func hostTable(L *glua.LState, loop *lua.Loop, rep *reporter, finished chan<- error) *glua.LTable {
	host := L.NewTable()
	host.RawSetString("report", L.NewFunction(func(L *glua.LState) int {
		rep.add(result{
			status:    L.CheckString(1),
			name:      L.OptString(2, ""),
			definedAt: L.OptString(3, ""),
			where:     L.OptString(4, ""),
			message:   L.OptString(5, ""),
		})
		return 0
	}))
	host.RawSetString("post", L.NewFunction(func(L *glua.LState) int {
		fn := L.CheckFunction(1)
		loop.Post(func(L *glua.LState) { loop.CallLogged(L, "spec runner", fn, 0) })
		return 0
	}))
	host.RawSetString("after", L.NewFunction(func(L *glua.LState) int {
		d := time.Duration(float64(L.CheckNumber(1)) * float64(time.Second))
		fn := L.CheckFunction(2)
		stop := loop.After(d, func(L *glua.LState) { loop.CallLogged(L, "spec runner timer", fn, 0) })
		L.Push(L.NewFunction(func(L *glua.LState) int {
			L.Push(glua.LBool(stop()))
			return 1
		}))
		return 1
	}))
	host.RawSetString("finish", L.NewFunction(func(L *glua.LState) int {
		var err error
		if msg := L.OptString(1, ""); msg != "" {
			err = fmt.Errorf("%s", msg)
		}
		select {
		case finished <- err:
		default:
		}
		return 0
	}))
	return host
}

// specFiles lists the files to run: named files as they are, folders
// searched for *<pattern>.lua, each folder's files sorted by path.
func specFiles(paths []string, pattern string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("spec path: %w", err)
		}
		if !info.IsDir() {
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), pattern+".lua") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search %s for specs: %w", p, err)
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return files, nil
}
