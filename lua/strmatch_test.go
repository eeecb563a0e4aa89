package lua

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// casesInModhost runs testdata/strmatch_cases.lua in a state with modhost's
// fixes and returns its lines.
func casesInModhost(t *testing.T, n int) []string {
	t.Helper()
	src, err := os.ReadFile("testdata/strmatch_cases.lua")
	if err != nil {
		t.Fatal(err)
	}
	L := glua.NewState()
	defer L.Close()
	OpenVersionGaps(L)
	OpenPatterns(L)
	L.SetGlobal("CASES", glua.LNumber(n))
	rets, err := DoChunk(L, string(src), "strmatch_cases.lua", 1)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(glua.LVAsString(rets[0]), "\n")
}

// The matcher gives what Lua 5.1 gives (results, captures, errors) for
// generated patterns and subjects; run where lua5.1 is installed.
func TestStringMatchingAgreesWithLua51(t *testing.T) {
	lua51, err := exec.LookPath("lua5.1")
	if err != nil {
		t.Skip("lua5.1 not installed")
	}
	const n = 3000
	out, err := exec.Command(lua51, "-e", fmt.Sprintf(`CASES = %d; io.write(dofile("testdata/strmatch_cases.lua"))`, n)).Output()
	if err != nil {
		t.Fatalf("lua5.1: %v", err)
	}
	want := strings.Split(string(out), "\n")
	got := casesInModhost(t, n)
	if len(got) != len(want) {
		t.Fatalf("%d lines, lua5.1 %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("modhost: %s\nlua5.1:  %s", got[i], want[i])
			if bad++; bad == 20 {
				t.Fatal("too many differences")
			}
		}
	}
}

// Long runs of a repeated item are matched in a loop: gopher-lua's matcher
// recursed once per repetition and gave up past 10^6 ("pattern/input too
// complex"), which a megabyte of whitespace before JSON reached (issue 13,
// points 5 and 7). Ten megabytes take well under a second.
func TestStringMatchingLongRunsAreLinear(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	OpenVersionGaps(L)
	OpenPatterns(L)
	L.SetGlobal("body", glua.LString(strings.Repeat(" \n", 5<<20)+"{}"))
	start := time.Now()
	_, err := DoChunk(L, `
		assert(body:match("^%s*{"), "anchored run")
		assert(not body:match("^%s*$"), "anchored run to the end")
		assert(body:find("%S") == #body - 1, "unanchored search")
		assert(body:find('[{,]%s*"__array"%s*:') == nil, "a class then a run")
		local s, n = body:gsub("%s+", "")
		assert(s == "{}" and n == 1, "gsub over the run")
		local count = 0
		for _ in body:gmatch("\n") do count = count + 1 end
		assert(count == 5 * 1024 * 1024, "gmatch " .. count)`, "long runs", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("10 MB of whitespace took %v", d)
	}
}
