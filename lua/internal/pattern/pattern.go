// Package pattern is a Lua 5.1 string pattern matcher (Reference Manual
// §5.4.1), written for modhost from the manual and from what lua5.1 does,
// with a step counter so that a match can be interrupted.
//
// A pattern is compiled once into a list of items and checked whole at
// compile time: a malformed pattern is refused with Lua 5.1's message
// before anything is matched (Lua 5.1 raises only when the matcher reaches
// the bad part, so for some subjects it answers where this package errs).
//
// The matcher backtracks, but only at choice points: a repeated single-char
// item (* + - ?) counts its matches in a loop and tries the rest of the
// pattern from each count in turn (longest first for * + ?, shortest first
// for -), so the Go stack grows with the pattern's items, never with the
// subject. Captures, anchors, %b, %f and back-references are steps of the
// same loop. Every CheckEvery steps (an item tried, or a character scanned)
// the matcher calls its interrupt function; an error from it stops the
// match and is returned.
package pattern

import (
	"errors"
	"strings"
)

// CheckEvery is how many steps the matcher takes between two calls of its
// interrupt function (a power of two).
const CheckEvery = 4096

// MaxCaptures is Lua 5.1's LUA_MAXCAPTURES.
const MaxCaptures = 32

type kind uint8

const (
	kSingle   kind = iota // one character of set, with rep
	kOpen                 // ( : capture n starts
	kClose                // ) : capture n ends
	kPosition             // () : position capture n
	kBackref              // %n : the text of capture n again
	kBalance              // %bxy
	kFrontier             // %f[set]
	kEnd                  // $ at the end of the pattern
)

// set is a set of bytes.
type set [4]uint64

func (s *set) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *set) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *set) union(o *set)    { s[0] |= o[0]; s[1] |= o[1]; s[2] |= o[2]; s[3] |= o[3] }
func (s *set) invert()         { s[0], s[1], s[2], s[3] = ^s[0], ^s[1], ^s[2], ^s[3] }
func (s *set) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.add(byte(c))
	}
}

type item struct {
	kind kind
	rep  byte // 0, '*', '+', '-' or '?' (kSingle only)
	n    int  // capture index (kOpen, kClose, kPosition, kBackref)
	a, b byte // kBalance
	set  set  // kSingle, kFrontier
}

// Pattern is a compiled pattern; it is read-only and can be shared.
type Pattern struct {
	items    []item
	anchored bool // began with ^
	ncap     int
}

// Error is a malformed pattern; its text is Lua 5.1's message.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func perr(msg string) error { return &Error{Msg: msg} }

// Compile compiles pattern as string.find, match and gsub read it: a ^ at
// the start anchors the match.
func Compile(pattern string) (*Pattern, error) { return compile(pattern, true) }

// CompileUnanchored compiles pattern as Lua 5.1's string.gmatch reads it: a
// ^ at the start is an ordinary character.
func CompileUnanchored(pattern string) (*Pattern, error) { return compile(pattern, false) }

// Anchored reports whether the pattern began with an anchoring ^.
func (p *Pattern) Anchored() bool { return p.anchored }

// Captures is how many captures the pattern has.
func (p *Pattern) Captures() int { return p.ncap }

func compile(pat string, anchor bool) (*Pattern, error) {
	p := &Pattern{}
	i := 0
	if anchor && strings.HasPrefix(pat, "^") {
		p.anchored = true
		i = 1
	}
	var open []int // captures opened and not yet closed
	closed := make([]bool, 0, MaxCaptures)
	for i < len(pat) {
		c := pat[i]
		switch {
		case c == '(':
			if p.ncap >= MaxCaptures {
				return nil, perr("too many captures")
			}
			if i+1 < len(pat) && pat[i+1] == ')' {
				p.items = append(p.items, item{kind: kPosition, n: p.ncap})
				closed = append(closed, true)
				p.ncap++
				i += 2
				continue
			}
			p.items = append(p.items, item{kind: kOpen, n: p.ncap})
			open = append(open, p.ncap)
			closed = append(closed, false)
			p.ncap++
			i++
			continue
		case c == ')':
			if len(open) == 0 {
				return nil, perr("invalid pattern capture")
			}
			n := open[len(open)-1]
			open = open[:len(open)-1]
			closed[n] = true
			p.items = append(p.items, item{kind: kClose, n: n})
			i++
			continue
		case c == '$' && i == len(pat)-1:
			p.items = append(p.items, item{kind: kEnd})
			i++
			continue
		case c == '%' && i+1 < len(pat):
			switch d := pat[i+1]; {
			case d == 'b':
				if i+3 >= len(pat) {
					return nil, perr("unbalanced pattern")
				}
				p.items = append(p.items, item{kind: kBalance, a: pat[i+2], b: pat[i+3]})
				i += 4
				continue
			case d == 'f':
				i += 2
				if i >= len(pat) || pat[i] != '[' {
					return nil, perr("missing '[' after '%f' in pattern")
				}
				it := item{kind: kFrontier}
				next, err := readClass(pat, i, &it.set)
				if err != nil {
					return nil, err
				}
				p.items = append(p.items, it)
				i = next
				continue
			case d >= '0' && d <= '9':
				n := int(d - '1')
				if n < 0 || n >= len(closed) || !closed[n] {
					return nil, perr("invalid capture index")
				}
				p.items = append(p.items, item{kind: kBackref, n: n})
				i += 2
				continue
			}
		}
		it := item{kind: kSingle}
		next, err := readClass(pat, i, &it.set)
		if err != nil {
			return nil, err
		}
		i = next
		if i < len(pat) {
			switch r := pat[i]; r {
			case '*', '+', '-', '?':
				it.rep = r
				i++
			}
		}
		p.items = append(p.items, it)
	}
	if len(open) > 0 {
		return nil, perr("unfinished capture")
	}
	return p, nil
}

// readClass reads one single-char class at pat[i] (a character, '.', a %
// escape or a [set]) into s and returns the index after it.
func readClass(pat string, i int, s *set) (int, error) {
	switch c := pat[i]; c {
	case '.':
		s.invert()
		return i + 1, nil
	case '%':
		if i+1 >= len(pat) {
			return 0, perr("malformed pattern (ends with '%')")
		}
		escape(pat[i+1], s)
		return i + 2, nil
	case '[':
		return readSet(pat, i, s)
	default:
		s.add(c)
		return i + 1, nil
	}
}

// readSet reads [set] starting at pat[i] == '['. The set ends at the first
// ] that is not its first character (after [ or [^) and not escaped by %.
// Inside it, %x is a class or x, and c-d is a range when d comes before
// that closing ] (d is taken as it is, even if it is %).
func readSet(pat string, i int, s *set) (int, error) {
	i++
	neg := false
	if i < len(pat) && pat[i] == '^' {
		neg = true
		i++
	}
	end := i
	for first := true; ; first = false {
		if end >= len(pat) {
			return 0, perr("malformed pattern (missing ']')")
		}
		c := pat[end]
		if c == ']' && !first {
			break
		}
		end++
		if c == '%' {
			if end >= len(pat) {
				return 0, perr("malformed pattern (missing ']')")
			}
			end++
		}
	}
	for i < end {
		c := pat[i]
		switch {
		case c == '%':
			escape(pat[i+1], s)
			i += 2
		case i+2 < end && pat[i+1] == '-':
			s.addRange(c, pat[i+2])
			i += 3
		default:
			s.add(c)
			i++
		}
	}
	if neg {
		s.invert()
	}
	return end + 1, nil
}

// classes are the sets of %a, %c, ... in the C locale, by letter.
var classes [256]*set

func init() {
	def := func(letter byte, in func(c byte) bool) {
		var s set
		for c := 0; c < 256; c++ {
			if in(byte(c)) {
				s.add(byte(c))
			}
		}
		classes[letter] = &s
		u := s
		u.invert()
		classes[letter-'a'+'A'] = &u
	}
	lower := func(c byte) bool { return c >= 'a' && c <= 'z' }
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	alpha := func(c byte) bool { return lower(c) || upper(c) }
	alnum := func(c byte) bool { return alpha(c) || digit(c) }
	def('a', alpha)
	def('c', func(c byte) bool { return c < 32 || c == 127 })
	def('d', digit)
	def('l', lower)
	def('p', func(c byte) bool { return c > 32 && c < 127 && !alnum(c) })
	def('s', func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') })
	def('u', upper)
	def('w', alnum)
	def('x', func(c byte) bool { return digit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') })
	def('z', func(c byte) bool { return c == 0 })
}

// escape adds %c to s: a class, or c itself.
func escape(c byte, s *set) {
	if cl := classes[c]; cl != nil {
		s.union(cl)
		return
	}
	s.add(c)
}

// capture states besides a length.
const (
	capUnfinished = -1
	capPosition   = -2
)

// Matcher matches one compiled pattern against one subject. It is not safe
// for concurrent use; it allocates nothing per match or start position.
type Matcher struct {
	p         *Pattern
	s         string
	interrupt func() error
	steps     int
	err       error
	start     int
	end       int
	caps      [MaxCaptures]struct{ start, len int }
}

// NewMatcher prepares p against subject s. interrupt, if not nil, is called
// every CheckEvery steps; a non-nil error stops the match.
func (p *Pattern) NewMatcher(s string, interrupt func() error) *Matcher {
	return &Matcher{p: p, s: s, interrupt: interrupt}
}

// SetInterrupt replaces the interrupt function (nil: none).
func (m *Matcher) SetInterrupt(f func() error) { m.interrupt = f }

// ErrInterrupted is never returned by the matcher itself; it is here for
// interrupt functions that have no error of their own to give.
var ErrInterrupted = errors.New("pattern match interrupted")

// Find looks for the first match starting at or after init (0-based; an
// anchored pattern only at init) and reports whether there is one.
func (m *Matcher) Find(init int) (bool, error) {
	m.err = nil
	for pos := init; pos <= len(m.s); pos++ {
		if e := m.match(pos, 0); e >= 0 {
			m.start, m.end = pos, e
			return true, nil
		}
		if m.err != nil {
			return false, m.err
		}
		if m.p.anchored {
			break
		}
	}
	return false, nil
}

// MatchAt reports whether the pattern matches at pos exactly (ignoring
// whether it is anchored).
func (m *Matcher) MatchAt(pos int) (bool, error) {
	m.err = nil
	if e := m.match(pos, 0); e >= 0 {
		m.start, m.end = pos, e
		return true, nil
	}
	return false, m.err
}

// Start and End are the bounds of the last match (0-based, end exclusive).
func (m *Matcher) Start() int { return m.start }

// End: see Start.
func (m *Matcher) End() int { return m.end }

// Capture is capture i (0-based) of the last match: its text, or for a
// position capture its 1-based position with pos set.
func (m *Matcher) Capture(i int) (text string, position int, pos bool) {
	c := m.caps[i]
	if c.len == capPosition {
		return "", c.start + 1, true
	}
	return m.s[c.start : c.start+c.len], 0, false
}

// tick counts n steps and calls the interrupt function when a multiple of
// CheckEvery is crossed; false means stop.
func (m *Matcher) tick(n int) bool {
	before := m.steps
	m.steps += n
	if m.interrupt == nil || before/CheckEvery == m.steps/CheckEvery {
		return true
	}
	if err := m.interrupt(); err != nil {
		m.err = err
		return false
	}
	return true
}

// match matches items[i:] at s[pos:] and returns the end of the match, or
// -1 (with m.err set if it was interrupted). It recurses only to try the
// rest of the pattern after a repeated item, so its depth is at most the
// number of items.
func (m *Matcher) match(pos, i int) int {
	s, items := m.s, m.p.items
	for ; i < len(items); i++ {
		if !m.tick(1) {
			return -1
		}
		it := &items[i]
		switch it.kind {
		case kSingle:
			switch it.rep {
			case 0:
				if pos < len(s) && it.set.has(s[pos]) {
					pos++
					continue
				}
				return -1
			case '?':
				if pos < len(s) && it.set.has(s[pos]) {
					if e := m.match(pos+1, i+1); e >= 0 || m.err != nil {
						return e
					}
				}
				continue
			case '*', '+':
				n := 0
				for pos+n < len(s) && it.set.has(s[pos+n]) {
					n++
				}
				if !m.tick(n) {
					return -1
				}
				least := 0
				if it.rep == '+' {
					least = 1
				}
				if i+1 == len(items) {
					if n >= least {
						return pos + n
					}
					return -1
				}
				// When the next item is one plain character, look at it
				// here rather than in a call per position backed off.
				next := &items[i+1]
				plain := next.kind == kSingle && next.rep == 0
				for ; n >= least; n-- {
					if plain && (pos+n >= len(s) || !next.set.has(s[pos+n])) {
						if !m.tick(1) {
							return -1
						}
						continue
					}
					if e := m.match(pos+n, i+1); e >= 0 || m.err != nil {
						return e
					}
				}
				return -1
			default: // '-'
				for {
					if e := m.match(pos, i+1); e >= 0 || m.err != nil {
						return e
					}
					if pos < len(s) && it.set.has(s[pos]) {
						pos++
						continue
					}
					return -1
				}
			}
		case kOpen:
			m.caps[it.n].start, m.caps[it.n].len = pos, capUnfinished
		case kClose:
			m.caps[it.n].len = pos - m.caps[it.n].start
		case kPosition:
			m.caps[it.n].start, m.caps[it.n].len = pos, capPosition
		case kBackref:
			c := m.caps[it.n]
			if c.len < 0 || !strings.HasPrefix(s[pos:], s[c.start:c.start+c.len]) {
				return -1
			}
			pos += c.len
		case kBalance:
			if pos >= len(s) || s[pos] != it.a {
				return -1
			}
			depth, j := 1, pos+1
			for ; j < len(s); j++ {
				if c := s[j]; c == it.b {
					if depth--; depth == 0 {
						break
					}
				} else if c == it.a {
					depth++
				}
			}
			if !m.tick(j - pos) {
				return -1
			}
			if j >= len(s) {
				return -1
			}
			pos = j + 1
		case kFrontier:
			var prev, cur byte
			if pos > 0 {
				prev = s[pos-1]
			}
			if pos < len(s) {
				cur = s[pos]
			}
			if it.set.has(prev) || !it.set.has(cur) {
				return -1
			}
		case kEnd:
			if pos != len(s) {
				return -1
			}
		}
	}
	return pos
}

// Text is the text of the last match.
func (m *Matcher) Text() string { return m.s[m.start:m.end] }
