package pattern

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustCompile(t testing.TB, p string) *Pattern {
	t.Helper()
	pat, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile(%q): %v", p, err)
	}
	return pat
}

// A repetition counts its matches in a loop and backs off one at a time,
// so 10 MB of whitespace is one pass (plus one try of the rest per
// position), not a recursion per character. The bound is generous: speed
// is for the benchmarks.
func TestRepetitionOverTenMegabytesIsLinear(t *testing.T) {
	spaces := strings.Repeat(" \t\n", 10<<20/3)
	for _, tt := range []struct {
		pat  string
		subj string
		want bool
	}{
		{"^%s*{", spaces, false},
		{"^%s*{", spaces + "{", true},
		{"^%s*%[%s*%]%s*$", spaces, false},
		{"^%s*%[%s*%]%s*$", spaces + "[" + spaces + "]" + spaces, true},
		{"^%s-$", spaces, true},
		{"^(%s*)(.-)$", spaces + "x", true},
	} {
		start := time.Now()
		ok, err := mustCompile(t, tt.pat).NewMatcher(tt.subj, nil).Find(0)
		if err != nil || ok != tt.want {
			t.Errorf("%q on %d bytes: %v, %v; want %v", tt.pat, len(tt.subj), ok, err, tt.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q on %d bytes took %v", tt.pat, len(tt.subj), d)
		}
	}
}

// A pattern that backtracks exponentially or polynomially is stopped by
// the interrupt function, whose error Find returns.
func TestCatastrophicPatternsAreInterrupted(t *testing.T) {
	stop := errors.New("stop")
	for _, tt := range []struct{ pat, subj string }{
		{".-.-.-.-.-.-.-.-x", strings.Repeat("a", 10<<10)},
		{strings.Repeat("a?", 40) + strings.Repeat("a", 40), strings.Repeat("a", 40)},
		{"(.-)(.-)(.-)(.-)(.-)%1x", strings.Repeat("a", 10<<10)},
	} {
		calls := 0
		m := mustCompile(t, tt.pat).NewMatcher(tt.subj, func() error {
			if calls++; calls == 100 {
				return stop
			}
			return nil
		})
		start := time.Now()
		ok, err := m.Find(0)
		if ok || !errors.Is(err, stop) || calls != 100 {
			t.Errorf("%q: %v, %v after %d calls; want the interrupt's error at call 100", tt.pat, ok, err, calls)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q: interrupted after %v", tt.pat, d)
		}
	}
}

// The interrupt function is called every CheckEvery steps, scanning
// included, so a long repetition is interruptible too.
func TestInterruptIsCalledEveryCheckEverySteps(t *testing.T) {
	calls := 0
	m := mustCompile(t, "^%s*x").NewMatcher(strings.Repeat(" ", 100*CheckEvery), func() error {
		calls++
		return nil
	})
	if ok, err := m.Find(0); ok || err != nil {
		t.Fatalf("Find: %v, %v", ok, err)
	}
	if calls < 100 || calls > 300 {
		t.Errorf("%d interrupt calls for about %d steps", calls, 200*CheckEvery)
	}
}

// An unanchored search allocates nothing per start position (nor at all,
// once the matcher exists).
func TestUnanchoredSearchDoesNotAllocate(t *testing.T) {
	p := mustCompile(t, "(%a+)%s*=%s*(%d+)")
	subj := strings.Repeat("-- ", 10000) + "key = 42"
	m := p.NewMatcher(subj, func() error { return nil })
	if n := testing.AllocsPerRun(10, func() {
		if ok, _ := m.Find(0); !ok {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Errorf("%v allocations per search", n)
	}
	if text, _, _ := m.Capture(1); text != "42" {
		t.Errorf("capture 2 = %q", text)
	}
}

func TestCompileErrors(t *testing.T) {
	for pat, want := range map[string]string{
		"%":                      "malformed pattern (ends with '%')",
		"[a":                     "malformed pattern (missing ']')",
		"[%":                     "malformed pattern (missing ']')",
		"[]":                     "malformed pattern (missing ']')",
		"%f":                     "missing '[' after '%f' in pattern",
		"%fa":                    "missing '[' after '%f' in pattern",
		"%b(":                    "unbalanced pattern",
		"(":                      "unfinished capture",
		"a)":                     "invalid pattern capture",
		"%0":                     "invalid capture index",
		"(%1)":                   "invalid capture index",
		strings.Repeat("()", 33): "too many captures",
	} {
		if _, err := Compile(pat); err == nil || err.Error() != want {
			t.Errorf("Compile(%q) = %v, want %q", pat, err, want)
		}
	}
	if _, err := Compile(strings.Repeat("()", 32)); err != nil {
		t.Errorf("32 captures: %v", err)
	}
}

func benchSpaces(b *testing.B, n int, pat string) {
	subj := strings.Repeat(" ", n)
	p := mustCompile(b, pat)
	b.SetBytes(int64(n))
	for b.Loop() {
		if ok, err := p.NewMatcher(subj, func() error { return nil }).Find(0); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkSpaces1MB(b *testing.B)         { benchSpaces(b, 1<<20, "^%s*{") }
func BenchmarkSpaces10MB(b *testing.B)        { benchSpaces(b, 10<<20, "^%s*{") }
func BenchmarkSpacesBrackets1MB(b *testing.B) { benchSpaces(b, 1<<20, "^%s*%[%s*%]%s*$") }
func BenchmarkSpacesBrackets10MB(b *testing.B) {
	benchSpaces(b, 10<<20, "^%s*%[%s*%]%s*$")
}
