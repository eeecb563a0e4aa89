package lua

import (
	"context"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Pattern matching as Lua's, linear where Lua's is, and interruptible.
//
// gopher-lua's string.find, match, gmatch and gsub use its pm package, a
// compiled matcher that recurses once per repetition of an item: "^%s*{"
// on a megabyte of spaces raises "pattern/input too complex" (its limit is
// 10^6 levels), shorter runs cost a Go stack that deep, and an unanchored
// search allocates at every position. And they run in Go, where the VM
// checks nothing: a backtracking pattern (".-.-.-.-x" on a long string)
// held the loop for minutes.
//
// OpenPatterns replaces the four functions (and gmatch's old name gfind)
// with strmatch.go's port of Lua 5.1's lstrlib.c matcher, which counts a
// single-char item's repetitions in a loop and backtracks over them without
// recursing (its depth is bounded by the pattern, not the subject), and
// which checks the calling state's context every patCheckEvery steps: a
// context that is done stops the match with the context's error, raised as
// a Lua error at the caller's line — what the VM would have raised at its
// next instruction.
//
// Results, captures and errors are Lua 5.1's (TestStringMatchingAgreesWithLua51
// compares them with lua5.1), so also where gopher-lua's differed: match
// without a match returns nil (gopher-lua: nothing); gmatch's iterator can
// be called on its own and finds each match when asked; gsub with n <= 0
// replaces nothing, takes a number as the replacement, raises for a
// replacement value that is not a string or number, keeps the character
// after a % that is not a digit (Lua 5.1: "%x" gives "x"), and builds its
// result in linear time (gopher-lua copied the whole string once per
// replacement: 200,000 replacements took two minutes); init past the end
// is the end, as in Lua 5.1.

// OpenPatterns replaces string.find, string.match, string.gmatch (and its
// old name gfind) and string.gsub in L's string library with the versions
// described above.
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

func newMatchState(L *glua.LState, src, pat string) *matchState {
	return &matchState{L: L, src: src, pat: pat, interrupt: interruptOf(L)}
}

// startIndex is Lua 5.1's posrelat(init) - 1, clamped to 0..length.
func startIndex(init, length int) int {
	if init < 0 {
		init = length + init + 1
	}
	init--
	return max(0, min(init, length))
}

func strFindAux(L *glua.LState, find bool) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	init := startIndex(L.OptInt(3, 1), len(src))
	if find && (glua.LVAsBool(L.Get(4)) || !strings.ContainsAny(pat, patSpecials)) {
		if at := strings.Index(src[init:], pat); at >= 0 { // a plain search
			L.Push(glua.LNumber(init + at + 1))
			L.Push(glua.LNumber(init + at + len(pat)))
			return 2
		}
		L.Push(glua.LNil)
		return 1
	}
	anchor := strings.HasPrefix(pat, "^")
	if anchor {
		pat = pat[1:]
	}
	ms := newMatchState(L, src, pat)
	for s := init; ; s++ {
		ms.level = 0
		if e := ms.match(s, 0); e >= 0 {
			if find {
				L.Push(glua.LNumber(s + 1))
				L.Push(glua.LNumber(e))
				return ms.pushCaptures(-1, 0) + 2
			}
			return ms.pushCaptures(s, e)
		}
		if s >= len(src) || anchor {
			break
		}
	}
	L.Push(glua.LNil)
	return 1
}

// string.find(s, pattern [, init [, plain]])
func strFind(L *glua.LState) int { return strFindAux(L, true) }

// string.match(s, pattern [, init])
func strMatch(L *glua.LState) int { return strFindAux(L, false) }

// string.gmatch(s, pattern): an iterator over the matches, each found when
// the iterator is called ('^' is an ordinary character here, as in Lua 5.1).
func strGmatch(L *glua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	pos := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		ms := newMatchState(L, src, pat) // the caller's state and context
		for s := pos; s <= len(src); s++ {
			ms.level = 0
			if e := ms.match(s, 0); e >= 0 {
				pos = e
				if e == s { // an empty match: go on one position further
					pos++
				}
				return ms.pushCaptures(s, e)
			}
		}
		pos = len(src) + 1
		return 0
	}))
	return 1
}

// gsubCheckEvery is how many replacements gsub makes between two looks at
// the context besides the matcher's own (a replacement function is Lua,
// checked by the VM itself).
const gsubCheckEvery = 256

// string.gsub(s, pattern, repl [, n])
func strGsub(L *glua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case glua.LTNumber, glua.LTString, glua.LTFunction, glua.LTTable:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(src)+1)
	lim := limitsOf(L) // a state with LimitStrings: bound the result
	maxLen := 0
	if lim != nil {
		maxLen = lim.MaxLen
	}
	anchor := strings.HasPrefix(pat, "^")
	if anchor {
		pat = pat[1:]
	}
	ms := newMatchState(L, src, pat)
	var b strings.Builder
	grow := func(n int) {
		if maxLen > 0 && b.Len()+n > maxLen {
			L.RaiseError("string.gsub: result longer than %d bytes", maxLen)
		}
	}
	n, s := 0, 0
	for n < maxN {
		ms.level = 0
		e := ms.match(s, 0)
		if e >= 0 {
			n++
			if ms.interrupt != nil && n%gsubCheckEvery == 0 {
				if err := ms.interrupt(); err != nil {
					L.RaiseError("%s", err.Error())
				}
			}
			value := ms.replacement(repl, s, e)
			grow(len(value))
			b.WriteString(value)
		}
		switch {
		case e > s: // a non-empty match: skip it
			s = e
		case s < len(src):
			grow(1)
			b.WriteByte(src[s])
			s++
		default:
			s = len(src) + 1
		}
		if s > len(src) || anchor {
			break
		}
	}
	if n == 0 {
		L.Push(glua.LString(src))
		L.Push(glua.LNumber(0))
		return 2
	}
	if s <= len(src) {
		grow(len(src) - s)
		b.WriteString(src[s:])
	}
	if lim != nil {
		lim.build(L, "string.gsub", b.Len())
	}
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(n))
	return 2
}

// replacement is what replaces the match from s to e: the match itself
// when a table or function gives nil or false.
func (ms *matchState) replacement(repl glua.LValue, s, e int) string {
	L := ms.L
	var v glua.LValue
	switch r := repl.(type) {
	case glua.LString, glua.LNumber:
		return ms.expand(glua.LVAsString(r), s, e)
	case *glua.LFunction:
		top := L.GetTop()
		L.Push(r)
		n := ms.pushCaptures(s, e)
		L.Call(n, 1)
		v = L.Get(-1)
		L.SetTop(top)
	case *glua.LTable:
		v = L.GetTable(r, ms.capture(0, s, e))
	}
	switch v := v.(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return v.String()
	}
	if !glua.LVAsBool(v) { // nil or false: keep the original text
		return ms.src[s:e]
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return ""
}

// expand is a replacement string with %0-%9 expanded; % before anything
// else gives that character (Lua 5.1).
func (ms *matchState) expand(news string, s, e int) string {
	if strings.IndexByte(news, patEsc) < 0 {
		return news
	}
	var b strings.Builder
	for i := 0; i < len(news); i++ {
		if news[i] != patEsc {
			b.WriteByte(news[i])
			continue
		}
		i++        // skip the escape
		var c byte // past the end: C's terminating zero
		if i < len(news) {
			c = news[i]
		}
		switch {
		case c < '0' || c > '9':
			b.WriteByte(c)
		case c == '0':
			b.WriteString(ms.src[s:e])
		default:
			switch v := ms.capture(int(c-'1'), s, e).(type) {
			case glua.LString:
				b.WriteString(string(v))
			case glua.LNumber:
				b.WriteString(v.String())
			}
		}
	}
	return b.String()
}
