package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsProbe runs the Lua it is handed in the module's environment, so a
// test can exercise module:metric and module:measure as a plugin does.
const metricsProbe = `
%s
module:hook(%q, function (event)
	local f = assert(loadstring(event.code));
	setfenv(f, setmetatable({ module = module }, { __index = _G }));
	local ok, result = pcall(f);
	if not ok then return "error: " .. tostring(result); end
	return result == nil and "ok" or tostring(result);
end);
`

// newMetricsRuntime starts a runtime without sockets, with the probe on
// example.com and a global probe, and http_openmetrics enabled unless the
// extra global config says otherwise.
func newMetricsRuntime(t testing.TB, globals string) (*Runtime, Report) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mod_metrics_probe.lua", fmt.Sprintf(metricsProbe, "", "run-lua"))
	write("mod_metrics_global.lua", fmt.Sprintf(metricsProbe, "module:set_global();", "run-lua-global"))
	cfg := globals + `
VirtualHost "example.com"
	modules_enabled = { "metrics_probe", "metrics_global" }
`
	return startWith(t, Options{ConfigSource: cfg, ConfigName: filepath.Join(dir, "test.cfg.lua"), PluginPaths: []string{dir}, NoListen: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func runLua(t testing.TB, rt *Runtime, host, code string) string {
	t.Helper()
	event := "run-lua"
	if host == "*" {
		event = "run-lua-global"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := rt.FireEvent(ctx, host, event, map[string]any{"code": code})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// family gathers the registry and returns the named family, or nil.
func family(t *testing.T, rt *Runtime, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := rt.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// series returns the metric of family name with exactly these labels.
func series(t *testing.T, rt *Runtime, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mf := family(t, rt, name)
	if mf == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range mf.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.Label {
			if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
				match = false
			}
		}
		if match {
			return m
		}
	}
	t.Fatalf("family %s has no series %v: %v", name, labels, mf.Metric)
	return nil
}

func TestModuleMetricAndMeasureSemantics(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	onHost := map[string]string{"host": "example.com"}
	tests := []struct {
		name  string
		host  string
		code  string
		check func(t *testing.T)
	}{
		{"counter families get the host label and _total", "example.com", `
			local c = module:metric("counter", "hits", "", "Hits", { "kind" });
			c:with_labels("a"):add(1); c:with_labels("a"):add(2); c:with_labels("b"):add(1);`,
			func(t *testing.T) {
				m := series(t, rt, "prosody_mod_metrics_probe__hits_total", map[string]string{"host": "example.com", "kind": "a"})
				if v := m.GetCounter().GetValue(); v != 3 {
					t.Errorf("hits{kind=a} = %v, want 3", v)
				}
			}},
		{"gauge set and add", "example.com", `
			local g = module:metric("gauge", "level", "", "Level", {}):with_labels();
			g:set(5); g:add(-2);`,
			func(t *testing.T) {
				if v := series(t, rt, "prosody_mod_metrics_probe__level", onHost).GetGauge().GetValue(); v != 3 {
					t.Errorf("level = %v, want 3", v)
				}
			}},
		{"histogram name carries its unit", "example.com", `
			module:metric("histogram", "latency", "seconds", "Latency", {}, { buckets = { 0.1, 1 } }):with_labels():sample(0.5);`,
			func(t *testing.T) {
				mf := family(t, rt, "prosody_mod_metrics_probe__latency_seconds")
				h := series(t, rt, "prosody_mod_metrics_probe__latency_seconds", onHost).GetHistogram()
				if mf.GetUnit() != "seconds" || h.GetSampleCount() != 1 || h.GetSampleSum() != 0.5 || len(h.Bucket) != 2 {
					t.Errorf("latency unit %q, histogram %v", mf.GetUnit(), h)
				}
			}},
		{"summary is a sum and a count", "example.com", `
			local s = module:metric("summary", "size", "bytes", "Sizes", {}):with_labels();
			s:sample(10); s:sample(20);`,
			func(t *testing.T) {
				s := series(t, rt, "prosody_mod_metrics_probe__size_bytes", onHost).GetSummary()
				if s.GetSampleCount() != 2 || s.GetSampleSum() != 30 || len(s.Quantile) != 0 {
					t.Errorf("summary %v", s)
				}
			}},
		{"partial labels fill from the left after host", "example.com", `
			module:metric("gauge", "multi", "", "", { "a", "b" }):with_partial_label("x"):with_labels(2):set(1);`,
			func(t *testing.T) {
				series(t, rt, "prosody_mod_metrics_probe__multi", map[string]string{"host": "example.com", "a": "x", "b": "2"})
			}},
		{"a global module's families have no host label", "*", `
			module:metric("counter", "global_hits", "", "", { "kind" }):with_labels("z"):add(4);`,
			func(t *testing.T) {
				if v := series(t, rt, "prosody_mod_metrics_global__global_hits_total", map[string]string{"kind": "z"}).GetCounter().GetValue(); v != 4 {
					t.Errorf("global_hits = %v", v)
				}
			}},
		{"measure rate adds one per call", "example.com", `
			local r = module:measure("events", "rate"); r(); r();`,
			func(t *testing.T) {
				if v := series(t, rt, "prosody_mod_metrics_probe__events_total", onHost).GetCounter().GetValue(); v != 2 {
					t.Errorf("events = %v, want 2", v)
				}
			}},
		{"measure counter adds its argument", "example.com", `
			local c = module:measure("bytes_in", "counter"); c(10); c(5);`,
			func(t *testing.T) {
				if v := series(t, rt, "prosody_mod_metrics_probe__bytes_in_total", onHost).GetCounter().GetValue(); v != 15 {
					t.Errorf("bytes_in = %v, want 15", v)
				}
			}},
		{"measure amount sets a gauge", "example.com", `
			local a = module:measure("queue", "amount"); a(7);`,
			func(t *testing.T) {
				if v := series(t, rt, "prosody_mod_metrics_probe__queue", onHost).GetGauge().GetValue(); v != 7 {
					t.Errorf("queue = %v, want 7", v)
				}
			}},
		{"measure times returns a timer starter", "example.com", `
			local t = module:measure("work", "times");
			local done = t();
			assert(type(done) == "function", "times() did not return a done function");
			done();`,
			func(t *testing.T) {
				h := series(t, rt, "prosody_mod_metrics_probe__work_seconds", onHost).GetHistogram()
				if h.GetSampleCount() != 1 || len(h.Bucket) != 6 || h.GetSampleSum() < 0 || h.GetSampleSum() > 1 {
					t.Errorf("work histogram %v", h)
				}
			}},
		{"measure sizes is a histogram in bytes", "example.com", `
			module:measure("payload", "sizes")(2000);`,
			func(t *testing.T) {
				h := series(t, rt, "prosody_mod_metrics_probe__payload_bytes", onHost).GetHistogram()
				if h.GetSampleCount() != 1 || h.Bucket[0].GetUpperBound() != 1024 || h.Bucket[0].GetCumulativeCount() != 0 || h.Bucket[1].GetCumulativeCount() != 1 {
					t.Errorf("payload histogram %v", h)
				}
			}},
		{"measure distribution takes a unit string", "example.com", `
			module:measure("spread", "distribution", "ms")(4);`,
			func(t *testing.T) {
				if s := series(t, rt, "prosody_mod_metrics_probe__spread_ms", onHost).GetSummary(); s.GetSampleCount() != 1 || s.GetSampleSum() != 4 {
					t.Errorf("spread summary %v", s)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runLua(t, rt, tt.host, tt.code); got != "ok" {
				t.Fatalf("Lua: %s", got)
			}
			tt.check(t)
		})
	}
}

func TestModuleMetricMisuseRaisesLuaErrors(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	tests := []struct{ name, code, want string }{
		{"too few label values", `module:metric("counter", "e1", "", "", { "k" }):with_labels()`, "does not match"},
		{"too many label values", `module:metric("counter", "e2", "", "", {}):with_labels("x")`, "does not match"},
		{"counter going down", `module:metric("counter", "e3", "", "", {}):with_labels():add(-1)`, "cannot decrease"},
		{"histogram without buckets", `module:metric("histogram", "e4", "", "", {})`, "no buckets"},
		{"unknown family type", `module:metric("meter", "e5", "", "", {})`, "unknown metric family type"},
		{"unknown measure type", `module:measure("e6", "speed")`, "unknown legacy metric type"},
		{"a gauge has no sample", `module:metric("gauge", "e7", "", "", {}):with_labels():sample(1)`, "attempt to call"},
		{"nil label value", `module:metric("gauge", "e8", "", "", { "k" }):with_labels(nil)`, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runLua(t, rt, "example.com", tt.code)
			if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want an error mentioning %q", got, tt.want)
			}
		})
	}
}

func TestWithLabelsHandsOutOneObjectPerSeries(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	got := runLua(t, rt, "example.com", `
		local f = module:metric("counter", "same", "", "", { "k" });
		local again = module:metric("counter", "same", "", "", { "k" });
		return tostring(rawequal(f:with_labels("a"), again:with_labels("a")))
			.. "," .. tostring(rawequal(f:with_labels("a"), f:with_labels("b")))`)
	if got != "true,false" {
		t.Errorf("same series equal, different series equal = %s; want true,false", got)
	}
}

// scrape asks the runtime's HTTP handler for path from client ip.
func scrape(t *testing.T, rt *Runtime, path, ip, accept string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = net.JoinHostPort(ip, "40000")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	rt.HTTPHandler().ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(body)
}

const openMetricsAccept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"

func TestOpenMetricsEndpointServesPluginAndRuntimeMetrics(t *testing.T) {
	rt, report := newMetricsRuntime(t, `modules_enabled = { "http_openmetrics" }`)
	var builtIn bool
	for _, m := range report.Hosts[0].Loaded {
		if m.Name == "http_openmetrics" && m.File == "(built in)" {
			builtIn = true
		}
	}
	if !builtIn || slices.ContainsFunc(report.Hosts[0].Skipped, func(m SkippedModule) bool { return m.Name == "http_openmetrics" }) {
		t.Errorf("http_openmetrics not reported as built in: %+v", report.Hosts[0])
	}
	if got := runLua(t, rt, "example.com", `
		module:metric("counter", "hits", "", "Hits seen", { "kind" }):with_labels("a"):add(2);
		module:metric("histogram", "latency", "seconds", "Latency", {}, { buckets = { 1 } }):with_labels():sample(0.5);`); got != "ok" {
		t.Fatal(got)
	}

	code, header, body := scrape(t, rt, "/metrics", "127.0.0.1", openMetricsAccept)
	if code != 200 || !strings.HasPrefix(header.Get("Content-Type"), "application/openmetrics-text") {
		t.Fatalf("OpenMetrics scrape: %d %q\n%s", code, header.Get("Content-Type"), body)
	}
	for _, line := range []string{
		"# HELP prosody_mod_metrics_probe__hits Hits seen\n",
		"# TYPE prosody_mod_metrics_probe__hits counter\n",
		`prosody_mod_metrics_probe__hits_total{host="example.com",kind="a"} 2.0` + "\n",
		`prosody_mod_metrics_probe__hits_created{host="example.com",kind="a"} `,
		"# TYPE prosody_mod_metrics_probe__latency_seconds histogram\n",
		"# UNIT prosody_mod_metrics_probe__latency_seconds seconds\n",
		`prosody_mod_metrics_probe__latency_seconds_bucket{host="example.com",le="1.0"} 1` + "\n",
		"# TYPE modhost_lua_queue_depth gauge\n",
		"\n# EOF\n",
	} {
		if !strings.Contains(body, line) {
			t.Errorf("OpenMetrics output lacks %q", line)
		}
	}

	// The classic text format, parsed: the runtime's own families are there.
	code, _, body = scrape(t, rt, "/metrics", "::1", "")
	if code != 200 {
		t.Fatalf("text scrape: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("text exposition does not parse: %v", err)
	}
	for _, name := range []string{
		"modhost_lua_queue_depth", "modhost_lua_queue_wait_seconds", "modhost_lua_jobs_total",
		"modhost_lua_job_panics_total", "modhost_sessions", "modhost_http_requests_total",
		"modhost_http_request_duration_seconds", "go_goroutines", "process_start_time_seconds",
		"prosody_mod_metrics_probe__hits_total",
	} {
		if mfs[name] == nil {
			t.Errorf("text exposition lacks %s", name)
		}
	}
	if n := mfs["modhost_lua_queue_wait_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n == 0 {
		t.Error("loop queue wait histogram has no samples after the loop ran jobs")
	}
	if n := mfs["modhost_lua_jobs_total"].GetMetric()[0].GetCounter().GetValue(); n == 0 {
		t.Error("loop jobs counter is zero after the loop ran jobs")
	}

	// The first scrape was counted under the endpoint's owner.
	m := series(t, rt, "modhost_http_requests_total", map[string]string{"owner": "*:http_openmetrics", "status": "200"})
	if m.GetCounter().GetValue() < 1 {
		t.Errorf("scrapes not counted: %v", m)
	}
	scrape(t, rt, "/nowhere", "127.0.0.1", "")
	series(t, rt, "modhost_http_requests_total", map[string]string{"owner": "none", "status": "404"})
}

func TestOpenMetricsEndpointRefusesOtherAddresses(t *testing.T) {
	tests := []struct {
		name    string
		globals string
		ip      string
		want    int
	}{
		{"loopback by default", "", "127.0.0.1", 200},
		{"others refused by default", "", "192.0.2.1", 403},
		{"allow_ips replaces the default", `openmetrics_allow_ips = { "192.0.2.1" }`, "127.0.0.1", 403},
		{"allow_ips admits an address", `openmetrics_allow_ips = { "192.0.2.1" }`, "192.0.2.1", 200},
		{"allow_cidr admits a network", `openmetrics_allow_cidr = "192.0.2.0/24"`, "192.0.2.77", 200},
		{"allow_cidr keeps the default ips", `openmetrics_allow_cidr = "192.0.2.0/24"`, "127.0.0.1", 200},
		{"allow_cidr only its network", `openmetrics_allow_cidr = "192.0.2.0/24"`, "198.51.100.1", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := newMetricsRuntime(t, "modules_enabled = { \"http_openmetrics\" }\n"+tt.globals)
			code, _, body := scrape(t, rt, "/metrics", tt.ip, "")
			if code != tt.want {
				t.Errorf("GET /metrics from %s: %d, want %d", tt.ip, code, tt.want)
			}
			if code == 403 && strings.Contains(body, "modhost_") {
				t.Error("refusal leaked metrics")
			}
		})
	}
}

func TestOpenMetricsEndpointOnlyWhenEnabledAndWhereHTTPPathsSays(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	if code, _, _ := scrape(t, rt, "/metrics", "127.0.0.1", ""); code != 404 {
		t.Errorf("without http_openmetrics: GET /metrics = %d, want 404", code)
	}
	rt, _ = newMetricsRuntime(t, `modules_enabled = { "http_openmetrics" }
http_paths = { openmetrics = "/prom" }`)
	if code, _, _ := scrape(t, rt, "/prom", "127.0.0.1", ""); code != 200 {
		t.Errorf("http_paths.openmetrics = /prom: GET /prom = %d, want 200", code)
	}
	if code, _, _ := scrape(t, rt, "/metrics", "127.0.0.1", ""); code != 404 {
		t.Errorf("moved endpoint still at /metrics: %d", code)
	}
}

func TestSessionsGaugeFollowsLoginAndLogout(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	host := map[string]string{"host": "example.com"}
	if v := series(t, rt, "modhost_sessions", host).GetGauge().GetValue(); v != 0 {
		t.Fatalf("sessions before login = %v", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := rt.Login(ctx, "example.com", "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Login(ctx, "example.com", "alice", "laptop"); err != nil {
		t.Fatal(err)
	}
	if v := series(t, rt, "modhost_sessions", host).GetGauge().GetValue(); v != 2 {
		t.Errorf("sessions after two logins = %v, want 2", v)
	}
	if err := a.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if v := series(t, rt, "modhost_sessions", host).GetGauge().GetValue(); v != 1 {
		t.Errorf("sessions after a logout = %v, want 1", v)
	}
}

// BenchmarkMetricsFromLua is the cost a plugin pays per measured event:
// a measure("rate") call, and a labelled counter looked up and added to.
func BenchmarkMetricsFromLua(b *testing.B) {
	rt, _ := newMetricsRuntime(b, "")
	for _, bench := range []struct{ name, setup, call string }{
		{"measure rate", `local r = module:measure("bench_rate", "rate")`, `r()`},
		{"with_labels add", `local c = module:metric("counter", "bench", "", "", { "outcome" })`, `c:with_labels("ok"):add(1)`},
		{"plain Lua call", `local n = 0; local function r() n = n + 1; end`, `r()`},
	} {
		b.Run(bench.name, func(b *testing.B) {
			code := fmt.Sprintf("%s\nfor _ = 1, %d do %s end", bench.setup, b.N, bench.call)
			b.ResetTimer()
			if got := runLua(b, rt, "example.com", code); got != "ok" {
				b.Fatal(got)
			}
		})
	}
}

func TestStatsmanagerRegistryRendersOpenMetrics(t *testing.T) {
	rt, _ := newMetricsRuntime(t, "")
	got := runLua(t, rt, "example.com", `
		module:measure("rendered", "rate")();
		local text = require "core.statsmanager".get_metric_registry():render();
		assert(text:find('prosody_mod_metrics_probe__rendered_total{host="example.com"} 1', 1, true), text);
		assert(text:find("# EOF\n", 1, true), "no # EOF");`)
	if got != "ok" {
		t.Error(got)
	}
}

func TestOpenMetricsEndpointAnswersWhateverTheHostHeader(t *testing.T) {
	rt, _ := newMetricsRuntime(t, `modules_enabled = { "http_openmetrics" }`)
	for _, host := range []string{"example.com", "other.example", "127.0.0.1:5280", ""} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Host = host
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		rt.HTTPHandler().ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "modhost_lua_queue_depth") {
			t.Errorf("Host %q: GET /metrics = %d", host, rec.Code)
		}
	}
}
