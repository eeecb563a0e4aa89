package compat

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/xdg-go/stringprep"
	glua "github.com/yuin/gopher-lua"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// util.encodings as Prosody 0.12 builds it on ICU: base64, utf8,
// stringprep (the XMPP and SASL profiles) and idna. confusable.skeleton is
// left out: only a registration module uses it.
//
// The stringprep profiles are assembled from the RFC 3454 tables that
// github.com/xdg-go/stringprep ships, rather than from tables written here,
// so the tables stay those of the RFC (the pipeline is ours: see
// stringprepProfile). Prosody lets unassigned code points
// (RFC 3454 table A.1) through unless the second argument is true ("strict",
// stored-string mode), and returns nil for any failure, including input or
// output of 1024 bytes or more and invalid UTF-8.

// stringprepMaxLen is Prosody's buffer size: input and output must be
// shorter than this many bytes.
const stringprepMaxLen = 1024

// nodeprepProhibitedASCII are the characters RFC 3920 appendix A.5 adds to
// the nodeprep prohibited set.
var nodeprepProhibitedASCII = stringprep.Set{
	{0x22, 0x22}, {0x26, 0x27}, {0x2F, 0x2F}, {0x3A, 0x3A}, {0x3C, 0x3C}, {0x3E, 0x3E}, {0x40, 0x40},
}

// nonASCIISpaces are RFC 3454 table C.1.2, which SASLprep (RFC 4013 2.1)
// maps to a space before anything else.
var nonASCIISpaces = func() stringprep.Mapping {
	m := stringprep.Mapping{}
	for _, r := range stringprep.TableC1_2 {
		for c := r[0]; c <= r[1]; c++ {
			m[c] = []rune{' '}
		}
	}
	return m
}()

// tableB1Missing is the entry of RFC 3454 table B.1 (commonly mapped to
// nothing) that xdg-go/stringprep's TableB1 lacks: U+1806 MONGOLIAN TODO
// SOFT HYPHEN.
var tableB1Missing = stringprep.Mapping{0x1806: {}}

// corrigendum4 holds the five CJK compatibility ideographs whose
// decomposition Unicode Corrigendum #4 changed after 3.2; stringprep keeps
// the 3.2 ones, so they are mapped before normalization.
var corrigendum4 = map[rune]rune{
	0x2F868: 0x2136A, 0x2F874: 0x5F33, 0x2F91F: 0x43AB, 0x2F95F: 0x7AAE, 0x2F9BF: 0x4D57,
}

var commonProhibited = []stringprep.Set{
	stringprep.TableC1_2, stringprep.TableC2_2, stringprep.TableC3, stringprep.TableC4,
	stringprep.TableC5, stringprep.TableC6, stringprep.TableC7, stringprep.TableC8, stringprep.TableC9,
}

func withSets(base []stringprep.Set, extra ...stringprep.Set) []stringprep.Set {
	return append(append([]stringprep.Set{}, base...), extra...)
}

// stringprepProfile is an RFC 3454 profile run the way ICU's usprep (which
// Prosody uses) runs it, which differs from a plain reading of the RFC with
// today's Unicode data in two ways that decide real JIDs:
//   - normalization is NFKC restricted to characters assigned in Unicode 3.2
//     (table A.1 lists the rest): a later character is left as it is rather
//     than normalized with today's tables;
//   - the bidi rule (RFC 3454 section 6) takes each character's bidi class
//     from current Unicode data, so a character unassigned in 3.2 that sits
//     in a right-to-left block counts as right-to-left.
//
// Strict (stored-string) mode rejects table A.1 characters before and after
// mapping.
type stringprepProfile struct {
	maps       []stringprep.Mapping
	prohibited []stringprep.Set
}

func newStringprepProfile(maps []stringprep.Mapping, prohibited []stringprep.Set) stringprepProfile {
	return stringprepProfile{maps: maps, prohibited: prohibited}
}

// prepare applies the profile with Prosody's limits; ok is false where
// Prosody returns nil.
func (p stringprepProfile) prepare(s string, strict bool) (string, bool) {
	if len(s) >= stringprepMaxLen || !utf8.ValidString(s) {
		return "", false
	}
	if isPlainLowerASCII(s) {
		return s, true
	}
	mapped := make([]rune, 0, len(s))
	for _, r := range s {
		if strict && stringprep.TableA1.Contains(r) {
			return "", false
		}
		if repl, ok := p.mapRune(r); ok {
			mapped = append(mapped, repl...)
		} else if old, ok := corrigendum4[r]; ok {
			mapped = append(mapped, old)
		} else {
			mapped = append(mapped, r)
		}
	}
	out := normalizeUnicode32(mapped)
	if len(out) >= stringprepMaxLen {
		return "", false
	}
	if !p.allowed(out, strict) || !passesBidiRule(out) {
		return "", false
	}
	return out, true
}

func (p stringprepProfile) mapRune(r rune) ([]rune, bool) {
	for _, m := range p.maps {
		if repl, ok := m.Map(r); ok {
			return repl, true
		}
	}
	return nil, false
}

func (p stringprepProfile) allowed(s string, strict bool) bool {
	for _, r := range s {
		if strict && stringprep.TableA1.Contains(r) {
			return false
		}
		for _, set := range p.prohibited {
			if set.Contains(r) {
				return false
			}
		}
	}
	return true
}

// normalizeUnicode32 applies NFKC to the runs of characters assigned in
// Unicode 3.2 and leaves the others (which 3.2 normalization treats as
// blocking starters) in place.
func normalizeUnicode32(rs []rune) string {
	var b strings.Builder
	start := 0
	flush := func(end int) {
		if end > start {
			b.WriteString(norm.NFKC.String(string(rs[start:end])))
		}
	}
	for i, r := range rs {
		if stringprep.TableA1.Contains(r) {
			flush(i)
			b.WriteRune(r)
			start = i + 1
		}
	}
	flush(len(rs))
	return b.String()
}

// passesBidiRule is RFC 3454 section 6 with current bidi classes: a string
// with any R or AL character has no L character and starts and ends with
// R or AL.
func passesBidiRule(s string) bool {
	rtl, ltr := false, false
	var first, last bidi.Class
	for i, r := range s {
		props, _ := bidi.LookupRune(r)
		c := props.Class()
		if i == 0 {
			first = c
		}
		last = c
		switch c {
		case bidi.L:
			ltr = true
		case bidi.R, bidi.AL:
			rtl = true
		}
	}
	if !rtl {
		return true
	}
	isRTL := func(c bidi.Class) bool { return c == bidi.R || c == bidi.AL }
	return !ltr && isRTL(first) && isRTL(last)
}

var (
	// RFC 3491.
	nameprepProfile = newStringprepProfile(
		[]stringprep.Mapping{tableB1Missing, stringprep.TableB1, stringprep.TableB2}, commonProhibited)
	// RFC 3920 appendix A.
	nodeprepProfile = newStringprepProfile(
		[]stringprep.Mapping{tableB1Missing, stringprep.TableB1, stringprep.TableB2},
		withSets(commonProhibited, stringprep.TableC1_1, stringprep.TableC2_1, nodeprepProhibitedASCII))
	// RFC 3920 appendix B.
	resourceprepProfile = newStringprepProfile(
		[]stringprep.Mapping{tableB1Missing, stringprep.TableB1}, withSets(commonProhibited, stringprep.TableC2_1))
	// RFC 4013.
	saslprepProfile = newStringprepProfile(
		[]stringprep.Mapping{nonASCIISpaces, tableB1Missing, stringprep.TableB1}, withSets(commonProhibited, stringprep.TableC2_1))
)

// isPlainLowerASCII is a fast path: lower-case letters, digits, '.', '-' and
// '_' are unchanged and allowed by every profile here.
func isPlainLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// stringprepFunc is the Lua form: prep(s [, strict]) returns the prepared
// string or nil.
func stringprepFunc(p stringprepProfile) glua.LGFunction {
	return func(L *glua.LState) int {
		s := L.CheckString(1)
		strict := false
		if v := L.Get(2); v != glua.LNil {
			strict = bool(L.CheckBool(2))
		}
		out, ok := p.prepare(s, strict)
		if !ok {
			L.Push(glua.LNil)
		} else {
			L.Push(glua.LString(out))
		}
		return 1
	}
}

// IDNA as ICU's UTS #46 opened the way Prosody opens it: STD3 rules and
// transitional processing (so "ß" becomes "ss"), without the bidi and
// joiner checks, which Prosody does not ask for. Only to_ascii checks DNS
// label lengths, as ICU does.
var (
	idnaToASCII = idna.New(idna.MapForLookup(), idna.Transitional(true),
		idna.CheckHyphens(true), idna.CheckJoiners(false), idna.VerifyDNSLength(true))
	idnaMapped = idna.New(idna.MapForLookup(), idna.Transitional(true),
		idna.CheckHyphens(true), idna.CheckJoiners(false))
)

// idnaToUnicode maps and validates as to_ascii does (x/net's ToUnicode skips
// the transitional mapping ICU applies) and then decodes the A-labels.
func idnaToUnicode(s string) (string, error) {
	ascii, err := idnaMapped.ToASCII(s)
	if err != nil {
		return "", err
	}
	return idnaMapped.ToUnicode(ascii)
}

// hasEmptyLabel reports an empty label other than the root after a
// trailing dot.
func hasEmptyLabel(name string) bool {
	name = strings.TrimSuffix(name, ".")
	return name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..")
}

// idnaConvert runs conv on the name less one trailing root dot, which ICU
// accepts; empty labels fail, also those that mapping creates (U+3002 is a
// dot).
func idnaConvert(conv func(string) (string, error), s string) (string, bool) {
	if len(s) >= stringprepMaxLen || !utf8.ValidString(s) {
		return "", false
	}
	name, root := strings.CutSuffix(s, ".")
	if hasEmptyLabel(name) {
		return "", false
	}
	out, err := conv(name)
	if err != nil || hasEmptyLabel(out) {
		return "", false
	}
	if root {
		out += "."
	}
	return out, true
}

func idnaFunc(conv func(string) (string, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		out, ok := idnaConvert(conv, L.CheckString(1))
		if !ok {
			L.Push(glua.LNil)
		} else {
			L.Push(glua.LString(out))
		}
		return 1
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Decode decodes as Prosody's decoder does: whitespace (and \b, \f)
// is skipped, '=' ends a group early, an incomplete group at the end (or at a
// NUL byte, where it stops) is dropped, and any other character fails.
func base64Decode(s string) (string, bool) {
	out := make([]byte, 0, len(s)*3/4)
	var group [4]byte
	n := 0
	flush := func(k int) {
		v := uint32(group[0])<<18 | uint32(group[1])<<12 | uint32(group[2])<<6 | uint32(group[3])
		b := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
		if k > 1 {
			out = append(out, b[:k-1]...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 0:
			return string(out), true
		case '\n', '\r', '\t', ' ', '\f', '\b':
			continue
		case '=':
			for k := n; k < 4; k++ {
				group[k] = 0
			}
			flush(n)
			n = 0
			continue
		}
		idx := strings.IndexByte(base64Alphabet, c)
		if idx < 0 {
			return "", false
		}
		group[n] = byte(idx)
		n++
		if n == 4 {
			flush(4)
			n = 0
		}
	}
	return string(out), true
}

func openUtilEncodings(L *glua.LState) int {
	mod := L.NewTable()
	sub := func(name string, funcs map[string]glua.LGFunction) {
		t := L.NewTable()
		L.SetFuncs(t, funcs)
		mod.RawSetString(name, t)
	}
	sub("base64", map[string]glua.LGFunction{
		"encode": func(L *glua.LState) int {
			L.Push(glua.LString(base64.StdEncoding.EncodeToString([]byte(L.CheckString(1)))))
			return 1
		},
		"decode": func(L *glua.LState) int {
			out, ok := base64Decode(L.CheckString(1))
			if !ok {
				return 0 // Prosody returns no value at all
			}
			L.Push(glua.LString(out))
			return 1
		},
	})
	sub("utf8", map[string]glua.LGFunction{
		"valid": func(L *glua.LState) int {
			L.Push(glua.LBool(utf8.ValidString(L.CheckString(1))))
			return 1
		},
		// Prosody's length is the byte length, once the string is valid.
		"length": func(L *glua.LState) int {
			s := L.CheckString(1)
			if !utf8.ValidString(s) {
				L.Push(glua.LNil)
			} else {
				L.Push(glua.LNumber(len(s)))
			}
			return 1
		},
	})
	sub("stringprep", map[string]glua.LGFunction{
		"nameprep":     stringprepFunc(nameprepProfile),
		"nodeprep":     stringprepFunc(nodeprepProfile),
		"resourceprep": stringprepFunc(resourceprepProfile),
		"saslprep":     stringprepFunc(saslprepProfile),
	})
	sub("idna", map[string]glua.LGFunction{
		"to_ascii":   idnaFunc(idnaToASCII.ToASCII),
		"to_unicode": idnaFunc(idnaToUnicode),
	})
	mod.RawSetString("version", glua.LString("modhost"))
	L.Push(mod)
	return 1
}
