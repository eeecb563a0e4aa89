package compat

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	glua "github.com/yuin/gopher-lua"
	gopherjson "layeh.com/gopher-json"
)

// cjson and cjson.safe stand in for lua-cjson 2.1 so plugins written against
// it load: cjson.null is a userdata sentinel (lua-cjson's NULL lightuserdata)
// that decode returns for JSON null; encode raises on what it cannot encode
// and decode raises on bad input ("Expected ... at character N"); cjson.safe
// returns nil and the message instead. Decoding parses with encoding/json, as
// layeh.com/gopher-json does, and converts scalars through gopher-json; the
// containers are walked here because gopher-json turns null into nil, which
// would leave holes that shift array elements. Known differences from
// lua-cjson: invalid UTF-8 and lone surrogate escapes in strings decode to
// U+FFFD instead of passing through or failing, and error positions and token
// names are approximate.

type cjsonConfig struct {
	null          *glua.LUserData
	sparseConvert bool
	sparseRatio   int
	sparseSafe    int
	encodeDepth   int
	decodeDepth   int
	precision     int
	invalidNums   glua.LValue // false, true or "null", as encode_invalid_numbers
	decodeInvalid bool
	keepBuffer    bool
}

func newCJSONConfig(null *glua.LUserData) *cjsonConfig {
	return &cjsonConfig{null: null, sparseRatio: 2, sparseSafe: 10, encodeDepth: 1000,
		decodeDepth: 1000, precision: 14, invalidNums: glua.LFalse, decodeInvalid: true, keepBuffer: true}
}

func openCJSON(L *glua.LState) int {
	L.Push(newCJSONModule(L, newCJSONConfig(L.NewUserData()), false))
	return 1
}

// openCJSONSafe shares cjson's null so that values compare equal across both.
func openCJSONSafe(L *glua.LState) int {
	null := L.NewUserData()
	if mod, ok := requireOptional(L, "cjson").(*glua.LTable); ok {
		if ud, ok := mod.RawGetString("null").(*glua.LUserData); ok {
			null = ud
		}
	}
	L.Push(newCJSONModule(L, newCJSONConfig(null), true))
	return 1
}

// requireOptional calls require(name), returning nil when it fails.
func requireOptional(L *glua.LState, name string) glua.LValue {
	if err := L.CallByParam(glua.P{Fn: L.GetGlobal("require"), NRet: 1, Protect: true}, glua.LString(name)); err != nil {
		return glua.LNil
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

func newCJSONModule(L *glua.LState, c *cjsonConfig, safe bool) *glua.LTable {
	mod := L.NewTable()
	mod.RawSetString("null", c.null)
	mod.RawSetString("_NAME", glua.LString("cjson"))
	mod.RawSetString("_VERSION", glua.LString("2.1.0"))
	fail := func(L *glua.LState, msg string) int {
		if safe {
			L.Push(glua.LNil)
			L.Push(glua.LString(msg))
			return 2
		}
		L.RaiseError("%s", msg)
		return 0
	}
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"encode": func(L *glua.LState) int {
			if L.GetTop() != 1 {
				L.ArgError(1, "expected 1 argument")
			}
			e := cjsonEncoder{cfg: c}
			if err := e.value(L.Get(1), 0); err != nil {
				return fail(L, err.Error())
			}
			L.Push(glua.LString(e.buf))
			return 1
		},
		"decode": func(L *glua.LState) int {
			if L.GetTop() != 1 {
				L.ArgError(1, "expected 1 argument")
			}
			v, err := c.decode(L, L.CheckString(1))
			if err != nil {
				return fail(L, err.Error())
			}
			L.Push(v)
			return 1
		},
		"new": func(L *glua.LState) int {
			L.Push(newCJSONModule(L, newCJSONConfig(c.null), safe))
			return 1
		},
		"encode_sparse_array": func(L *glua.LState) int {
			if L.GetTop() >= 1 && L.Get(1) != glua.LNil {
				c.sparseConvert = L.ToBool(1)
			}
			c.sparseRatio = L.OptInt(2, c.sparseRatio)
			c.sparseSafe = L.OptInt(3, c.sparseSafe)
			L.Push(glua.LBool(c.sparseConvert))
			L.Push(glua.LNumber(c.sparseRatio))
			L.Push(glua.LNumber(c.sparseSafe))
			return 3
		},
		"encode_max_depth":        intSetting(&c.encodeDepth),
		"decode_max_depth":        intSetting(&c.decodeDepth),
		"encode_number_precision": intSetting(&c.precision),
		"encode_keep_buffer":      boolSetting(&c.keepBuffer),
		"decode_invalid_numbers":  boolSetting(&c.decodeInvalid),
		"encode_invalid_numbers": func(L *glua.LState) int {
			if v := L.Get(1); v != glua.LNil {
				if s, ok := v.(glua.LString); ok && s == "null" {
					c.invalidNums = s
				} else {
					c.invalidNums = glua.LBool(glua.LVAsBool(v))
				}
			}
			L.Push(c.invalidNums)
			return 1
		},
	})
	return mod
}

// intSetting is a lua-cjson configuration function: called with a number it
// sets the option; it always returns the current value.
func intSetting(p *int) glua.LGFunction {
	return func(L *glua.LState) int {
		*p = L.OptInt(1, *p)
		L.Push(glua.LNumber(*p))
		return 1
	}
}

func boolSetting(p *bool) glua.LGFunction {
	return func(L *glua.LState) int {
		if v := L.Get(1); v != glua.LNil {
			*p = glua.LVAsBool(v)
		}
		L.Push(glua.LBool(*p))
		return 1
	}
}

type cjsonEncoder struct {
	cfg *cjsonConfig
	buf []byte
}

func (e *cjsonEncoder) value(v glua.LValue, depth int) error {
	switch v := v.(type) {
	case *glua.LNilType:
		e.buf = append(e.buf, "null"...)
	case glua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(v))
	case glua.LNumber:
		return e.number(float64(v))
	case glua.LString:
		e.buf = appendJSONString(e.buf, string(v), true)
	case *glua.LUserData:
		if v != e.cfg.null {
			return errors.New("Cannot serialise userdata: type not supported")
		}
		e.buf = append(e.buf, "null"...)
	case *glua.LTable:
		if depth+1 > e.cfg.encodeDepth {
			return fmt.Errorf("Cannot serialise, excessive nesting (%d)", depth+1)
		}
		return e.table(v, depth+1)
	default:
		return fmt.Errorf("Cannot serialise %s: type not supported", v.Type())
	}
	return nil
}

func (e *cjsonEncoder) number(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		switch e.cfg.invalidNums {
		case glua.LString("null"):
			e.buf = append(e.buf, "null"...)
			return nil
		case glua.LTrue:
			e.buf = append(e.buf, cjsonNumberText(f, e.cfg.precision)...)
			return nil
		}
		return errors.New("Cannot serialise number: must not be NaN or Inf")
	}
	e.buf = append(e.buf, cjsonNumberText(f, e.cfg.precision)...)
	return nil
}

// cjsonNumberText formats as lua-cjson's "%.14g" does.
func cjsonNumberText(f float64, precision int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', precision, 64)
}

// arrayLength returns the largest key if every key of t is a positive
// integer, 0 for an empty table and -1 otherwise, applying lua-cjson's
// sparse-array rule.
func (e *cjsonEncoder) arrayLength(t *glua.LTable) (int, error) {
	maxKey, items := 0, 0
	isArray := true
	t.ForEach(func(k, _ glua.LValue) {
		n, ok := k.(glua.LNumber)
		if !ok || n < 1 || float64(n) != math.Trunc(float64(n)) {
			isArray = false
			return
		}
		if int(n) > maxKey {
			maxKey = int(n)
		}
		items++
	})
	if !isArray {
		return -1, nil
	}
	c := e.cfg
	if c.sparseRatio > 0 && maxKey > items*c.sparseRatio && maxKey > c.sparseSafe {
		if !c.sparseConvert {
			return 0, errors.New("Cannot serialise table: excessively sparse array")
		}
		return -1, nil
	}
	return maxKey, nil
}

func (e *cjsonEncoder) table(t *glua.LTable, depth int) error {
	n, err := e.arrayLength(t)
	if err != nil {
		return err
	}
	if n > 0 {
		e.buf = append(e.buf, '[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(t.RawGetInt(i), depth); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	}
	e.buf = append(e.buf, '{')
	first := true
	t.ForEach(func(k, v glua.LValue) {
		if err != nil {
			return
		}
		var key string
		switch k := k.(type) {
		case glua.LString:
			key = string(k)
		case glua.LNumber:
			key = cjsonNumberText(float64(k), e.cfg.precision)
		default:
			err = fmt.Errorf("Cannot serialise %s: table key must be a number or string", k.Type())
			return
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = appendJSONString(e.buf, key, true)
		e.buf = append(e.buf, ':')
		err = e.value(v, depth)
	})
	if err != nil {
		return err
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (c *cjsonConfig) decode(L *glua.LState, text string) (glua.LValue, error) {
	var doc any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, cjsonDecodeError(text, err)
	}
	return c.toLua(L, doc, 0)
}

// toLua builds the Lua value for a decoded document: null becomes cjson.null,
// containers are built here, and scalars go through gopher-json.
func (c *cjsonConfig) toLua(L *glua.LState, v any, depth int) (glua.LValue, error) {
	switch v := v.(type) {
	case nil:
		return c.null, nil
	case []any:
		if depth+1 > c.decodeDepth {
			return nil, fmt.Errorf("Found too many nested data structures (%d)", depth+1)
		}
		t := L.CreateTable(len(v), 0)
		for i, item := range v {
			lv, err := c.toLua(L, item, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case map[string]any:
		if depth+1 > c.decodeDepth {
			return nil, fmt.Errorf("Found too many nested data structures (%d)", depth+1)
		}
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a deterministic iteration order for plugins
		for _, k := range keys {
			lv, err := c.toLua(L, v[k], depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	}
	return gopherjson.DecodeValue(L, v), nil
}

// cjsonDecodeError words encoding/json's error as lua-cjson words its own,
// with the 1-based position of the offending character.
func cjsonDecodeError(text string, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		pos := int(syn.Offset)
		if syn.Error() == "unexpected end of JSON input" {
			return fmt.Errorf("Expected value but found T_END at character %d", len(text)+1)
		}
		if pos < 1 {
			pos = 1
		}
		return fmt.Errorf("Expected value but found invalid token at character %d", pos)
	}
	return fmt.Errorf("Expected value but found invalid token at character 1 (%v)", err)
}
