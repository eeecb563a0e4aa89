package lua

import (
	glua "github.com/yuin/gopher-lua"
)

// Lua patterns as Lua 5.1's lstrlib.c matches them: the engine behind
// OpenPatterns' string.find, string.match, string.gmatch and string.gsub
// (patterns.go).
//
// gopher-lua compiles a pattern into instructions for a recursive machine
// that takes one Go call per repetition of an item: `%s*` over n bytes is n
// nested calls, so "^%s*$" on a megabyte of spaces fails with "pattern/input
// too complex" (its limit is 10^6 levels) and shorter runs cost a Go stack
// that size (hundreds of MB); unanchored searches allocate per position
// tried. Lua's matcher (this one) counts the repetitions of a single-char
// item in a loop and backtracks over them without recursing, so its depth
// is bounded by the pattern, not the subject, and a search allocates
// nothing per position. Errors and results are Lua 5.1's; the subject and
// pattern are byte strings (an embedded "\0" does not end a pattern, as
// from Lua 5.2 on).

const (
	patEsc          = '%'
	patSpecials     = "^$*+?.([%-"
	patMaxCaptures  = 32
	capUnfinished   = -1
	capPosition     = -2
	patMaxRecursion = 20000 // nested items (repetitions, captures); far beyond real patterns
)

type matchState struct {
	L     *glua.LState
	src   string
	pat   string
	level int
	depth int
	capt  [patMaxCaptures]struct{ init, len int }
	// interrupt, if set, is checked every patCheckEvery steps (items
	// matched, repetitions counted, positions tried): a pattern that
	// backtracks for ever stops with the state's context, as a loop does.
	interrupt func() error
	steps     int
}

// patCheckEvery is how many steps go between two looks at the context
// (a few microseconds of matching).
const patCheckEvery = 4096

func (ms *matchState) tick() {
	ms.steps++
	if ms.steps%patCheckEvery == 0 && ms.interrupt != nil {
		if err := ms.interrupt(); err != nil {
			ms.L.RaiseError("%s", err.Error())
		}
	}
}

func (ms *matchState) errorf(format string, args ...any) {
	ms.L.RaiseError(format, args...)
}

func (ms *matchState) checkCapture(l int) int {
	l -= '1'
	if l < 0 || l >= ms.level || ms.capt[l].len == capUnfinished {
		ms.errorf("invalid capture index")
	}
	return l
}

func (ms *matchState) captureToClose() int {
	for level := ms.level - 1; level >= 0; level-- {
		if ms.capt[level].len == capUnfinished {
			return level
		}
	}
	ms.errorf("invalid pattern capture")
	return 0
}

// classEnd returns the index just past the single-char class at p.
func (ms *matchState) classEnd(p int) int {
	pat := ms.pat
	c := pat[p]
	p++
	switch c {
	case patEsc:
		if p >= len(pat) {
			ms.errorf("malformed pattern (ends with '%%')")
		}
		return p + 1
	case '[':
		if p < len(pat) && pat[p] == '^' {
			p++
		}
		for { // look for a ']'
			if p >= len(pat) {
				ms.errorf("malformed pattern (missing ']')")
			}
			c := pat[p]
			p++
			if c == patEsc && p < len(pat) {
				p++ // skip escapes (e.g. '%]')
			}
			if p < len(pat) && pat[p] == ']' {
				return p + 1
			}
			if p >= len(pat) {
				ms.errorf("malformed pattern (missing ']')")
			}
		}
	}
	return p
}

// matchClass is C's ctype in the C locale, as Lua's match_class.
func matchClass(c byte, cl byte) bool {
	var res bool
	switch cl | 0x20 { // tolower for letters
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = c < 0x20 || c == 0x7f
	case 'd':
		res = '0' <= c && c <= '9'
	case 'l':
		res = 'a' <= c && c <= 'z'
	case 'p':
		res = (0x21 <= c && c <= 0x2f) || (0x3a <= c && c <= 0x40) || (0x5b <= c && c <= 0x60) || (0x7b <= c && c <= 0x7e)
	case 's':
		res = c == ' ' || ('\t' <= c && c <= '\r')
	case 'u':
		res = 'A' <= c && c <= 'Z'
	case 'w':
		res = isAlpha(c) || ('0' <= c && c <= '9')
	case 'x':
		res = ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if !isAlpha(cl) { // cl|0x20 of a non-letter can equal a class letter
		return cl == c
	}
	if 'a' <= cl && cl <= 'z' {
		return res
	}
	return !res
}

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// matchBracketClass matches c against the set from p ('[') to ec (']').
func (ms *matchState) matchBracketClass(c byte, p, ec int) bool {
	pat := ms.pat
	sig := true
	if pat[p+1] == '^' {
		sig = false
		p++ // skip the '^'
	}
	for p++; p < ec; p++ {
		switch {
		case pat[p] == patEsc:
			p++
			if matchClass(c, pat[p]) {
				return sig
			}
		case pat[p+1] == '-' && p+2 < ec:
			p += 2
			if pat[p-2] <= c && c <= pat[p] {
				return sig
			}
		case pat[p] == c:
			return sig
		}
	}
	return !sig
}

// singleMatch reports whether the subject byte at s matches the class from
// p to ep; false past the subject's end.
func (ms *matchState) singleMatch(s, p, ep int) bool {
	if s >= len(ms.src) {
		return false
	}
	c := ms.src[s]
	switch ms.pat[p] {
	case '.':
		return true
	case patEsc:
		return matchClass(c, ms.pat[p+1])
	case '[':
		return ms.matchBracketClass(c, p, ep-1)
	}
	return ms.pat[p] == c
}

func (ms *matchState) matchBalance(s, p int) int {
	if p+1 >= len(ms.pat) {
		ms.errorf("unbalanced pattern")
	}
	if s >= len(ms.src) || ms.src[s] != ms.pat[p] {
		return -1
	}
	b, e := ms.pat[p], ms.pat[p+1]
	cont := 1
	for s++; s < len(ms.src); s++ {
		switch ms.src[s] {
		case e:
			if cont--; cont == 0 {
				return s + 1
			}
		case b:
			cont++
		}
	}
	return -1 // the string ends out of balance
}

func (ms *matchState) maxExpand(s, p, ep int) int {
	i := 0 // how many repetitions the item matches at most
	for ms.singleMatch(s+i, p, ep) {
		i++
		ms.tick()
	}
	// Try the rest with the most repetitions first, one fewer each time.
	for ; i >= 0; i-- {
		if res := ms.match(s+i, ep+1); res >= 0 {
			return res
		}
	}
	return -1
}

func (ms *matchState) minExpand(s, p, ep int) int {
	for {
		if res := ms.match(s, ep+1); res >= 0 {
			return res
		}
		if !ms.singleMatch(s, p, ep) {
			return -1
		}
		s++ // one more repetition
	}
}

func (ms *matchState) startCapture(s, p, what int) int {
	level := ms.level
	if level >= patMaxCaptures {
		ms.errorf("too many captures")
	}
	ms.capt[level].init, ms.capt[level].len = s, what
	ms.level = level + 1
	res := ms.match(s, p)
	if res < 0 {
		ms.level-- // undo the capture
	}
	return res
}

func (ms *matchState) endCapture(s, p int) int {
	l := ms.captureToClose()
	ms.capt[l].len = s - ms.capt[l].init // close the capture
	res := ms.match(s, p)
	if res < 0 {
		ms.capt[l].len = capUnfinished // undo it
	}
	return res
}

func (ms *matchState) matchCapture(s int, l byte) int {
	i := ms.checkCapture(int(l))
	c := ms.capt[i]
	if len(ms.src)-s >= c.len && ms.src[c.init:c.init+c.len] == ms.src[s:s+c.len] {
		return s + c.len
	}
	return -1
}

// match matches the pattern from p against the subject from s and returns
// where the match ends, or -1.
func (ms *matchState) match(s, p int) int {
	ms.depth++
	if ms.depth > patMaxRecursion {
		ms.errorf("pattern too complex")
	}
	ms.tick()
	res := ms.doMatch(s, p)
	ms.depth-- // not restored by an error: the state is dropped then
	return res
}

func (ms *matchState) doMatch(s, p int) int {
	pat := ms.pat
	for { // tail calls are loops
		if p >= len(pat) { // end of pattern
			return s
		}
		switch pat[p] {
		case '(':
			if p+1 < len(pat) && pat[p+1] == ')' { // position capture
				return ms.startCapture(s, p+2, capPosition)
			}
			return ms.startCapture(s, p+1, capUnfinished)
		case ')':
			return ms.endCapture(s, p+1)
		case '$':
			if p+1 == len(pat) { // the last char: the end of the subject
				if s == len(ms.src) {
					return s
				}
				return -1
			}
		case patEsc:
			if p+1 < len(pat) {
				switch next := pat[p+1]; {
				case next == 'b': // balanced string
					if s = ms.matchBalance(s, p+2); s < 0 {
						return -1
					}
					p += 4
					continue
				case next == 'f': // frontier
					p += 2
					if p >= len(pat) || pat[p] != '[' {
						ms.errorf("missing '[' after '%%f' in pattern")
					}
					ep := ms.classEnd(p)
					var previous, current byte
					if s > 0 {
						previous = ms.src[s-1]
					}
					if s < len(ms.src) {
						current = ms.src[s]
					}
					if ms.matchBracketClass(previous, p, ep-1) || !ms.matchBracketClass(current, p, ep-1) {
						return -1
					}
					p = ep
					continue
				case '0' <= next && next <= '9': // a capture's text again (%1-%9)
					if s = ms.matchCapture(s, next); s < 0 {
						return -1
					}
					p += 2
					continue
				}
			}
		}
		// A single-char class, perhaps followed by a repetition.
		ms.tick()
		ep := ms.classEnd(p)
		m := ms.singleMatch(s, p, ep)
		var rep byte
		if ep < len(pat) {
			rep = pat[ep]
		}
		switch rep {
		case '?':
			if m {
				if res := ms.match(s+1, ep+1); res >= 0 {
					return res
				}
			}
			p = ep + 1
		case '*':
			return ms.maxExpand(s, p, ep)
		case '+':
			if !m {
				return -1
			}
			return ms.maxExpand(s+1, p, ep)
		case '-':
			return ms.minExpand(s, p, ep)
		default:
			if !m {
				return -1
			}
			s++
			p = ep
		}
	}
}

// capture returns capture i of the match from s to e.
func (ms *matchState) capture(i, s, e int) glua.LValue {
	if i >= ms.level {
		if i == 0 { // no captures: the whole match
			return glua.LString(ms.src[s:e])
		}
		ms.errorf("invalid capture index")
	}
	c := ms.capt[i]
	switch c.len {
	case capUnfinished:
		ms.errorf("unfinished capture")
	case capPosition:
		return glua.LNumber(c.init + 1)
	}
	return glua.LString(ms.src[c.init : c.init+c.len])
}

// pushCaptures pushes the captures (or the whole match from s to e when
// there are none and s >= 0) and returns how many.
func (ms *matchState) pushCaptures(s, e int) int {
	n := ms.level
	if n == 0 && s >= 0 {
		n = 1
	}
	for i := range n {
		ms.L.Push(ms.capture(i, s, e))
	}
	return n
}
