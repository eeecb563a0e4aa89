package lua

import (
	"context"
	"strconv"
	"strings"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua/internal/pm"
)

// Pattern matching that can be interrupted.
//
// gopher-lua's VM checks its state's context between instructions, but
// string.find, match, gmatch and gsub match in Go (its pm package), where
// nothing checks it: a backtracking pattern (".-.-.-.-x" on a long string)
// or a gsub with many matches holds the loop for minutes. Bounding the input
// and the pattern up front would refuse ordinary work and still miss cases
// (the cost depends on both together), so OpenPatterns replaces the four
// functions with versions on lua/internal/pm, gopher-lua's matcher with a
// step counter: every pm.CheckEvery steps (about 20 µs of matching) it
// checks the calling state's context, and a context that is done stops the
// match with the context's error, raised as a Lua error at the caller's
// line — what the VM would have raised at its next instruction.
//
// The results are gopher-lua's (the same parser and matcher), except where
// gopher-lua departs from Lua in the wrappers around it, which follow Lua
// 5.1 here: string.match without a match returns nil (gopher-lua: nothing);
// string.gmatch returns one iterator function that can be called directly
// and finds each match when asked (gopher-lua: an iterator that needs its
// state argument, over every match found up front); string.gsub with n
// replaces at most n matches (gopher-lua: all of them for n <= 0), takes a
// number as the replacement, raises for a replacement value that is not a
// string or number, and builds its result in linear time (gopher-lua copies
// the whole string once per replacement: 100,000 matches in a 100 KB string
// took seconds); string.find with init past the end returns nil for a plain
// search (gopher-lua: a Go panic).

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

// bytesOf is s without a copy; the matcher only reads it.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// startIndex is gopher-lua's reading of an init argument (1-based, negative
// from the end) as a 0-based offset, never below 0.
func startIndex(s string, i int) int {
	if i != 0 {
		i--
	}
	if i < 0 {
		i = len(s) + i + 1
	}
	return max(i, 0)
}

func compilePattern(L *glua.LState, pattern string) *pm.Pattern {
	pat, err := pm.Compile(pattern)
	if err != nil {
		raisePatternError(L, err)
	}
	return pat
}

// pushCaptures pushes the captures of md in s (or the whole match when the
// pattern has none, if whole is set) and returns how many it pushed.
func pushCaptures(L *glua.LState, s string, md *pm.MatchData, whole bool) int {
	if md.CaptureLength() == 2 {
		if !whole {
			return 0
		}
		L.Push(glua.LString(s[md.Capture(0):md.Capture(1)]))
		return 1
	}
	for i := 2; i < md.CaptureLength(); i += 2 {
		L.Push(captureValue(s, md, i))
	}
	return md.CaptureLength()/2 - 1
}

func captureValue(s string, md *pm.MatchData, i int) glua.LValue {
	if md.IsPosCapture(i) {
		return glua.LNumber(md.Capture(i))
	}
	return glua.LString(s[md.Capture(i):md.Capture(i+1)])
}

// string.find(s, pattern [, init [, plain]])
func strFind(L *glua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
	if len(pattern) == 0 {
		L.Push(glua.LNumber(1))
		L.Push(glua.LNumber(0))
		return 2
	}
	init := startIndex(s, L.OptInt(3, 1))
	if glua.LVAsBool(L.Get(4)) {
		if init > len(s) {
			L.Push(glua.LNil)
			return 1
		}
		pos := strings.Index(s[init:], pattern)
		if pos < 0 {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(glua.LNumber(init + pos + 1))
		L.Push(glua.LNumber(init + pos + len(pattern)))
		return 2
	}
	md, err := compilePattern(L, pattern).Matcher(bytesOf(s), init, interruptOf(L)).Next()
	if err != nil {
		raisePatternError(L, err)
	}
	if md == nil {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LNumber(md.Capture(0) + 1))
	L.Push(glua.LNumber(md.Capture(1)))
	return 2 + pushCaptures(L, s, md, false)
}

// string.match(s, pattern [, init])
func strMatch(L *glua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
	offset := L.OptInt(3, 1)
	if offset < 0 {
		offset = len(s) + offset + 1
	}
	offset = max(offset-1, 0)
	md, err := compilePattern(L, pattern).Matcher(bytesOf(s), offset, interruptOf(L)).Next()
	if err != nil {
		raisePatternError(L, err)
	}
	if md == nil {
		L.Push(glua.LNil)
		return 1
	}
	return pushCaptures(L, s, md, true)
}

// string.gmatch(s, pattern): an iterator over the matches, each found when
// the iterator is called.
func strGmatch(L *glua.LState) int {
	s := L.CheckString(1)
	mt := compilePattern(L, L.CheckString(2)).Matcher(bytesOf(s), 0, nil)
	L.Push(L.NewFunction(func(L *glua.LState) int {
		mt.SetInterrupt(interruptOf(L))
		md, err := mt.Next()
		if err != nil {
			raisePatternError(L, err)
		}
		if md == nil {
			return 0
		}
		return pushCaptures(L, s, md, true)
	}))
	return 1
}

// gsubCheckEvery is how many replacements gsub makes between two looks at
// the context (a replacement function is Lua, checked by the VM itself).
const gsubCheckEvery = 256

// string.gsub(s, pattern, repl [, n])
func strGsub(L *glua.LState) int {
	s := L.CheckString(1)
	pattern := L.CheckString(2)
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
	mt := compilePattern(L, pattern).Matcher(bytesOf(s), 0, interrupt)
	var out strings.Builder
	prev, n := 0, 0
	for limit < 0 || n < limit {
		md, err := mt.Next()
		if err != nil {
			raisePatternError(L, err)
		}
		if md == nil {
			break
		}
		n++
		if interrupt != nil && n%gsubCheckEvery == 0 {
			if err := interrupt(); err != nil {
				raisePatternError(L, err)
			}
		}
		start, end := md.Capture(0), md.Capture(1)
		value, replaced := gsubValue(L, s, md, repl)
		if !replaced {
			continue
		}
		if maxLen > 0 && out.Len()+(start-prev)+len(value) > maxLen {
			L.RaiseError("string.gsub: result longer than %d bytes", maxLen)
		}
		out.WriteString(s[prev:start])
		out.WriteString(value)
		prev = end
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
func gsubValue(L *glua.LState, s string, md *pm.MatchData, repl glua.LValue) (string, bool) {
	var value glua.LValue
	switch r := repl.(type) {
	case glua.LString:
		return expandReplacement(L, s, md, string(r)), true
	case *glua.LTable:
		key := glua.LValue(glua.LString(s[md.Capture(0):md.Capture(1)]))
		if md.CaptureLength() > 2 {
			key = captureValue(s, md, 2)
		}
		value = L.GetTable(r, key)
	case *glua.LFunction:
		L.Push(r)
		nargs := pushCaptures(L, s, md, true)
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
func expandReplacement(L *glua.LState, s string, md *pm.MatchData, repl string) string {
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
			idx := 2 * int(d-'0')
			if idx > 2 && idx >= md.CaptureLength() {
				L.RaiseError("invalid capture index")
			}
			if idx >= md.CaptureLength() {
				idx = 0
			}
			if md.IsPosCapture(idx) {
				b.WriteString(strconv.Itoa(md.Capture(idx)))
			} else {
				b.WriteString(s[md.Capture(idx):md.Capture(idx+1)])
			}
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return b.String()
}
