package busted_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/lua/busted"
)

// newLoop is what `modhost test` gets from the integrator, minus the host:
// a loop with every compat library.
func newLoop() *lua.Loop {
	return lua.NewLoop(lua.Options{Libraries: compat.Libraries()})
}

// run runs opts on a fresh loop and returns the summary and the output.
func run(t *testing.T, opts busted.Options) (busted.Summary, string) {
	t.Helper()
	loop := newLoop()
	t.Cleanup(func() { loop.Close(nil) })
	var out bytes.Buffer
	opts.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sum, err := busted.Run(ctx, loop, opts)
	if err != nil {
		t.Fatalf("Run(%v): %v\noutput:\n%s", opts.Paths, err, out.String())
	}
	return sum, out.String()
}

func TestRunCountsEachOutcome(t *testing.T) {
	tests := []struct {
		name string
		opts busted.Options
		want busted.Summary
	}{
		{"passing suite", busted.Options{Paths: []string{"testdata/pass"}}, busted.Summary{Passed: 8}},
		{"assertion failures", busted.Options{Paths: []string{"testdata/fail"}}, busted.Summary{Passed: 1, Failed: 4}},
		{"errors in tests, hooks, describe bodies and loading", busted.Options{Paths: []string{"testdata/errors"}}, busted.Summary{Passed: 1, Errors: 5}},
		{"pending tests", busted.Options{Paths: []string{"testdata/pending"}}, busted.Summary{Passed: 1, Pending: 3}},
		{"insulate and expose", busted.Options{Paths: []string{"testdata/insulate"}}, busted.Summary{Passed: 8}},
		{"tests that wait on the loop", busted.Options{Paths: []string{"testdata/async"}}, busted.Summary{Passed: 4, Failed: 1}},
		{"a test that never finishes times out", busted.Options{Paths: []string{"testdata/timeout"}, Timeout: 200 * time.Millisecond}, busted.Summary{Passed: 1, Errors: 1}},
		{"filter keeps matching names", busted.Options{Paths: []string{"testdata/pass"}, Filter: "spies"}, busted.Summary{Passed: 1}},
		{"filter is a Lua pattern", busted.Options{Paths: []string{"testdata/pass"}, Filter: "^hooks "}, busted.Summary{Passed: 2}},
		{"filter-out drops matching names", busted.Options{Paths: []string{"testdata/pass"}, FilterOut: "^hooks"}, busted.Summary{Passed: 6}},
		{"excluded tags are skipped", busted.Options{Paths: []string{"testdata/portable"}, ExcludeTags: []string{"skipme"}}, busted.Summary{Passed: 11, Failed: 4, Errors: 1, Pending: 2}},
		{"tags are not excluded unless asked", busted.Options{Paths: []string{"testdata/portable"}, ExcludeTags: []string{}}, busted.Summary{Passed: 11, Failed: 4, Errors: 2, Pending: 2}},
		{"pattern picks the files in folders", busted.Options{Paths: []string{"testdata/pass"}, Pattern: "_returns_spec"}, busted.Summary{Passed: 1}},
		{"a file named directly runs whatever its name", busted.Options{Paths: []string{"testdata/pass/stub_returns_spec.lua"}, Pattern: "_nomatch"}, busted.Summary{Passed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := run(t, tt.opts)
			if got != tt.want {
				t.Errorf("summary = %+v, want %+v\noutput:\n%s", got, tt.want, out)
			}
		})
	}
}

func TestReportShowsNameSpecLineAndLuassertMessage(t *testing.T) {
	_, out := run(t, busted.Options{Paths: []string{"testdata/fail"}})
	for _, want := range []string{
		"Failure -> testdata/fail/failing_spec.lua:2\nfailing equal\n" +
			"testdata/fail/failing_spec.lua:4: Expected objects to be equal.\nPassed in:\n(number) 2\nExpected:\n(number) 1\n",
		"failing same with a message\ntestdata/fail/failing_spec.lua:8: tables differ\nExpected objects to be the same.\nPassed in:\n",
		" *[a] = 2 }\nExpected:\n",
		"failing assert called plainly\ntestdata/fail/failing_spec.lua:12: plain message\n",
		"failing spy count\ntestdata/fail/failing_spec.lua:17: Expected to be called 1 time(s), but was called 0 time(s)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\noutput:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "----+\n") {
		t.Errorf("progress line = %q, want one mark per test", strings.SplitN(out, "\n", 2)[0])
	}
}

func TestReportPointsAtSpecLineAfterAWait(t *testing.T) {
	_, out := run(t, busted.Options{Paths: []string{"testdata/async"}})
	want := "testdata/async/waiting_spec.lua:30: Expected objects to be equal.\nPassed in:\n(string) 'actual'\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q\noutput:\n%s", want, out)
	}
}

func TestReportGivesErrorsWithFileLine(t *testing.T) {
	_, out := run(t, busted.Options{Paths: []string{"testdata/errors"}})
	for _, want := range []string{
		"Error -> testdata/errors/broken_syntax_spec.lua:3\ntestdata/errors/broken_syntax_spec.lua\ntestdata/errors/broken_syntax_spec.lua:3: near '=': syntax error\n",
		"errors raises\ntestdata/errors/errors_spec.lua:4: attempt to index",
		"errors with a broken before_each is an error, not run\ntestdata/errors/errors_spec.lua:8: before_each broke\n",
		"Error -> testdata/errors/errors_spec.lua:12\nerrors with a broken body\ntestdata/errors/errors_spec.lua:13: describe body broke\n",
		"Error -> testdata/errors/toplevel_error_spec.lua:3\ntestdata/errors/toplevel_error_spec.lua\ntestdata/errors/toplevel_error_spec.lua:3: attempt to index",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\noutput:\n%s", want, out)
		}
	}
}

func TestTimeoutIsReportedAsError(t *testing.T) {
	_, out := run(t, busted.Options{Paths: []string{"testdata/timeout"}, Timeout: 200 * time.Millisecond})
	want := "Error -> testdata/timeout/timeout_spec.lua:4\ntimeout never finishes\ntest timed out after 0.2 s (still waiting)\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q\noutput:\n%s", want, out)
	}
}

func TestYieldAcrossPcallStopsTheRunWithAnError(t *testing.T) {
	sum, out := run(t, busted.Options{Paths: []string{"testdata/pcall_yield"}})
	if sum != (busted.Summary{Errors: 1}) {
		t.Errorf("summary = %+v, want one error and nothing else run", sum)
	}
	for _, want := range []string{
		"Error -> testdata/pcall_yield/pcall_yield_spec.lua:4\nyields inside pcall\n",
		"gopher-lua cannot yield across pcall",
		"the tests after this one did not run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\noutput:\n%s", want, out)
		}
	}
}

func TestClosingLinesAreExact(t *testing.T) {
	tests := []struct {
		paths []string
		last2 string
	}{
		{[]string{"testdata/pass"}, "0 errors, 0 pending\n8 passed, 0 failed\n"},
		{[]string{"testdata/fail", "testdata/pending"}, "0 errors, 3 pending\n2 passed, 4 failed\n"},
		{[]string{"testdata/errors"}, "5 errors, 0 pending\n1 passed, 0 failed\n"},
		{[]string{"testdata/empty"}, "0 errors, 0 pending\n0 passed, 0 failed\n"},
	}
	lastLine := regexp.MustCompile(`(?m)\A(?:.*\n)*\d+ passed, \d+ failed\n\z`)
	for _, tt := range tests {
		t.Run(strings.Join(tt.paths, ","), func(t *testing.T) {
			_, out := run(t, busted.Options{Paths: tt.paths})
			if !strings.HasSuffix(out, tt.last2) {
				t.Errorf("output ends %q, want %q", tail(out, 2), tt.last2)
			}
			if !lastLine.MatchString(out) {
				t.Errorf("last line %q is not `N passed, N failed` alone", tail(out, 1))
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "") + "\n"
}

func TestVerbosePrintsEachTest(t *testing.T) {
	_, out := run(t, busted.Options{Paths: []string{"testdata/fail"}, Verbose: true})
	for _, want := range []string{"FAIL    failing equal\n", "ok      failing passes\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\noutput:\n%s", want, out)
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"all pass", []string{"testdata/pass"}, busted.ExitOK},
		{"only pending and passing", []string{"testdata/pending"}, busted.ExitOK},
		{"a failure", []string{"testdata/fail"}, busted.ExitFailed},
		{"an error", []string{"testdata/errors/errors_spec.lua"}, busted.ExitFailed},
		{"a spec file that does not load", []string{"testdata/errors/broken_syntax_spec.lua"}, busted.ExitFailed},
		{"no test found", []string{"testdata/empty"}, busted.ExitFailed},
		{"a filter that matches nothing", []string{"--filter", "no such test", "testdata/pass"}, busted.ExitFailed},
		{"a filter that keeps a failure", []string{"--filter=equal$", "-v", "testdata/fail"}, busted.ExitFailed},
		{"a filter that leaves only passing tests", []string{"--filter", "passes$", "testdata/fail"}, busted.ExitOK},
		{"filter-out of the failures", []string{"--filter-out", "failing [^p]", "testdata/fail"}, busted.ExitOK},
		{"a timeout", []string{"--timeout=100ms", "testdata/timeout"}, busted.ExitFailed},
		{"flags after the paths", []string{"testdata/fail", "--filter", "passes$", "-v"}, busted.ExitOK},
		{"everything after -- is a path", []string{"--", "-v"}, busted.ExitUsage},
		{"an unknown flag", []string{"--nope", "testdata/pass"}, busted.ExitUsage},
		{"a missing path", []string{"testdata/no-such-dir"}, busted.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := busted.Main(tt.args, newLoop, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("Main(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, got, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

func TestRunNeedsNoCompatLibraries(t *testing.T) {
	loop := lua.NewLoop(lua.Options{})
	defer loop.Close(nil)
	var out bytes.Buffer
	sum, err := busted.Run(context.Background(), loop, busted.Options{Paths: []string{"testdata/pass", "testdata/async"}, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	// Without util.async the async suite's two files fail to load their
	// requires; the rest passes.
	if sum.Passed != 8 || sum.Failed != 0 || sum.Errors != 2 {
		t.Errorf("summary = %+v, want 8 passed and the two async files as 2 errors\n%s", sum, out.String())
	}
}

func TestRunLeavesTheGlobalsAsTheyWere(t *testing.T) {
	loop := newLoop()
	defer loop.Close(nil)
	if _, err := busted.Run(context.Background(), loop, busted.Options{Paths: []string{"testdata/pass"}}); err != nil {
		t.Fatal(err)
	}
	err := loop.Do(context.Background(), func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `
			assert(describe == nil, "describe left behind")
			assert(type(assert) == "function", "assert is still luassert's")
			assert(package.loaded["fake.module"] == nil)
		`, "check", 0)
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

var bustedCounts = regexp.MustCompile(`(?m)^(\d+) success(?:es)? / (\d+) failures? / (\d+) errors? / (\d+) pending`)

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPortableSuitesCountTheSameUnderBusted runs suites written for busted
// under Debian's busted (Lua 5.4) and under Run, and compares the counts.
func TestPortableSuitesCountTheSameUnderBusted(t *testing.T) {
	bustedBin, err := exec.LookPath("busted")
	if err != nil {
		t.Skip("busted is not installed (make deps)")
	}
	if _, err := exec.LookPath("lua5.4"); err != nil {
		t.Skip("lua5.4 is not installed (make deps)")
	}
	for _, dir := range []string{"testdata/portable", "testdata/fail", "testdata/errors", "testdata/insulate"} {
		t.Run(dir, func(t *testing.T) {
			// busted's json output handler dies silently on a block-level
			// pending(), so read the plain terminal's count line instead.
			cmd := exec.Command("lua5.4", bustedBin, "-o", "plainTerminal", "--exclude-tags=skipme", dir)
			cmd.Stderr = os.Stderr
			raw, _ := cmd.Output() // busted exits non-zero when tests fail
			m := bustedCounts.FindStringSubmatch(string(raw))
			if m == nil {
				t.Fatalf("no count line in busted's output:\n%s", raw)
			}
			want := busted.Summary{Passed: atoi(t, m[1]), Failed: atoi(t, m[2]), Errors: atoi(t, m[3]), Pending: atoi(t, m[4])}
			got, out := run(t, busted.Options{Paths: []string{dir}, ExcludeTags: []string{"skipme"}})
			if got != want {
				t.Errorf("Run counts %+v, busted counts %+v\noutput:\n%s", got, want, out)
			}
			if want.Ran() == 0 {
				t.Error("busted ran nothing; the comparison proves nothing")
			}
		})
	}
}

func TestJSONOutputListsEveryResult(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := busted.Main([]string{"-o", "json", "testdata/fail", "testdata/pending"}, newLoop, &stdout, &stderr)
	if code != busted.ExitFailed {
		t.Errorf("exit %d, want %d (failures)", code, busted.ExitFailed)
	}
	var doc busted.JSONReport
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	if doc.Passed != 2 || doc.Failed != 4 || doc.Pending != 3 || len(doc.Results) != 9 {
		t.Errorf("report = %+v, want 2 passed, 4 failed, 3 pending, 9 results", doc)
	}
	first := doc.Results[0]
	if first.Status != "failure" || first.Name != "failing equal" || !strings.HasPrefix(first.DefinedAt, "testdata/fail/") || first.Message == "" {
		t.Errorf("first result = %+v", first)
	}
}

func TestUnknownOutputFormatIsAUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := busted.Main([]string{"-o", "xml", "testdata/pass"}, newLoop, &stdout, &stderr); code != busted.ExitUsage {
		t.Errorf("exit %d, want %d\n%s", code, busted.ExitUsage, stderr.String())
	}
}
