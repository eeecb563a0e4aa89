package host

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/httpserver"
	"github.com/modhost/modhost/host/metrics"
	"github.com/modhost/modhost/lua"
)

// openMetricsModule is Prosody's mod_http_openmetrics, which modhost
// implements itself: listed in modules_enabled, it serves the runtime's
// registry at /metrics (http_paths.openmetrics moves it).
const openMetricsModule = "http_openmetrics"

// runtimeMetrics is a runtime's registry with modhost's own collectors:
// the Lua loop, HTTP requests and client sessions. Plugins add theirs
// through module:metric and module:measure.
type runtimeMetrics struct {
	reg *metrics.Registry
	lua *metrics.Lua

	loopWait     prometheus.Histogram
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	sessions     *prometheus.GaugeVec

	servedAt string // where http_openmetrics is mounted, once it is
}

func newRuntimeMetrics() *runtimeMetrics {
	m := &runtimeMetrics{reg: metrics.New()}
	m.lua = metrics.NewLua(m.reg)
	m.loopWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "modhost_lua_queue_wait_seconds",
		Help:    "How long jobs (events, timers, I/O completions) waited for the Lua loop before running.",
		Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
	})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modhost_http_requests_total",
		Help: "HTTP requests answered, by the host:module owning the route (none: no route matched) and status.",
	}, []string{"owner", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "modhost_http_request_duration_seconds",
		Help:    "Time taken to answer HTTP requests, by the host:module owning the route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"owner"})
	m.sessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "modhost_sessions",
		Help: "Client sessions (bound resources) on each host, counted from resource-bind and resource-unbind.",
	}, []string{"host"})
	m.reg.Prometheus().MustRegister(m.loopWait, m.httpRequests, m.httpDuration, m.sessions)
	return m
}

// watchLoop adds the collectors that read the loop's own counters.
func (m *runtimeMetrics) watchLoop(loop *lua.Loop) {
	m.reg.Prometheus().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modhost_lua_queue_depth",
			Help: "Jobs waiting for the Lua loop.",
		}, func() float64 { return float64(loop.QueueDepth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "modhost_lua_jobs_total",
			Help: "Jobs the Lua loop has run.",
		}, func() float64 { return float64(loop.JobsRun()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "modhost_lua_job_panics_total",
			Help: "Jobs that panicked in Go (the loop carried on).",
		}, func() float64 { return float64(loop.JobPanics()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "modhost_lua_jobs_interrupted_total",
			Help: "Jobs the Lua loop's watchdog interrupted (over lua_job_timeout, or still running at shutdown).",
		}, func() float64 { return float64(loop.JobsInterrupted()) }),
	)
}

func (m *runtimeMetrics) observeHTTP(owner string, status int, elapsed time.Duration) {
	if owner == "" {
		owner = "none"
	}
	m.httpRequests.WithLabelValues(owner, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(owner).Observe(elapsed.Seconds())
}

// Metrics returns the runtime's Prometheus registry: what http_openmetrics
// serves. An embedding program may gather it, serve it itself, or register
// its own collectors on it.
func (rt *Runtime) Metrics() *prometheus.Registry { return rt.metrics.reg.Prometheus() }

// luaMetric is native.metric(type, name, unit, description, label_keys, conf).
func (rt *Runtime) luaMetric(L *glua.LState) int { return rt.metrics.lua.Metric(L) }

// luaMetricsRender is native.metrics_render() → OpenMetrics text.
func (rt *Runtime) luaMetricsRender(L *glua.LState) int {
	text, err := rt.metrics.reg.OpenMetrics()
	if err != nil {
		rt.log.Warn("rendering metrics", "error", err)
	}
	L.Push(glua.LString(text))
	return 1
}

// luaSessionsChanged is native.sessions_changed(host, delta), called from
// the resource-bind and resource-unbind handlers boot.lua installs.
func (rt *Runtime) luaSessionsChanged(L *glua.LState) int {
	rt.metrics.sessions.WithLabelValues(L.CheckString(1)).Add(float64(L.CheckNumber(2)))
	return 0
}

// serveOpenMetrics mounts the metrics endpoint, once: Prosody's
// mod_http_openmetrics is a global module, whichever host lists it. Its
// options are global too: openmetrics_allow_ips (default loopback) and
// openmetrics_allow_cidr; others get 403.
func (rt *Runtime) serveOpenMetrics() (string, error) {
	if rt.metrics.servedAt != "" {
		return rt.metrics.servedAt, nil
	}
	g := rt.cfg.Global.Options
	var ips []string
	if v, ok := g["openmetrics_allow_ips"]; ok {
		ips = stringList(v)
	}
	cidr, _ := g["openmetrics_allow_cidr"].(string)
	allow, err := metrics.NewAllowList(ips, cidr)
	if err != nil {
		return "", err
	}
	paths, _ := g["http_paths"].(map[string]any)
	base := httpserver.BasePath(openMetricsModule, "", "metrics", paths, "*")
	log := rt.log.With("source", openMetricsModule)
	serve := rt.metrics.reg.Handler(log)
	handler := func(w http.ResponseWriter, r *http.Request, _ string) {
		if ip := httpserver.ClientIP(r); !allow.Allows(ip) {
			log.Debug("metrics refused", "client", ip)
			http.Error(w, "metrics are not served to this address (see openmetrics_allow_ips, openmetrics_allow_cidr)", http.StatusForbidden)
			return
		}
		serve.ServeHTTP(w, r)
	}
	if _, err := rt.http.Mount(httpserver.AnyHost, base, []httpserver.Route{{Method: http.MethodGet, Handler: handler}}, "*:"+openMetricsModule); err != nil {
		return "", fmt.Errorf("mount metrics endpoint: %w", err)
	}
	rt.metrics.servedAt = base
	rt.log.Info("metrics served", "path", base)
	return base, nil
}

// linkCollector reports each XMPP link's state: modhost_link_up is 1 while
// the component stream is online; modhost_link_roster_writes_pending
// counts the roster writes the server has not answered yet.
type linkCollector struct {
	rt          *Runtime
	up, pending *prometheus.Desc
}

func (c linkCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up; ch <- c.pending }

func (c linkCollector) Collect(ch chan<- prometheus.Metric) {
	for host, state := range c.rt.LinkStates() {
		up := 0.0
		if state == "online" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, host)
	}
	for host, n := range c.rt.LinkPendingWrites() {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n), host)
	}
}

// watchLinks registers the link gauges; links are fixed once Start has
// created them.
func (m *runtimeMetrics) watchLinks(rt *Runtime) {
	m.reg.Prometheus().MustRegister(linkCollector{rt: rt,
		up: prometheus.NewDesc("modhost_link_up", "1 while the host's XMPP component link is online, else 0.", []string{"host"}, nil),
		pending: prometheus.NewDesc("modhost_link_roster_writes_pending",
			"Roster writes to the server queued or waiting for its answer; one that keeps growing means the server answers slower than rosters change.",
			[]string{"host"}, nil)})
}
