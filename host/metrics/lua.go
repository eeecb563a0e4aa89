package metrics

import (
	"fmt"
	"math"

	glua "github.com/yuin/gopher-lua"
)

// Lua binds a Registry into one Lua state. Its Metric function is what
// core.statsmanager's metric() calls; the objects it returns behave as
// Prosody's util.openmetrics families and metrics do:
//
//	family:with_labels(...)          → metric (one value per label key)
//	family:with_partial_label(value) → family with that first label fixed
//	family:clear()                   → every metric of the family back to zero
//	counter:add(n), counter:set(n), gauge:add(n), gauge:set(n),
//	histogram:sample(n), summary:sample(n), metric:reset()
//
// A Lua value belongs to the loop that owns the state, so Lua is used from
// that loop only.
type Lua struct {
	reg *Registry
	// metrics hands out one userdata per series, so a hot path that asks
	// for the same labels again allocates nothing.
	metrics map[*Family]map[string]*glua.LUserData
	// mts are the metatables, by family kind, and "family".
	mts map[string]*glua.LTable
}

// NewLua returns the binding of reg for one Lua state.
func NewLua(reg *Registry) *Lua {
	return &Lua{reg: reg, metrics: map[*Family]map[string]*glua.LUserData{}}
}

// luaFamily is a family as Lua holds it, with the label values fixed by
// with_partial_label.
type luaFamily struct {
	family *Family
	fixed  []string
}

// Metric is metric(type, name, unit, description, label_keys, conf): the
// family, created or found. conf.buckets gives a histogram's bounds.
func (b *Lua) Metric(L *glua.LState) int {
	spec := Spec{
		Kind:        Kind(L.CheckString(1)),
		Name:        L.CheckString(2),
		Unit:        L.OptString(3, ""),
		Description: L.OptString(4, ""),
	}
	if keys, ok := L.Get(5).(*glua.LTable); ok {
		for i := 1; i <= keys.Len(); i++ {
			spec.Labels = append(spec.Labels, L.ToStringMeta(keys.RawGetInt(i)).String())
		}
	}
	if conf, ok := L.Get(6).(*glua.LTable); ok {
		if buckets, ok := conf.RawGetString("buckets").(*glua.LTable); ok {
			for i := 1; i <= buckets.Len(); i++ {
				n, ok := buckets.RawGetInt(i).(glua.LNumber)
				if !ok {
					L.ArgError(6, fmt.Sprintf("bucket %d is not a number", i))
				}
				spec.Buckets = append(spec.Buckets, float64(n))
			}
		}
	}
	f, err := b.reg.Family(spec)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(b.familyValue(L, &luaFamily{family: f}))
	return 1
}

func (b *Lua) familyValue(L *glua.LState, lf *luaFamily) *glua.LUserData {
	ud := L.NewUserData()
	ud.Value = lf
	ud.Metatable = b.metatable(L, "family")
	return ud
}

// metatable returns the metatable for kind, building them all on first use.
func (b *Lua) metatable(L *glua.LState, kind string) *glua.LTable {
	if b.mts == nil {
		methods := map[string]map[string]glua.LGFunction{
			"family": {
				"with_labels":        b.withLabels,
				"with_partial_label": b.withPartialLabel,
				"clear":              b.clear,
			},
			string(Counter):   {"add": b.add, "set": b.set, "reset": b.reset},
			string(Gauge):     {"add": b.add, "set": b.set, "reset": b.reset},
			string(Histogram): {"sample": b.sample, "reset": b.reset},
			string(Summary):   {"sample": b.sample, "reset": b.reset},
		}
		b.mts = map[string]*glua.LTable{}
		for k, m := range methods {
			mt := L.NewTable()
			mt.RawSetString("__index", L.SetFuncs(L.NewTable(), m))
			mt.RawSetString("__metatable", glua.LString("modhost metric "+k))
			b.mts[k] = mt
		}
	}
	return b.mts[kind]
}

func checkFamily(L *glua.LState) *luaFamily {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if lf, ok := ud.Value.(*luaFamily); ok {
			return lf
		}
	}
	L.ArgError(1, "metric family expected (call it with ':')")
	return nil
}

func checkSeries(L *glua.LState) *Series {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*Series); ok {
			return s
		}
	}
	L.ArgError(1, "metric expected (call it with ':')")
	return nil
}

// labelValue is tostring(v), as Prosody's label values end up in text.
func labelValue(L *glua.LState, i int) string {
	switch v := L.Get(i).(type) {
	case glua.LString:
		return string(v)
	case *glua.LNilType:
		L.ArgError(i, "label value is nil")
	case glua.LNumber:
		if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return fmt.Sprintf("%d", int64(f))
		}
		return v.String()
	default:
		return L.ToStringMeta(v).String()
	}
	return ""
}

func (b *Lua) withLabels(L *glua.LState) int {
	lf := checkFamily(L)
	n := L.GetTop() - 1
	values := make([]string, 0, len(lf.fixed)+n)
	values = append(values, lf.fixed...)
	for i := 2; i <= L.GetTop(); i++ {
		values = append(values, labelValue(L, i))
	}
	if len(values) != len(lf.family.labels) {
		L.RaiseError("number of labels passed to with_labels (%d) does not match the %d label keys of %s",
			n, len(lf.family.labels)-len(lf.fixed), lf.family.name)
	}
	byKey := b.metrics[lf.family]
	if byKey == nil {
		byKey = map[string]*glua.LUserData{}
		b.metrics[lf.family] = byKey
	}
	key := seriesKey(values)
	if ud, ok := byKey[key]; ok {
		L.Push(ud)
		return 1
	}
	s, err := lf.family.With(values...)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	ud := L.NewUserData()
	ud.Value = s
	ud.Metatable = b.metatable(L, string(lf.family.spec.Kind))
	byKey[key] = ud
	L.Push(ud)
	return 1
}

func (b *Lua) withPartialLabel(L *glua.LState) int {
	lf := checkFamily(L)
	if len(lf.fixed) >= len(lf.family.labels) {
		L.RaiseError("metric family %s has no label left to fix", lf.family.name)
	}
	fixed := append(append([]string(nil), lf.fixed...), labelValue(L, 2))
	L.Push(b.familyValue(L, &luaFamily{family: lf.family, fixed: fixed}))
	return 1
}

func (b *Lua) clear(L *glua.LState) int {
	checkFamily(L).family.Clear()
	return 0
}

func (b *Lua) add(L *glua.LState) int {
	s := checkSeries(L)
	if err := s.Add(float64(L.CheckNumber(2))); err != nil {
		L.RaiseError("%s", err.Error())
	}
	return 0
}

func (b *Lua) set(L *glua.LState) int {
	s := checkSeries(L)
	if err := s.Set(float64(L.CheckNumber(2))); err != nil {
		L.RaiseError("%s", err.Error())
	}
	return 0
}

func (b *Lua) sample(L *glua.LState) int {
	s := checkSeries(L)
	if err := s.Sample(float64(L.CheckNumber(2))); err != nil {
		L.RaiseError("%s", err.Error())
	}
	return 0
}

func (b *Lua) reset(L *glua.LState) int {
	checkSeries(L).Reset()
	return 0
}

// SeriesOf is the series behind a metric Lua holds (what with_labels
// returned), or nil for any other value: for Go code given a plugin's
// metric, which counts without a call into Lua.
func SeriesOf(v glua.LValue) *Series {
	if ud, ok := v.(*glua.LUserData); ok {
		if s, ok := ud.Value.(*Series); ok {
			return s
		}
	}
	return nil
}
