package lua

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"
)

// OpenVersionGaps fills in what Lua 5.2–5.4 code commonly uses and gopher-lua
// (Lua 5.1) lacks: table.pack/table.unpack/table.move, math.type and
// math.tointeger, rawlen, load of a string chunk with an environment, the
// utf8 library, bit32 (which util.bitcompat returns, as Prosody's does),
// Lua-style string.format("%q") and an infinite math.huge. Syntax added in
// Lua 5.3 and 5.4 (//, &, |, ~, <<, >>, <const>, <close>) cannot be
// provided; see SyntaxHint.
//
// gopher-lua has one number type, so math.type calls every whole number
// (within ±2^63) "integer" and others "float": 1.0 is an integer here.
func OpenVersionGaps(L *glua.LState) {
	fixBaseFunctions(L)
	openTableNew(L)
	tbl := L.GetGlobal("table").(*glua.LTable)
	setIfMissing(tbl, "unpack", L.GetGlobal("unpack"))
	setIfMissing(tbl, "pack", L.NewFunction(tablePack))
	setIfMissing(tbl, "move", L.NewFunction(tableMove))

	mathTbl := L.GetGlobal("math").(*glua.LTable)
	setIfMissing(mathTbl, "type", L.NewFunction(mathType))
	setIfMissing(mathTbl, "tointeger", L.NewFunction(mathToInteger))
	// gopher-lua sets math.huge to the largest float; Lua's is infinity,
	// which code compares against (x == math.huge) and JSON encoders reject.
	mathTbl.RawSetString("huge", glua.LNumber(math.Inf(1)))
	setIfMissing(mathTbl, "maxinteger", glua.LNumber(math.MaxInt64))
	setIfMissing(mathTbl, "mininteger", glua.LNumber(math.MinInt64))

	if L.GetGlobal("rawlen") == glua.LNil {
		L.SetGlobal("rawlen", L.NewFunction(rawLen))
	}
	if load, ok := L.GetGlobal("load").(*glua.LFunction); ok {
		L.SetGlobal("load", L.NewFunction(loadWithEnv(load)))
	}
	if L.GetGlobal("utf8") == glua.LNil {
		L.SetGlobal("utf8", newUTF8Library(L))
	}
	if L.GetGlobal("bit32") == glua.LNil {
		L.SetGlobal("bit32", newBit32Library(L))
	}
	str := L.GetGlobal("string").(*glua.LTable)
	if format, ok := str.RawGetString("format").(*glua.LFunction); ok {
		str.RawSetString("format", L.NewFunction(formatLikeLua(format)))
	}
}

func setIfMissing(t *glua.LTable, name string, v glua.LValue) {
	if t.RawGetString(name) == glua.LNil {
		t.RawSetString(name, v)
	}
}

func tablePack(L *glua.LState) int {
	n := L.GetTop()
	t := L.CreateTable(n, 1)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, L.Get(i))
	}
	t.RawSetString("n", glua.LNumber(n))
	L.Push(t)
	return 1
}

// tableMove is table.move(a1, f, e, t [, a2]): a2[t..] = a1[f..e], copying
// in the direction that is safe for overlapping ranges; returns a2.
func tableMove(L *glua.LState) int {
	a1 := L.CheckTable(1)
	f, e, t := L.CheckInt(2), L.CheckInt(3), L.CheckInt(4)
	a2 := a1
	if L.GetTop() >= 5 {
		a2 = L.CheckTable(5)
	}
	if e >= f {
		if t > e || t <= f || a1 != a2 {
			for i := 0; i <= e-f; i++ {
				L.SetTable(a2, glua.LNumber(t+i), L.GetTable(a1, glua.LNumber(f+i)))
			}
		} else {
			for i := e - f; i >= 0; i-- {
				L.SetTable(a2, glua.LNumber(t+i), L.GetTable(a1, glua.LNumber(f+i)))
			}
		}
	}
	L.Push(a2)
	return 1
}

func mathType(L *glua.LState) int {
	L.CheckAny(1)
	n, ok := L.Get(1).(glua.LNumber)
	switch {
	case !ok:
		L.Push(glua.LNil)
	case IsInteger(n):
		L.Push(glua.LString("integer"))
	default:
		L.Push(glua.LString("float"))
	}
	return 1
}

func mathToInteger(L *glua.LState) int {
	if n, ok := L.Get(1).(glua.LNumber); ok && IsInteger(n) {
		L.Push(n)
	} else {
		L.Push(glua.LNil)
	}
	return 1
}

func rawLen(L *glua.LState) int {
	switch v := L.Get(1).(type) {
	case *glua.LTable:
		L.Push(glua.LNumber(v.Len()))
	case glua.LString:
		L.Push(glua.LNumber(len(v)))
	default:
		L.ArgError(1, "table or string expected")
	}
	return 1
}

// loadWithEnv gives load the 5.2 signature load(chunk [, chunkname [, mode
// [, env]]]) where chunk may be a string; a function chunk goes to
// gopher-lua's own load. Binary chunks do not exist here, so mode is only
// checked for allowing text.
func loadWithEnv(orig *glua.LFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		chunk := L.Get(1)
		if s, ok := chunk.(glua.LString); ok {
			name := L.OptString(2, string(s))
			if mode := L.OptString(3, "bt"); !strings.Contains(mode, "t") {
				L.Push(glua.LNil)
				L.Push(glua.LString(fmt.Sprintf("attempt to load a text chunk (mode is '%s')", mode)))
				return 2
			}
			fn, err := L.Load(strings.NewReader(string(s)), chunkDisplayName(name))
			if err != nil {
				L.Push(glua.LNil)
				L.Push(glua.LString(strings.TrimSpace(ErrorMessage(err))))
				return 2
			}
			return pushWithEnv(L, fn, 4)
		}
		top := L.GetTop()
		L.Push(orig)
		for i := 1; i <= top && i <= 2; i++ {
			L.Push(L.Get(i))
		}
		L.Call(min(top, 2), 2)
		if fn, ok := L.Get(-2).(*glua.LFunction); ok {
			L.Pop(2)
			return pushWithEnv(L, fn, 4)
		}
		return 2
	}
}

// chunkDisplayName is how Lua names a string chunk in messages: "=name" and
// "@file" as given, other strings as [string "..."].
func chunkDisplayName(name string) string {
	if strings.HasPrefix(name, "=") || strings.HasPrefix(name, "@") {
		return name
	}
	line, _, _ := strings.Cut(name, "\n")
	return fmt.Sprintf("[string %q]", line)
}

func pushWithEnv(L *glua.LState, fn *glua.LFunction, envArg int) int {
	if L.GetTop() >= envArg {
		if env, ok := L.Get(envArg).(*glua.LTable); ok {
			fn.Env = env
		}
	}
	L.Push(fn)
	return 1
}

// formatLikeLua wraps gopher-lua's string.format, which hands each
// conversion to Go's fmt, where Lua's differ:
//   - "%q": Go quotes Go-style (\xa9, \u00e9); Lua quotes byte for byte,
//     escaping '"', '\', newline (as backslash-newline) and other control
//     characters (as \ddd, as Lua 5.4 does);
//   - "%g" without a precision: Go gives the shortest exact form, C (and
//     so Lua) six significant digits (2^66 is "7.3787e+19");
//   - infinities and NaN under %e %f %g: Go writes "+Inf" and "NaN", C
//     "inf", "-inf", "nan", "-nan" ("INF" … for %E %G).
func formatLikeLua(orig *glua.LFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		format := L.CheckString(1)
		if !strings.ContainsAny(format, "qgGeEf") {
			return callThrough(L, orig)
		}
		arg := 2 // the stack index of the argument the next conversion takes
		var out strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' {
				out.WriteByte(format[i])
				continue
			}
			j := i + 1
			for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
				j++
			}
			if j >= len(format) {
				out.WriteString(format[i:])
				break
			}
			spec := format[i+1 : j]
			switch verb := format[j]; verb {
			case '%':
				out.WriteString("%%")
			case 'q':
				// Quoted here and taken out of the arguments, so the
				// following conversions keep their arguments.
				out.WriteString(strings.ReplaceAll(luaQuote(L, arg), "%", "%%"))
				L.Remove(arg)
			case 'e', 'E', 'f', 'g', 'G':
				if text, ok := nonFiniteText(L.Get(arg), spec, verb); ok {
					// As a string, padded to the width C would pad it to.
					out.WriteString("%" + padding(spec) + "s")
					L.Replace(arg, glua.LString(text))
				} else if (verb == 'g' || verb == 'G') && !strings.Contains(spec, ".") {
					out.WriteString("%" + spec + ".6" + string(verb))
				} else {
					out.WriteString(format[i : j+1])
				}
				arg++
			default:
				out.WriteString(format[i : j+1])
				arg++
			}
			i = j
		}
		L.Replace(1, glua.LString(out.String()))
		return callThrough(L, orig)
	}
}

// padding is what of a conversion's flags and width pads a string as C
// pads an infinity: "-" (left-justified) and the width; C pads those with
// spaces, zero flag or not.
func padding(spec string) string {
	flags := strings.TrimLeft(spec, "-+ #0")
	width, _, _ := strings.Cut(flags, ".")
	if strings.Contains(spec[:len(spec)-len(flags)], "-") {
		return "-" + width
	}
	return width
}

// nonFiniteText is how C's printf writes v, when it is an infinity or NaN,
// under a floating-point conversion: "inf", "-inf", "nan", "-nan" (the sign
// of a NaN is its sign bit, as glibc shows it), upper case for E and G,
// and a '+' or ' ' flag in front of a positive one.
func nonFiniteText(v glua.LValue, spec string, verb byte) (string, bool) {
	n, ok := v.(glua.LNumber)
	if !ok {
		return "", false
	}
	f := float64(n)
	var text string
	switch {
	case math.IsInf(f, 0):
		text = "inf"
	case math.IsNaN(f):
		text = "nan"
	default:
		return "", false
	}
	switch {
	case math.Signbit(f):
		text = "-" + text
	case strings.Contains(spec, "+"):
		text = "+" + text
	case strings.Contains(spec, " "):
		text = " " + text
	}
	if verb == 'E' || verb == 'G' {
		text = strings.ToUpper(text)
	}
	return text, true
}

// callThrough hands the current arguments to fn: directly when it is a Go
// function (gopher-lua's string.format is), saving a call frame.
func callThrough(L *glua.LState, fn *glua.LFunction) int {
	if fn.IsG {
		return fn.GFunction(L)
	}
	top := L.GetTop()
	L.Insert(fn, 1)
	L.Call(top, 1)
	return 1
}

func luaQuote(L *glua.LState, n int) string {
	v := L.Get(n)
	if num, ok := v.(glua.LNumber); ok {
		if IsInteger(num) {
			return strconv.FormatInt(int64(num), 10)
		}
		return strconv.FormatFloat(float64(num), 'g', 17, 64)
	}
	s := L.CheckString(n)
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString("\\\n")
		case c == 0 || c < 0x20 || c == 0x7f:
			if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				fmt.Fprintf(&b, "\\%03d", c)
			} else {
				fmt.Fprintf(&b, "\\%d", c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// utf8 library (Lua 5.3/5.4), strict decoding: surrogates, overlong forms
// and code points above U+10FFFF are invalid.

// utf8Pos turns a Lua string position (negative counts from the end) into a
// 1-based one.
func utf8Pos(pos, n int) int {
	if pos >= 0 {
		return pos
	}
	if -pos > n {
		return 0
	}
	return n + pos + 1
}

func decodeAt(s string, i int) (rune, int) {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return -1, 1
	}
	return r, size
}

func isContinuation(c byte) bool { return c&0xC0 == 0x80 }

func newUTF8Library(L *glua.LState) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("charpattern", glua.LString("[\x00-\x7F\xC2-\xFD][\x80-\xBF]*"))
	L.SetFuncs(t, map[string]glua.LGFunction{
		"char": func(L *glua.LState) int {
			var b strings.Builder
			for i := 1; i <= L.GetTop(); i++ {
				c := L.CheckInt64(i)
				if c < 0 || c > 0x7FFFFFFF {
					L.ArgError(i, "value out of range")
				}
				b.WriteString(encodeUTF8(c))
			}
			L.Push(glua.LString(b.String()))
			return 1
		},
		"codepoint": func(L *glua.LState) int {
			s := L.CheckString(1)
			i := utf8Pos(L.OptInt(2, 1), len(s))
			j := utf8Pos(L.OptInt(3, i), len(s))
			if i < 1 {
				L.ArgError(2, "out of bounds")
			}
			if j > len(s) {
				L.ArgError(3, "out of bounds")
			}
			n := 0
			for p := i - 1; p < j; {
				r, size := decodeAt(s, p)
				if r < 0 {
					L.RaiseError("invalid UTF-8 code")
				}
				L.Push(glua.LNumber(r))
				n++
				p += size
			}
			return n
		},
		"len": func(L *glua.LState) int {
			s := L.CheckString(1)
			i := utf8Pos(L.OptInt(2, 1), len(s))
			j := utf8Pos(L.OptInt(3, -1), len(s))
			if i < 1 || i > len(s)+1 {
				L.ArgError(2, "initial position out of bounds")
			}
			if j > len(s) {
				L.ArgError(3, "final position out of bounds")
			}
			n := 0
			for p := i - 1; p < j; n++ {
				r, size := decodeAt(s, p)
				if r < 0 {
					L.Push(glua.LNil)
					L.Push(glua.LNumber(p + 1))
					return 2
				}
				p += size
			}
			L.Push(glua.LNumber(n))
			return 1
		},
		"offset": func(L *glua.LState) int {
			s := L.CheckString(1)
			n := L.CheckInt(2)
			def := 1
			if n < 0 {
				def = len(s) + 1
			}
			i := utf8Pos(L.OptInt(3, def), len(s))
			if i < 1 || i > len(s)+1 {
				L.ArgError(3, "position out of bounds")
			}
			p := i - 1 // 0-based
			cont := func(p int) bool { return p < len(s) && isContinuation(s[p]) }
			if n == 0 {
				for p > 0 && cont(p) {
					p--
				}
				L.Push(glua.LNumber(p + 1))
				return 1
			}
			if cont(p) {
				L.RaiseError("initial position is a continuation byte")
			}
			if n < 0 {
				for ; n < 0 && p > 0; n++ {
					p--
					for p > 0 && cont(p) {
						p--
					}
				}
			} else {
				for n--; n > 0 && p < len(s); n-- {
					p++
					for cont(p) {
						p++
					}
				}
			}
			if n != 0 {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LNumber(p + 1))
			return 1
		},
		"codes": func(L *glua.LState) int {
			s := L.CheckString(1)
			iter := L.NewFunction(func(L *glua.LState) int {
				p := int(L.CheckNumber(2)) // 1-based position of the previous character, 0 at start
				if p > 0 {
					_, size := decodeAt(s, p-1)
					p += size
				} else {
					p = 1
				}
				if p > len(s) {
					return 0
				}
				r, _ := decodeAt(s, p-1)
				if r < 0 {
					L.RaiseError("invalid UTF-8 code")
				}
				L.Push(glua.LNumber(p))
				L.Push(glua.LNumber(r))
				return 2
			})
			L.Push(iter)
			L.Push(glua.LString(s))
			L.Push(glua.LNumber(0))
			return 3
		},
	})
	return t
}

// encodeUTF8 writes c in the original (up to 6-byte) UTF-8 form that
// utf8.char accepts, so values beyond U+10FFFF and surrogates are encoded
// rather than replaced.
func encodeUTF8(c int64) string {
	if c < 0x80 {
		return string(rune(c))
	}
	var buf [6]byte
	n := 0
	limit := int64(0x3f) // largest value that fits in the first byte
	for c > limit {
		buf[5-n] = byte(0x80 | c&0x3f)
		n++
		c >>= 6
		limit >>= 1
	}
	buf[5-n] = byte(^limit<<1) | byte(c)
	return string(buf[5-n:])
}

// bit32 (Lua 5.2): operands are taken modulo 2^32 after rounding, results
// are unsigned.

func toUint32(L *glua.LState, n int) uint32 {
	f := math.RoundToEven(float64(L.CheckNumber(n)))
	return uint32(int64(math.Mod(f, 1<<32)))
}

func pushUint32(L *glua.LState, v uint32) int {
	L.Push(glua.LNumber(v))
	return 1
}

func shift(v uint32, disp int) uint32 {
	switch {
	case disp <= -32 || disp >= 32:
		return 0
	case disp >= 0:
		return v << uint(disp)
	}
	return v >> uint(-disp)
}

func fieldArgs(L *glua.LState, fieldArg int) (field, width int) {
	field = L.CheckInt(fieldArg)
	width = L.OptInt(fieldArg+1, 1)
	if field < 0 {
		L.ArgError(fieldArg, "field cannot be negative")
	}
	if width <= 0 {
		L.ArgError(fieldArg+1, "width must be positive")
	}
	if field+width > 32 {
		L.RaiseError("trying to access non-existent bits")
	}
	return field, width
}

func mask(width int) uint32 { return uint32((uint64(1) << uint(width)) - 1) }

func newBit32Library(L *glua.LState) *glua.LTable {
	fold := func(start uint32, op func(a, b uint32) uint32) func(L *glua.LState) uint32 {
		return func(L *glua.LState) uint32 {
			r := start
			for i := 1; i <= L.GetTop(); i++ {
				r = op(r, toUint32(L, i))
			}
			return r
		}
	}
	band := fold(^uint32(0), func(a, b uint32) uint32 { return a & b })
	bor := fold(0, func(a, b uint32) uint32 { return a | b })
	bxor := fold(0, func(a, b uint32) uint32 { return a ^ b })
	rotate := func(v uint32, disp int) uint32 {
		disp &= 31
		return v<<uint(disp) | v>>uint((32-disp)&31)
	}
	t := L.NewTable()
	L.SetFuncs(t, map[string]glua.LGFunction{
		"band":   func(L *glua.LState) int { return pushUint32(L, band(L)) },
		"bor":    func(L *glua.LState) int { return pushUint32(L, bor(L)) },
		"bxor":   func(L *glua.LState) int { return pushUint32(L, bxor(L)) },
		"btest":  func(L *glua.LState) int { L.Push(glua.LBool(band(L) != 0)); return 1 },
		"bnot":   func(L *glua.LState) int { return pushUint32(L, ^toUint32(L, 1)) },
		"lshift": func(L *glua.LState) int { return pushUint32(L, shift(toUint32(L, 1), L.CheckInt(2))) },
		"rshift": func(L *glua.LState) int { return pushUint32(L, shift(toUint32(L, 1), -L.CheckInt(2))) },
		"arshift": func(L *glua.LState) int {
			v, disp := toUint32(L, 1), L.CheckInt(2)
			if disp <= 0 || v&0x80000000 == 0 {
				return pushUint32(L, shift(v, -disp))
			}
			if disp >= 32 {
				return pushUint32(L, ^uint32(0))
			}
			return pushUint32(L, uint32(int32(v)>>uint(disp)))
		},
		"lrotate": func(L *glua.LState) int { return pushUint32(L, rotate(toUint32(L, 1), L.CheckInt(2))) },
		"rrotate": func(L *glua.LState) int { return pushUint32(L, rotate(toUint32(L, 1), -L.CheckInt(2))) },
		"extract": func(L *glua.LState) int {
			v := toUint32(L, 1)
			field, width := fieldArgs(L, 2)
			return pushUint32(L, v>>uint(field)&mask(width))
		},
		"replace": func(L *glua.LState) int {
			v, repl := toUint32(L, 1), toUint32(L, 2)
			field, width := fieldArgs(L, 3)
			m := mask(width) << uint(field)
			return pushUint32(L, v&^m|(repl<<uint(field))&m)
		},
	})
	return t
}
