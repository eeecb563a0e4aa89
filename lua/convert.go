package lua

import (
	"math"
	"sort"

	glua "github.com/yuin/gopher-lua"
)

// ToGo converts a Lua value into plain Go values: nil, bool, float64, string,
// []any (for tables that are sequences 1..n, n > 0), map[string]any (other
// tables; non-string keys are formatted), or the Lua value itself for
// functions, userdata and threads. Cycles become nil.
func ToGo(v glua.LValue) any {
	return toGo(v, map[*glua.LTable]bool{})
}

func toGo(v glua.LValue, seen map[*glua.LTable]bool) any {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil
	case glua.LBool:
		return bool(v)
	case glua.LNumber:
		return float64(v)
	case glua.LString:
		return string(v)
	case *glua.LTable:
		if seen[v] {
			return nil
		}
		seen[v] = true
		defer delete(seen, v)
		if n := v.Len(); n > 0 && countKeys(v) == n {
			out := make([]any, n)
			for i := 1; i <= n; i++ {
				out[i-1] = toGo(v.RawGetInt(i), seen)
			}
			return out
		}
		out := map[string]any{}
		v.ForEach(func(k, val glua.LValue) {
			out[k.String()] = toGo(val, seen)
		})
		return out
	default:
		return v
	}
}

// CountKeys is how many keys t holds (its pairs, raw).
func CountKeys(t *glua.LTable) int { return countKeys(t) }

func countKeys(t *glua.LTable) int {
	n := 0
	t.ForEach(func(_, _ glua.LValue) { n++ })
	return n
}

// FromGo converts Go values produced by ToGo, by JSON decoding or by the
// config loader into Lua values. Maps become tables with string keys, slices
// become sequences; ints become numbers. Unknown types become nil.
func FromGo(L *glua.LState, v any) glua.LValue {
	switch v := v.(type) {
	case nil:
		return glua.LNil
	case glua.LValue:
		return v
	case bool:
		return glua.LBool(v)
	case float64:
		return glua.LNumber(v)
	case float32:
		return glua.LNumber(v)
	case int:
		return glua.LNumber(v)
	case int64:
		return glua.LNumber(v)
	case uint64:
		return glua.LNumber(v)
	case string:
		return glua.LString(v)
	case []string:
		t := L.CreateTable(len(v), 0)
		for _, s := range v {
			t.Append(glua.LString(s))
		}
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			t.RawSetInt(i+1, FromGo(L, e))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic iteration order for plugins
		for _, k := range keys {
			t.RawSetString(k, FromGo(L, v[k]))
		}
		return t
	default:
		return glua.LNil
	}
}

// IsInteger reports whether n is a whole number that fits an int64.
func IsInteger(n glua.LNumber) bool {
	f := float64(n)
	return f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<63
}
