package compat

import (
	"math"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// util.json behaves as Prosody 0.12's util/json.lua, whose rules plugins
// depend on and which differ from both encoding/json and layeh.com/gopher-json
// (used for cjson, see cjson.go):
//   - a Lua table is an array only if it is a non-empty sequence with no other
//     encodable keys; the empty table is "{}"; other integer keys and
//     non-string keys travel in a "__hash" list and the sequence part in an
//     "__array" list inside the object, and decode puts them back;
//   - json.null is a table sentinel; decode returns it for every JSON null;
//   - decoded arrays carry util.array's metatable, and a table with that
//     metatable always encodes as an array;
//   - decode is lenient (raw control characters, unknown escapes kept, trailing
//     comma in objects) and reports errors as nil plus a short message, or nil
//     plus a position for a bad number or an empty input;
//   - strings are written byte for byte: only '"', '\' and C0 controls are
//     escaped.
// gopher-json maps null to nil (which collapses arrays), encodes {} as [] and
// rejects mixed tables, so it cannot serve here.
//
// Deliberate differences from Prosody: tables are read raw (no __index,
// __pairs); a table cycle raises an error instead of overflowing the stack;
// a util.array object without t[1] encodes as "[]" (Prosody writes "]"); a
// decoded "__array"/"__hash" member that is not a list is dropped (Prosody
// raises); nesting deeper than jsonMaxDepth raises; whole numbers encode as
// integers ("1", not Lua 5.4's "1.0" for floats) since gopher-lua has one
// number type.

// jsonMaxDepth bounds decoding recursion; Prosody's recursive reader would
// hit Lua's stack limit on hostile input instead.
const jsonMaxDepth = 10000

// jsonCycleCheckDepth is the nesting below which encode skips cycle tracking:
// ordinary documents are shallow, and a cycle is found soon after it.
const jsonCycleCheckDepth = 64

type utilJSON struct {
	null    *glua.LTable
	arrayMT glua.LValue
}

func openUtilJSON(L *glua.LState) int {
	j := &utilJSON{null: newTostringSentinel(L, "null"), arrayMT: utilArrayMetatable(L)}
	mod := L.NewTable()
	mod.RawSetString("null", j.null)
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"encode":         func(L *glua.LState) int { return j.encode(L, false, false) },
		"encode_ordered": func(L *glua.LState) int { return j.encode(L, true, false) },
		"encode_array":   func(L *glua.LState) int { return j.encode(L, false, true) },
		"decode":         j.decode,
	})
	L.Push(mod)
	return 1
}

// newTostringSentinel returns an empty table whose tostring is name.
func newTostringSentinel(L *glua.LState, name string) *glua.LTable {
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(name))
		return 1
	}))
	L.SetMetatable(t, mt)
	return t
}

// utilArrayMetatable returns the metatable of util.array objects, or a fresh
// table (matching nothing) when util.array cannot be loaded, as Prosody does.
func utilArrayMetatable(L *glua.LState) glua.LValue {
	fn, err := L.LoadString(`local ok, array = pcall(require, "util.array")
		if ok and type(array) == "table" then
			local ok2, a = pcall(array)
			if ok2 then return getmetatable(a) end
		end`)
	if err == nil {
		L.Push(fn)
		if L.PCall(0, 1, nil) == nil {
			mt := L.Get(-1)
			L.Pop(1)
			if mt != glua.LNil {
				return mt
			}
		}
	}
	return L.NewTable()
}

func (j *utilJSON) encode(L *glua.LState, ordered, asArray bool) int {
	e := jsonEncoder{L: L, null: j.null, arrayMT: j.arrayMT, ordered: ordered}
	v := L.Get(1)
	if asArray {
		t, ok := v.(*glua.LTable)
		if !ok {
			L.ArgError(1, "table expected")
		}
		e.array(t)
	} else {
		e.value(v)
	}
	L.Push(glua.LString(e.buf))
	return 1
}

type jsonEncoder struct {
	L       *glua.LState
	buf     []byte
	null    *glua.LTable
	arrayMT glua.LValue
	ordered bool
	depth   int
	seen    map[*glua.LTable]bool
	pairs   []jsonPair
	others  []jsonPair
}

func (e *jsonEncoder) value(v glua.LValue) {
	switch v := v.(type) {
	case glua.LNumber:
		e.buf = appendLuaNumber(e.buf, float64(v))
	case glua.LString:
		e.buf = appendJSONString(e.buf, string(v), false)
	case glua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(v))
	case *glua.LTable:
		if v == e.null {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.enter(v)
		if e.L.GetMetatable(v) == e.arrayMT {
			e.array(v)
		} else {
			e.table(v)
		}
		e.leave(v)
	default: // nil, functions, userdata, threads
		e.buf = append(e.buf, "null"...)
	}
}

// enter raises a Lua error on a table cycle, which Prosody's encoder would
// only report as a stack overflow.
func (e *jsonEncoder) enter(t *glua.LTable) {
	e.depth++
	if e.depth < jsonCycleCheckDepth {
		return
	}
	if e.seen == nil {
		e.seen = map[*glua.LTable]bool{}
	}
	if e.seen[t] {
		e.L.RaiseError("json.encode: cannot encode a table that contains itself")
	}
	e.seen[t] = true
}

func (e *jsonEncoder) leave(t *glua.LTable) {
	if e.depth >= jsonCycleCheckDepth {
		delete(e.seen, t)
	}
	e.depth--
}

// array writes t[1..n] up to the first nil. Prosody writes a lone "]" for a
// table that has keys but no t[1]; we write "[]".
func (e *jsonEncoder) array(t *glua.LTable) {
	e.buf = append(e.buf, '[')
	for i := 1; ; i++ {
		v := t.RawGetInt(i)
		if v == glua.LNil {
			break
		}
		if i > 1 {
			e.buf = append(e.buf, ',')
		}
		e.value(v)
	}
	e.buf = append(e.buf, ']')
}

func sequenceLength(t *glua.LTable) int {
	n := 0
	for t.RawGetInt(n+1) != glua.LNil {
		n++
	}
	return n
}

// inSequence reports whether k is one of the integer keys 1..n.
func inSequence(k glua.LValue, n int) bool {
	f, ok := k.(glua.LNumber)
	return ok && f >= 1 && f <= glua.LNumber(n) && f == glua.LNumber(math.Trunc(float64(f)))
}

func jsonEncodable(v glua.LValue) bool {
	switch v.(type) {
	case glua.LNumber, glua.LString, *glua.LTable, glua.LBool:
		return true
	}
	return false
}

func isSpecialKey(s glua.LString) bool { return s == "__array" || s == "__hash" }

// table writes t as an array if it is a non-empty sequence and nothing else
// encodable, else as an object: string keys, then "__hash" pairs for other
// keys, then "__array" for the sequence part.
func (e *jsonEncoder) table(t *glua.LTable) {
	n := sequenceLength(t)
	// Entries are gathered once, into e.pairs (object members) and e.others
	// ("__hash" pairs), shared by all levels, each level using the part
	// above its base: iterating a gopher-lua table boxes every key.
	base, otherBase := len(e.pairs), len(e.others)
	t.ForEach(func(k, v glua.LValue) {
		if !jsonEncodable(v) {
			return
		}
		if s, ok := k.(glua.LString); ok && !isSpecialKey(s) {
			e.pairs = append(e.pairs, jsonPair{k: k, v: v})
		} else if jsonEncodable(k) && !inSequence(k, n) {
			e.others = append(e.others, jsonPair{k: k, v: v})
		}
	})
	named, other := len(e.pairs)-base, len(e.others)-otherBase
	defer func() { e.pairs, e.others = e.pairs[:base], e.others[:otherBase] }()
	if named == 0 && other == 0 && n > 0 {
		e.array(t)
		return
	}
	if e.ordered {
		members := e.pairs[base:]
		sort.Slice(members, func(i, j int) bool {
			return members[i].k.(glua.LString) < members[j].k.(glua.LString)
		})
	}
	e.buf = append(e.buf, '{')
	first := true
	for i := 0; i < named; i++ {
		p := e.pairs[base+i] // e.pairs may grow (and move) while values are written
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = appendJSONString(e.buf, string(p.k.(glua.LString)), false)
		e.buf = append(e.buf, ':')
		e.value(p.v)
	}
	if other > 0 {
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, `"__hash":[`...)
		for i := 0; i < other; i++ {
			p := e.others[otherBase+i]
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.value(p.k)
			e.buf = append(e.buf, ',')
			e.value(p.v)
		}
		e.buf = append(e.buf, ']')
	}
	if n > 0 {
		if !first {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, `"__array":`...)
		e.array(t)
	}
	e.buf = append(e.buf, '}')
}

type jsonPair struct{ k, v glua.LValue }

// appendLuaNumber writes n as Prosody's encoder does, through tostring:
// whole numbers as integers (Lua 5.4 keeps decoded integers as integers),
// others with "%.14g", and the non-finite values as C prints them (which is
// not valid JSON, as in Prosody).
func appendLuaNumber(buf []byte, n float64) []byte {
	switch {
	case math.IsNaN(n):
		if math.Signbit(n) {
			return append(buf, "-nan"...)
		}
		return append(buf, "nan"...)
	case math.IsInf(n, 1):
		return append(buf, "inf"...)
	case math.IsInf(n, -1):
		return append(buf, "-inf"...)
	case n == math.Trunc(n) && math.Abs(n) < 1<<63:
		return strconv.AppendInt(buf, int64(n), 10)
	}
	return strconv.AppendFloat(buf, n, 'g', 14, 64)
}

const hexDigits = "0123456789ABCDEF"

// appendJSONString quotes s byte for byte, escaping '"', '\' and C0 control
// characters (\u00XX in upper case, as Prosody); cjsonStyle also escapes '/'
// and DEL and writes lower-case hex, as lua-cjson does.
func appendJSONString(buf []byte, s string, cjsonStyle bool) []byte {
	digits := hexDigits
	if cjsonStyle {
		digits = "0123456789abcdef"
	}
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c == '\b':
			esc = `\b`
		case c == '\f':
			esc = `\f`
		case c == '/' && cjsonStyle:
			esc = `\/`
		case c < 0x20 || (c == 0x7f && cjsonStyle):
		default:
			continue
		}
		buf = append(buf, s[start:i]...)
		if esc != "" {
			buf = append(buf, esc...)
		} else {
			buf = append(buf, '\\', 'u', '0', '0', digits[c>>4], digits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

func (j *utilJSON) decode(L *glua.LState) int {
	v, fail := decodeJSON(L, L.CheckString(1), j.null, j.arrayMT)
	if fail != nil {
		L.Push(glua.LNil)
		L.Push(fail)
		return 2
	}
	L.Push(v)
	return 1
}

// decodeJSON decodes src as util.json.decode does: the value, or a nil value
// and what Prosody's decoder returns as its error. With a nil L it touches no
// Lua state and may run on any goroutine (tables are only allocated, never
// shared until returned); nesting too deep is then a failure, not a raise.
func decodeJSON(L *glua.LState, src string, null *glua.LTable, arrayMT glua.LValue) (glua.LValue, glua.LValue) {
	if strings.IndexByte(src, '\\') >= 0 {
		src = normalizeJSONEscapes(src)
	}
	d := jsonDecoder{L: L, src: src, null: null, arrayMT: arrayMT}
	v, pos, fail := d.value(0, endOfInput)
	if fail == errTerminated { // empty text: Prosody returns the position
		fail = glua.LNumber(pos + 1)
	}
	if fail == nil {
		if next := skipJSONSpace(src, pos); next < len(src) && !isJSONSpace(src[next]) {
			fail = glua.LString("garbage at eof")
		}
	}
	if fail != nil {
		return nil, fail
	}
	return v, nil
}

// normalizeJSONEscapes rewrites every two-character escape as the \uXXXX
// escape it stands for, before parsing, as Prosody's decoder does: the string
// reader then only looks for the closing quote and \u sequences. Unknown
// escapes are left as they are (and end up in the decoded string), and the
// positions reported for bad numbers count the rewritten text.
func normalizeJSONEscapes(s string) string {
	out := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case '"':
			out = append(out, `\u0022`...)
		case '\\':
			out = append(out, `\u005c`...)
		case '/':
			out = append(out, `\u002f`...)
		case 'b':
			out = append(out, `\u0008`...)
		case 'f':
			out = append(out, `\u000C`...)
		case 'n':
			out = append(out, `\u000A`...)
		case 'r':
			out = append(out, `\u000D`...)
		case 't':
			out = append(out, `\u0009`...)
		default:
			out = append(out, '\\', s[i])
		}
	}
	return string(out)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipJSONSpace returns the index of the first non-space byte at or after i,
// or i itself when only spaces remain (Prosody's reader then fails on the
// space rather than on the end of input).
func skipJSONSpace(s string, i int) int {
	for k := i; k < len(s); k++ {
		if !isJSONSpace(s[k]) {
			return k
		}
	}
	return i
}

// endOfInput as a value terminator means "the end of the text", which is what
// Prosody's reader matches when it is not inside an array.
const endOfInput = -1

type jsonDecoder struct {
	L       *glua.LState
	src     string
	null    *glua.LTable
	arrayMT glua.LValue
	depth   int
}

// errTerminated is returned by value when it found the terminator instead of
// a value (an empty array, or the end of the text).
var errTerminated = glua.LString("")

// value reads the value starting at or after i (0-based). On success it
// returns the value and the index after it; on failure a nil value and the
// error value Prosody returns (a message, or a 1-based position).
func (d *jsonDecoder) value(i int, terminator int) (glua.LValue, int, glua.LValue) {
	i = skipJSONSpace(d.src, i)
	if i >= len(d.src) {
		if terminator == endOfInput {
			return nil, i, errTerminated
		}
		return nil, i, glua.LString("value expected")
	}
	switch c := d.src[i]; {
	case c == '{':
		return d.object(i)
	case c == '[':
		return d.array(i)
	case c == '"':
		return d.string(i)
	case c >= '0' && c <= '9' || c == '-':
		return d.number(i)
	case c == 'n':
		return d.literal(i, "null", d.null)
	case c == 't':
		return d.literal(i, "true", glua.LTrue)
	case c == 'f':
		return d.literal(i, "false", glua.LFalse)
	case int(c) == terminator:
		return nil, i, errTerminated
	}
	return nil, i, glua.LString("value expected")
}

func (d *jsonDecoder) literal(i int, word string, v glua.LValue) (glua.LValue, int, glua.LValue) {
	if len(d.src)-i >= len(word) && d.src[i:i+len(word)] == word {
		return v, i + len(word), nil
	}
	return nil, i, glua.LString(word + " parse failed")
}

// nest counts one more level; false (off the loop) or a raised error (on
// it) once the limit is passed.
func (d *jsonDecoder) nest() bool {
	d.depth++
	if d.depth <= jsonMaxDepth {
		return true
	}
	if d.L != nil {
		d.L.RaiseError("json.decode: %s", errJSONTooDeep)
	}
	return false
}

// errJSONTooDeep is the failure for nesting beyond jsonMaxDepth.
var errJSONTooDeep = glua.LString("nesting too deep")

// newJSONTable allocates a table. CreateTable does not use its receiver, so
// this needs no Lua state and is safe off the loop.
func newJSONTable(acap, hcap int) *glua.LTable {
	var none *glua.LState
	return none.CreateTable(acap, hcap)
}

func (d *jsonDecoder) object(i int) (glua.LValue, int, glua.LValue) {
	if !d.nest() {
		return nil, i, errJSONTooDeep
	}
	defer func() { d.depth-- }()
	o := newJSONTable(0, 4) // NewTable reserves 32+32 slots; objects are small
	for {
		i = skipJSONSpace(d.src, i+1)
		if i >= len(d.src) || d.src[i] != '"' {
			if i < len(d.src) && d.src[i] == '}' {
				return o, i + 1, nil // as Prosody: no __array/__hash fix-up here
			}
			return nil, i, glua.LString("key expected")
		}
		key, next, fail := d.string(i)
		if fail != nil {
			return nil, next, fail
		}
		i = skipJSONSpace(d.src, next)
		if i >= len(d.src) || d.src[i] != ':' {
			return nil, i, glua.LString("colon expected")
		}
		val, next, fail := d.value(i+1, endOfInput)
		if fail != nil {
			if fail == errTerminated {
				fail = glua.LNumber(next + 1)
			}
			return nil, next, fail
		}
		o.RawSet(key, val)
		i = skipJSONSpace(d.src, next)
		if i < len(d.src) && d.src[i] == '}' {
			d.unfoldMarkers(o)
			return o, i + 1, nil
		}
		if i >= len(d.src) || d.src[i] != ',' {
			return nil, i, glua.LString("object eof")
		}
	}
}

// unfoldMarkers moves the "__array" and "__hash" lists the encoder writes
// back into o. Markers that are not lists are dropped (Prosody raises).
func (d *jsonDecoder) unfoldMarkers(o *glua.LTable) {
	if arr := o.RawGetString("__array"); arr != glua.LNil {
		o.RawSetString("__array", glua.LNil)
		if t, ok := arr.(*glua.LTable); ok {
			for k := 1; ; k++ {
				v := t.RawGetInt(k)
				if v == glua.LNil {
					break
				}
				o.Append(v)
			}
		}
	}
	if h := o.RawGetString("__hash"); h != glua.LNil {
		o.RawSetString("__hash", glua.LNil)
		if t, ok := h.(*glua.LTable); ok {
			for k := 1; ; k += 2 {
				key, v := t.RawGetInt(k), t.RawGetInt(k+1)
				if key == glua.LNil || v == glua.LNil {
					break
				}
				o.RawSet(key, v)
			}
		}
	}
}

func (d *jsonDecoder) array(i int) (glua.LValue, int, glua.LValue) {
	if !d.nest() {
		return nil, i, errJSONTooDeep
	}
	defer func() { d.depth-- }()
	a := newJSONTable(4, 0)
	n := 0
	for {
		val, next, fail := d.value(i+1, ']')
		if fail == errTerminated {
			if n != 0 { // "[1,]": JSON has no trailing commas
				return nil, next, glua.LString("value expected")
			}
			a.Metatable = d.arrayMT
			return a, next + 1, nil
		}
		if fail != nil {
			return nil, next, fail
		}
		n++
		a.RawSetInt(n, val)
		i = skipJSONSpace(d.src, next)
		if i < len(d.src) && d.src[i] == ']' {
			a.Metatable = d.arrayMT
			return a, i + 1, nil
		}
		if i >= len(d.src) || d.src[i] != ',' {
			return nil, i, glua.LString("array eof")
		}
	}
}

// number reads the longest run of number characters and converts it as Lua's
// tonumber would; a run that is no number fails with the 1-based position
// after it, as Prosody's reader does.
func (d *jsonDecoder) number(i int) (glua.LValue, int, glua.LValue) {
	end := i
	for end < len(d.src) && isJSONNumberChar(d.src[end]) {
		end++
	}
	text := d.src[i:end]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeError(err) {
		return nil, end, glua.LNumber(end + 1)
	}
	if f == 0 && !strings.ContainsAny(text, ".eE") {
		f = 0 // "-0" is Lua 5.4's integer 0, not the float -0
	}
	return glua.LNumber(f), end, nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isJSONNumberChar(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}

// string reads the string whose opening quote is at i. Escapes other than
// \uXXXX were rewritten by normalizeJSONEscapes; raw bytes pass unchanged.
func (d *jsonDecoder) string(i int) (glua.LValue, int, glua.LValue) {
	rest := d.src[i+1:]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return nil, len(d.src), glua.LString("string eof")
	}
	raw := rest[:end]
	next := i + 1 + end + 1
	if !strings.Contains(raw, `\u`) {
		return glua.LString(raw), next, nil
	}
	s, ok := unescapeJSONUnicode(raw)
	if !ok {
		return nil, next, glua.LString("invalid escape")
	}
	return glua.LString(s), next, nil
}

// unescapeJSONUnicode decodes \uXXXX escapes, joining surrogate pairs; a lone
// surrogate or a \u without four hex digits fails.
func unescapeJSONUnicode(s string) (string, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) || s[i+1] != 'u' {
			out = append(out, s[i])
			continue
		}
		cp, ok := hex4(s, i+2)
		if !ok {
			return "", false
		}
		if cp >= 0xD800 && cp <= 0xDBFF {
			if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if lo, ok := hex4(s, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					out = appendUTF8(out, 0x10000+(cp-0xD800)<<10+(lo-0xDC00))
					i += 11
					continue
				}
			}
			return "", false
		}
		if cp >= 0xDC00 && cp <= 0xDFFF {
			return "", false
		}
		out = appendUTF8(out, cp)
		i += 5
	}
	return string(out), true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// appendUTF8 encodes cp without utf8.AppendRune's replacement of invalid
// code points, so "\u0000" stays a NUL byte.
func appendUTF8(buf []byte, cp rune) []byte {
	switch {
	case cp < 0x80:
		return append(buf, byte(cp))
	case cp < 0x800:
		return append(buf, 0xC0|byte(cp>>6), 0x80|byte(cp&0x3F))
	case cp < 0x10000:
		return append(buf, 0xE0|byte(cp>>12), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
	}
	return append(buf, 0xF0|byte(cp>>18), 0x80|byte(cp>>12&0x3F), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
}
