// Package metrics puts Prosody 0.12's statistics API (core.statsmanager's
// metric families, module:metric and module:measure) on a Prometheus
// registry, and serves that registry as Prosody's mod_http_openmetrics does.
//
// A Registry belongs to one modhost Runtime; nothing here is global. Family
// names follow Prosody's util.openmetrics: the unit, if any, is appended
// ("name" + "_" + unit), "/" becomes "__" and any other character outside
// [A-Za-z0-9_] becomes "_", so module:metric("counter", "refreshes") in
// mod_http_roster_admin on a host is the family
// prosody_mod_http_roster_admin__refreshes with a "host" label, exposed as
// prosody_mod_http_roster_admin__refreshes_total.
package metrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is a Prometheus registry with the Go runtime and process
// collectors, plus the Prosody-style families made through Family.
type Registry struct {
	reg *prometheus.Registry

	mu       sync.Mutex
	families map[string]*Family // by exposed family name
}

// New returns a registry holding the Go runtime and process collectors.
func New() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Registry{reg: reg, families: map[string]*Family{}}
}

// Prometheus returns the underlying registry, for Go collectors of the
// embedding program and for gathering.
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

// Kind is a metric family type, as Prosody names them.
type Kind string

// The family types Prosody's util.openmetrics offers.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
	Summary   Kind = "summary"
)

// Spec describes a family the way core.statsmanager.metric takes it.
type Spec struct {
	Kind Kind
	// Name is Prosody's family name before sanitising, e.g.
	// "prosody_mod_http_roster_admin/refreshes".
	Name string
	// Unit, when not empty, is appended to the name and announced in the
	// OpenMetrics UNIT line.
	Unit        string
	Description string
	// Labels are the label keys, in the order with_labels takes values.
	Labels []string
	// Buckets are a histogram's upper bounds, increasing; +Inf is implied.
	Buckets []float64
}

// ExposedName is the family name a scraper sees for Prosody name and unit:
// util.openmetrics' compose_name and escape_name.
func ExposedName(name, unit string) string {
	if unit != "" {
		name += "_" + unit
	}
	return sanitise(name)
}

func sanitise(name string) string {
	name = strings.ReplaceAll(name, "/", "__")
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// Family is one metric family and its labelled series.
type Family struct {
	spec   Spec
	name   string // exposed name (without a counter's _total)
	labels []string

	counters   *prometheus.CounterVec
	gauges     *prometheus.GaugeVec
	histograms *prometheus.HistogramVec
	summaries  *prometheus.SummaryVec

	mu     sync.Mutex
	series map[string]*Series
}

// Family returns the family spec describes, creating and registering it on
// first use. A family already registered under the same name with the same
// type and label keys is returned as it is, values and all, so a module that
// is reloaded carries on counting. One that differs is replaced, as Prosody's
// registry replaces it (the newly loaded code is taken to be right).
func (r *Registry) Family(spec Spec) (*Family, error) {
	f, err := newFamily(spec)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.families[f.name]; ok {
		if old.spec.Kind == f.spec.Kind && equalStrings(old.labels, f.labels) {
			return old, nil
		}
		r.reg.Unregister(old.collector())
		delete(r.families, f.name)
	}
	if err := r.reg.Register(f.collector()); err != nil {
		return nil, fmt.Errorf("register metric family %s: %w", f.name, err)
	}
	r.families[f.name] = f
	return f, nil
}

func newFamily(spec Spec) (f *Family, err error) {
	f = &Family{spec: spec, name: ExposedName(spec.Name, spec.Unit), series: map[string]*Series{}}
	if f.name == "" {
		return nil, fmt.Errorf("metric family has no name")
	}
	for _, l := range spec.Labels {
		l = sanitise(l)
		switch {
		case l == "" || strings.HasPrefix(l, "__"):
			return nil, fmt.Errorf("metric family %s: label key %q is not allowed", f.name, l)
		case l == "le" && spec.Kind == Histogram, l == "quantile" && spec.Kind == Summary:
			return nil, fmt.Errorf("metric family %s: label key %q is reserved for %ss", f.name, l, spec.Kind)
		}
		f.labels = append(f.labels, l)
	}
	// client_golang panics on what it considers a programming error
	// (duplicate label names, bad buckets); here the family comes from a
	// plugin, so it is an error to report to it instead.
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("metric family %s: %v", f.name, p)
		}
	}()
	switch spec.Kind {
	case Counter:
		// client_golang exposes a counter under its own name and, in
		// OpenMetrics, announces the family without "_total": naming it
		// with the suffix gives exactly Prosody's TYPE and sample lines.
		f.counters = prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.name + "_total", Help: spec.Description, Unit: spec.Unit}, f.labels)
	case Gauge:
		f.gauges = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: f.name, Help: spec.Description, Unit: spec.Unit}, f.labels)
	case Histogram:
		buckets, err := checkBuckets(spec.Buckets)
		if err != nil {
			return nil, fmt.Errorf("metric family %s: %w", f.name, err)
		}
		f.histograms = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: f.name, Help: spec.Description, Unit: spec.Unit, Buckets: buckets}, f.labels)
	case Summary:
		// Prosody's summaries have no quantiles: a sum and a count.
		f.summaries = prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: f.name, Help: spec.Description, Unit: spec.Unit}, f.labels)
	default:
		return nil, fmt.Errorf("unknown metric family type %q", spec.Kind)
	}
	return f, nil
}

// checkBuckets drops a final +Inf (Prometheus adds its own) and insists on
// increasing bounds, as Prometheus does.
func checkBuckets(b []float64) ([]float64, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("no buckets given for histogram metric")
	}
	if math.IsInf(b[len(b)-1], 1) {
		b = b[:len(b)-1]
	}
	if !sort.Float64sAreSorted(b) {
		return nil, fmt.Errorf("histogram buckets must be in increasing order")
	}
	for i := 1; i < len(b); i++ {
		if b[i] == b[i-1] {
			return nil, fmt.Errorf("histogram bucket %v given twice", b[i])
		}
	}
	return b, nil
}

func (f *Family) collector() prometheus.Collector {
	switch f.spec.Kind {
	case Counter:
		return f.counters
	case Gauge:
		return f.gauges
	case Histogram:
		return f.histograms
	default:
		return f.summaries
	}
}

func (f *Family) vec() *prometheus.MetricVec {
	switch f.spec.Kind {
	case Counter:
		return f.counters.MetricVec
	case Gauge:
		return f.gauges.MetricVec
	case Histogram:
		return f.histograms.MetricVec
	default:
		return f.summaries.MetricVec
	}
}

// Name is the exposed family name (without a counter's "_total").
func (f *Family) Name() string { return f.name }

// Kind is the family's type.
func (f *Family) Kind() Kind { return f.spec.Kind }

// With returns the series for these label values (one per label key),
// creating it at zero.
func (f *Family) With(values ...string) (*Series, error) {
	if len(values) != len(f.labels) {
		return nil, fmt.Errorf("metric family %s: %d label values given for %d label keys", f.name, len(values), len(f.labels))
	}
	key := seriesKey(values)
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.series[key]; ok {
		return s, nil
	}
	s := &Series{family: f, values: append([]string(nil), values...)}
	if err := s.bind(); err != nil {
		return nil, err
	}
	f.series[key] = s
	return s, nil
}

// Clear resets every series of the family to zero (Prosody's clear).
func (f *Family) Clear() {
	f.mu.Lock()
	all := make([]*Series, 0, len(f.series))
	for _, s := range f.series {
		all = append(all, s)
	}
	f.mu.Unlock()
	for _, s := range all {
		s.Reset()
	}
}

func seriesKey(values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	return strings.Join(values, "\xff")
}

// Series is one labelled metric of a family: Prosody's metric object.
// A Series is meant to be used from one goroutine at a time (the Lua loop):
// a counter's Set keeps the value it last reached.
type Series struct {
	family *Family
	values []string

	counter  prometheus.Counter
	gauge    prometheus.Gauge
	observer prometheus.Observer
	total    float64 // a counter's value, for Set
}

// bind (re)attaches the series to a fresh metric of its vec.
func (s *Series) bind() (err error) {
	f := s.family
	switch f.spec.Kind {
	case Counter:
		s.counter, err = f.counters.GetMetricWithLabelValues(s.values...)
		s.total = 0
	case Gauge:
		s.gauge, err = f.gauges.GetMetricWithLabelValues(s.values...)
	case Histogram:
		s.observer, err = f.histograms.GetMetricWithLabelValues(s.values...)
	case Summary:
		s.observer, err = f.summaries.GetMetricWithLabelValues(s.values...)
	}
	if err != nil {
		return fmt.Errorf("metric family %s: %w", f.name, err)
	}
	return nil
}

// Add adds v to a counter or a gauge. A counter cannot go down.
func (s *Series) Add(v float64) error {
	switch {
	case s.counter != nil:
		if v < 0 {
			return fmt.Errorf("counter %s cannot decrease (add %v)", s.family.name, v)
		}
		s.counter.Add(v)
		s.total += v
	case s.gauge != nil:
		s.gauge.Add(v)
	default:
		return fmt.Errorf("%s %s has no add", s.family.spec.Kind, s.family.name)
	}
	return nil
}

// Set sets a gauge, or a counter: upwards by adding the difference,
// downwards by starting the counter again (a reset, as scrapers read it).
func (s *Series) Set(v float64) error {
	switch {
	case s.gauge != nil:
		s.gauge.Set(v)
	case s.counter != nil:
		if v < 0 {
			return fmt.Errorf("counter %s cannot be negative (set %v)", s.family.name, v)
		}
		if v < s.total {
			s.Reset()
		}
		s.counter.Add(v - s.total)
		s.total = v
	default:
		return fmt.Errorf("%s %s has no set", s.family.spec.Kind, s.family.name)
	}
	return nil
}

// Sample records an observation in a histogram or a summary.
func (s *Series) Sample(v float64) error {
	if s.observer == nil {
		return fmt.Errorf("%s %s has no sample", s.family.spec.Kind, s.family.name)
	}
	s.observer.Observe(v)
	return nil
}

// Reset puts the series back to zero. Counters, histograms and summaries
// are replaced by new ones, so their created time moves too.
func (s *Series) Reset() {
	if s.gauge != nil {
		s.gauge.Set(0)
		return
	}
	s.family.vec().DeleteLabelValues(s.values...)
	// The same label values were accepted a moment ago.
	_ = s.bind()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
