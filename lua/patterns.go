package lua

import (
	"context"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua/internal/pattern"
)

// Pattern matching that can be interrupted.
//
// gopher-lua's VM checks its state's context between instructions, but
// string.find, match, gmatch and gsub match in Go (its pm package), where
// nothing checks it: a backtracking pattern (".-.-.-.-x" on a long string)
// or a gsub with many matches holds the loop for minutes. Bounding the input
// and the pattern up front would refuse ordinary work and still miss cases
// (the cost depends on both together), so OpenPatterns replaces the four
// functions with versions on lua/internal/pattern, a Lua 5.1 matcher
// written here with a step counter: every pattern.CheckEvery steps (tens of
// µs of matching) it checks the calling state's context, and a context
// that is done stops the match with the context's error, raised as a Lua
// error at the caller's line — what the VM would have raised at its next
// instruction. Its repetitions loop instead of recursing, so a megabyte of
// spaces against "^%s*{" is linear and does not grow the Go stack.
//
// The results are Lua 5.1's (lua/internal/pattern's tests compare them with
// lua5.1's), including where gopher-lua departed from Lua: %f found the
// wrong frontier, malformed patterns had gopher-lua's own messages,
// string.match without a match returned nothing (Lua: nil); string.gmatch
// returned an iterator that needed its state argument, over every match
// found up front (Lua: one function, each match found when asked, a leading
// ^ an ordinary character); string.gsub with n <= 0 replaced everything
// (Lua: at most n), refused a number as the replacement, accepted any
// replacement value and copied the whole string once per replacement
// (100,000 matches in a 100 KB string took seconds; here it is linear);
// string.find and match with init past the end panicked for a plain search
// or ignored init for an empty pattern (Lua: init is read as the end).
//
// Two things stay as gopher-lua had them: a malformed pattern is refused
// before matching (Lua 5.1 raises only when its matcher reaches the bad
// part, so it can answer nil for "a(" against "x"), and in a gsub
// replacement string % before a character other than a digit or % is kept
// with it ("%x" gives "%x"; Lua 5.1 gives "x").

// OpenPatterns replaces string.find, string.match, string.gmatch (and its
// old name gfind) and string.gsub in L's string library with the
// interruptible versions described above.
func OpenPatterns(L *glua.LState) {
	str, ok := L.GetGlobal("string").(*glua.LTable)
	if !ok {
		return
	}
	str.RawSetString("find", L.NewFunction(strFind))
	str.RawSetString("match", L.NewFunction(strMatch))
	gmatch := L.NewFunction(strGmatch)
	str.RawSetString("gmatch", gmatch)
	str.RawSetString("gfind", gmatch)
	str.RawSetString("gsub", L.NewFunction(strGsub))
}

// interruptOf checks L's context as the VM does: nil when L has none.
func interruptOf(L *glua.LState) func() error {
	ctx := L.Context()
	if ctx == nil {
		return nil
	}
	return func() error { return ctxDone(ctx) }
}

func ctxDone(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}

// raisePatternError raises err at the Lua caller's line.
func raisePatternError(L *glua.LState, err error) {
	L.RaiseError("%s", err.Error())
}

// startIndex is Lua 5.1's reading of an init argument (1-based, negative
// from the end) as a 0-based offset: below the start is the start, past the
// end is the end.
func startIndex(s string, i int) int {
	if i < 0 {
		i = len(s) + i + 1
	}
	return min(max(i-1, 0), len(s))
}

func compilePattern(L *glua.LState, compile func(string) (*pattern.Pattern, error), pat string) *pattern.Pattern {
	p, err := compile(pat)
	if err != nil {
		raisePatternError(L, err)
	}
	return p
}

// pushCaptures pushes the captures of m's last match (or the whole match
// when the pattern has none, if whole is set) and returns how many it
// pushed.
func pushCaptures(L *glua.LState, m *pattern.Matcher, n int, whole bool) int {
	if n == 0 {
		if !whole {
			return 0
		}
		L.Push(glua.LString(m.Text()))
		return 1
	}
	for i := range n {
		L.Push(captureValue(m, i))
	}
	return n
}

func captureValue(m *pattern.Matcher, i int) glua.LValue {
	text, position, pos := m.Capture(i)
	if pos {
		return glua.LNumber(position)
	}
	return glua.LString(text)
}

// isPlain reports whether pat has none of the characters Lua 5.1's find
// looks for before treating a pattern as plain text (so ")" is text for
// find, though an error for match, gmatch and gsub).
func isPlain(pat string) bool { return !strings.ContainsAny(pat, "^$*+?.([%-") }

// string.find(s, pattern [, init [, plain]])
func strFind(L *glua.LState) int {
	s := L.CheckString(1)
	pat := L.CheckString(2)
	init := startIndex(s, L.OptInt(3, 1))
	if glua.LVAsBool(L.Get(4)) || isPlain(pat) {
		pos := strings.Index(s[init:], pat)
		if pos < 0 {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(glua.LNumber(init + pos + 1))
		L.Push(glua.LNumber(init + pos + len(pat)))
		return 2
	}
	p := compilePattern(L, pattern.Compile, pat)
	m := p.NewMatcher(s, interruptOf(L))
	ok, err := m.Find(init)
	if err != nil {
		raisePatternError(L, err)
	}
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LNumber(m.Start() + 1))
	L.Push(glua.LNumber(m.End()))
	return 2 + pushCaptures(L, m, p.Captures(), false)
}

// string.match(s, pattern [, init])
func strMatch(L *glua.LState) int {
	s := L.CheckString(1)
	pat := L.CheckString(2)
	init := startIndex(s, L.OptInt(3, 1))
	p := compilePattern(L, pattern.Compile, pat)
	m := p.NewMatcher(s, interruptOf(L))
	ok, err := m.Find(init)
	if err != nil {
		raisePatternError(L, err)
	}
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	return pushCaptures(L, m, p.Captures(), true)
}

// string.gmatch(s, pattern): an iterator over the matches, each found when
// the iterator is called. As in Lua 5.1, a ^ at the start of the pattern is
// an ordinary character, and after an empty match the next search starts
// one character on.
func strGmatch(L *glua.LState) int {
	s := L.CheckString(1)
	p := compilePattern(L, pattern.CompileUnanchored, L.CheckString(2))
	m := p.NewMatcher(s, nil)
	next := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if next > len(s) {
			return 0
		}
		m.SetInterrupt(interruptOf(L))
		ok, err := m.Find(next)
		if err != nil {
			raisePatternError(L, err)
		}
		if !ok {
			next = len(s) + 1
			return 0
		}
		next = m.End()
		if m.End() == m.Start() {
			next++
		}
		return pushCaptures(L, m, p.Captures(), true)
	}))
	return 1
}

// gsubCheckEvery is how many replacements gsub makes between two looks at
// the context (a replacement function is Lua, checked by the VM itself).
const gsubCheckEvery = 256

// string.gsub(s, pattern, repl [, n])
func strGsub(L *glua.LState) int {
	s := L.CheckString(1)
	pat := L.CheckString(2)
	repl := L.CheckAny(3)
	switch repl.(type) {
	case glua.LString, glua.LNumber:
		repl = glua.LString(glua.LVAsString(repl))
	case *glua.LTable, *glua.LFunction:
	default:
		L.TypeError(3, glua.LTString)
	}
	limit := -1
	if L.Get(4) != glua.LNil {
		limit = max(L.CheckInt(4), 0)
	}
	lim := limitsOf(L) // a state with LimitStrings: bound the result
	maxLen := 0
	if lim != nil {
		maxLen = lim.MaxLen
	}
	interrupt := interruptOf(L)
	p := compilePattern(L, pattern.Compile, pat)
	m := p.NewMatcher(s, interrupt)
	var out strings.Builder
	prev, n := 0, 0
	// Lua 5.1's walk: try a match at each position in turn; after a
	// non-empty match go on from its end, otherwise one character on; an
	// anchored pattern is tried at the start only.
	for pos := 0; limit < 0 || n < limit; {
		ok, err := m.MatchAt(pos)
		if err != nil {
			raisePatternError(L, err)
		}
		if ok {
			n++
			if interrupt != nil && n%gsubCheckEvery == 0 {
				if err := interrupt(); err != nil {
					raisePatternError(L, err)
				}
			}
			start, end := m.Start(), m.End()
			if value, replaced := gsubValue(L, m, p.Captures(), repl); replaced {
				if maxLen > 0 && out.Len()+(start-prev)+len(value) > maxLen {
					L.RaiseError("string.gsub: result longer than %d bytes", maxLen)
				}
				out.WriteString(s[prev:start])
				out.WriteString(value)
				prev = end
			}
		}
		switch {
		case ok && m.End() > pos:
			pos = m.End()
		case pos < len(s):
			pos++
		default:
			pos = -1
		}
		if pos < 0 || p.Anchored() {
			break
		}
	}
	if prev == 0 && out.Len() == 0 {
		L.Push(glua.LString(s))
	} else {
		if maxLen > 0 && out.Len()+len(s)-prev > maxLen {
			L.RaiseError("string.gsub: result longer than %d bytes", maxLen)
		}
		out.WriteString(s[prev:])
		if lim != nil {
			lim.build(L, "string.gsub", out.Len())
		}
		L.Push(glua.LString(out.String()))
	}
	L.Push(glua.LNumber(n))
	return 2
}

// gsubValue is the text that replaces match md, and false when the match is
// kept as it is (a table or function gave nil or false).
func gsubValue(L *glua.LState, m *pattern.Matcher, ncap int, repl glua.LValue) (string, bool) {
	var value glua.LValue
	switch r := repl.(type) {
	case glua.LString:
		return expandReplacement(L, m, ncap, string(r)), true
	case *glua.LTable:
		key := glua.LValue(glua.LString(m.Text()))
		if ncap > 0 {
			key = captureValue(m, 0)
		}
		value = L.GetTable(r, key)
	case *glua.LFunction:
		L.Push(r)
		nargs := pushCaptures(L, m, ncap, true)
		L.Call(nargs, 1)
		value = L.Get(-1)
		L.Pop(1)
	}
	switch v := value.(type) {
	case glua.LString:
		return string(v), true
	case glua.LNumber:
		return v.String(), true
	}
	if !glua.LVAsBool(value) {
		return "", false
	}
	L.RaiseError("invalid replacement value (a %s)", value.Type().String())
	return "", false
}

// expandReplacement reads a gsub replacement string as gopher-lua does:
// %0–%9 are captures (%1 the whole match when there are none), %% is %,
// and % before anything else is kept with it.
func expandReplacement(L *glua.LState, m *pattern.Matcher, ncap int, repl string) string {
	if strings.IndexByte(repl, '%') < 0 {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i == len(repl)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		d := repl[i]
		switch {
		case d == '%':
			b.WriteByte('%')
		case d >= '0' && d <= '9':
			idx := int(d - '0')
			if idx > 1 && idx > ncap {
				L.RaiseError("invalid capture index")
			}
			if idx == 0 || ncap == 0 {
				b.WriteString(m.Text())
				break
			}
			if text, position, pos := m.Capture(idx - 1); pos {
				b.WriteString(strconv.Itoa(position))
			} else {
				b.WriteString(text)
			}
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return b.String()
}
