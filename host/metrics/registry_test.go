package metrics

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestExposedNameFollowsProsodysEscaping(t *testing.T) {
	tests := []struct{ name, unit, want string }{
		{"prosody_mod_http_roster_admin/refreshes", "", "prosody_mod_http_roster_admin__refreshes"},
		{"prosody_mod_http_roster_admin/fetch_duration", "seconds", "prosody_mod_http_roster_admin__fetch_duration_seconds"},
		{"prosody_mod_x-y/stats.collection", "", "prosody_mod_x_y__stats_collection"},
		{"9lives", "", "_9lives"},
		{"a b/c", "bytes", "a_b__c_bytes"},
	}
	for _, tt := range tests {
		if got := ExposedName(tt.name, tt.unit); got != tt.want {
			t.Errorf("ExposedName(%q, %q) = %q, want %q", tt.name, tt.unit, got, tt.want)
		}
	}
}

func TestAllowListDefaultsToLoopbackAndTakesACIDR(t *testing.T) {
	tests := []struct {
		name  string
		ips   []string
		cidr  string
		allow map[string]bool
	}{
		{"default", nil, "", map[string]bool{
			"127.0.0.1": true, "::1": true, "::ffff:127.0.0.1": true,
			"127.0.0.2": false, "192.0.2.1": false, "": false, "junk": false,
		}},
		{"explicit list replaces the default", []string{"192.0.2.7"}, "", map[string]bool{
			"192.0.2.7": true, "127.0.0.1": false,
		}},
		{"cidr adds a network", nil, "10.1.0.0/16", map[string]bool{
			"10.1.200.3": true, "10.2.0.1": false, "127.0.0.1": true,
		}},
		{"ipv6 cidr", []string{}, "2001:db8::/32", map[string]bool{
			"2001:db8::5": true, "2001:db9::5": false, "::1": false,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAllowList(tt.ips, tt.cidr)
			if err != nil {
				t.Fatal(err)
			}
			for ip, want := range tt.allow {
				if got := a.Allows(ip); got != want {
					t.Errorf("Allows(%q) = %v, want %v", ip, got, want)
				}
			}
		})
	}
	for _, bad := range []struct {
		ips  []string
		cidr string
	}{{[]string{"localhost"}, ""}, {nil, "10.0.0.0"}, {nil, "10.0.0.0/99"}} {
		if _, err := NewAllowList(bad.ips, bad.cidr); err == nil {
			t.Errorf("NewAllowList(%q, %q) accepted", bad.ips, bad.cidr)
		}
	}
}

func TestFamilyIsReusedWhenCompatibleAndReplacedOtherwise(t *testing.T) {
	r := New()
	spec := Spec{Kind: Counter, Name: "prosody_mod_m/c", Labels: []string{"host", "kind"}}
	a, err := r.Family(spec)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := a.With("h", "x")
	if err := s.Add(3); err != nil {
		t.Fatal(err)
	}
	b, err := r.Family(spec)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("same spec gave a new family: a reloaded module would lose its counts")
	}
	c, err := r.Family(Spec{Kind: Gauge, Name: "prosody_mod_m/c", Labels: []string{"host"}})
	if err != nil {
		t.Fatalf("incompatible redeclaration: %v (Prosody replaces the family)", err)
	}
	if c == a || c.Kind() != Gauge {
		t.Fatal("incompatible redeclaration did not replace the family")
	}
	g, err := c.With("h")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Set(7); err != nil {
		t.Fatal(err)
	}
	if v := gathered(t, r, "prosody_mod_m__c", "host", "h"); v.GetGauge().GetValue() != 7 {
		t.Fatalf("replacement not exposed: %v", v)
	}
}

func TestCounterSetMovesUpOrStartsAgain(t *testing.T) {
	r := New()
	f, _ := r.Family(Spec{Kind: Counter, Name: "c"})
	s, _ := f.With()
	steps := []struct {
		op   string
		v    float64
		want float64
		err  bool
	}{
		{"add", 2, 2, false},
		{"set", 5, 5, false},
		{"set", 1, 1, false}, // downwards: a reset, then up to 1
		{"add", -1, 1, true},
		{"set", -3, 1, true},
		{"reset", 0, 0, false},
		{"add", 4, 4, false},
	}
	for i, st := range steps {
		var err error
		switch st.op {
		case "add":
			err = s.Add(st.v)
		case "set":
			err = s.Set(st.v)
		case "reset":
			s.Reset()
		}
		if (err != nil) != st.err {
			t.Errorf("step %d %s(%v): error %v, want error %v", i, st.op, st.v, err, st.err)
		}
		if got := gathered(t, r, "c_total").GetCounter().GetValue(); got != st.want {
			t.Errorf("step %d %s(%v): counter %v, want %v", i, st.op, st.v, got, st.want)
		}
	}
}

func TestBadFamiliesAreErrorsNotPanics(t *testing.T) {
	r := New()
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"histogram without buckets", Spec{Kind: Histogram, Name: "h1"}, "no buckets"},
		{"buckets out of order", Spec{Kind: Histogram, Name: "h2", Buckets: []float64{1, 0.5}}, "increasing"},
		{"bucket twice", Spec{Kind: Histogram, Name: "h3", Buckets: []float64{1, 1}}, "twice"},
		{"le label on a histogram", Spec{Kind: Histogram, Name: "h4", Buckets: []float64{1}, Labels: []string{"le"}}, "reserved"},
		{"quantile label on a summary", Spec{Kind: Summary, Name: "s1", Labels: []string{"quantile"}}, "reserved"},
		{"duplicate labels", Spec{Kind: Gauge, Name: "g1", Labels: []string{"a", "a"}}, "duplicate"},
		{"unknown type", Spec{Kind: "meter", Name: "m1"}, "unknown"},
		{"clash with a Go collector", Spec{Kind: Gauge, Name: "go_goroutines"}, "register"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Family(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	f, _ := r.Family(Spec{Kind: Gauge, Name: "g", Labels: []string{"a"}})
	if _, err := f.With(); err == nil {
		t.Error("With() on a family with one label key accepted")
	}
	if _, err := f.With("\xff"); err == nil {
		t.Error("invalid UTF-8 label value accepted")
	}
}

func TestHistogramBucketsIgnoreATrailingInfinity(t *testing.T) {
	r := New()
	f, err := r.Family(Spec{Kind: Histogram, Name: "h", Unit: "seconds", Buckets: []float64{0.1, 1, inf()}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.With()
	if err := s.Sample(0.5); err != nil {
		t.Fatal(err)
	}
	h := gathered(t, r, "h_seconds").GetHistogram()
	if len(h.Bucket) != 2 || h.GetSampleCount() != 1 || h.Bucket[1].GetCumulativeCount() != 1 || h.Bucket[0].GetCumulativeCount() != 0 {
		t.Errorf("histogram %v", h)
	}
}

func inf() float64 { var z float64; return 1 / z }

// gathered returns the metric of family name whose labels include the
// given name/value pairs, or nil.
func gathered(t *testing.T, r *Registry, name string, labelPairs ...string) *dto.Metric {
	t.Helper()
	mfs, err := r.Prometheus().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.Metric {
			for i := 0; i+1 < len(labelPairs); i += 2 {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == labelPairs[i] && lp.GetValue() == labelPairs[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return m
		}
	}
	return nil
}
