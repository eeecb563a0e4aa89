package rosteradmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/testkit"
)

// rejectProbe rejects one user's fetched roster, as a custom hook may.
const rejectProbe = `
module:hook("roster-admin/fetched", function (event)
	if event.username == "rejected" then return true; end
end);
local failures = module:metric("counter", "failures", "", "roster-admin/failed events", { "username", "reason", "kind" });
module:hook("roster-admin/failed", function (event)
	failures:with_labels(event.username, event.reason, event.kind):add(1);
end);
-- A wrapper and no handler: the event must still be fired for it.
local updates = module:metric("counter", "updates", "", "roster-admin/updated events seen by a wrapper", { "username" });
module:wrap_event("roster-admin/updated", function (handlers, event_name, event_data)
	updates:with_labels(event_data.username):add(1);
	return handlers(event_name, event_data);
end);
`

// TestRosterAdminRefreshesMoveItsMetrics runs the plugin in modhost with
// http_openmetrics on, refreshes users whose fetches end every way a fetch
// can, and reads the plugin's counters back from /metrics.
func TestRosterAdminRefreshesMoveItsMetrics(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	b.Set("ok", `{"friend@example.com":{"name":"Friend"}}`)
	b.Fail("e500", testkit.Status(500))
	b.Fail("earray", testkit.Body(`[{"bob@example.com":{}}]`))
	b.Fail("einvalid", testkit.Body(`{"bob@example.com":`))
	b.Fail("ebadgroups", testkit.Body(`{"bob@example.com":{"groups":"Friends"}}`))
	b.Fail("eclosed", testkit.CloseConn)
	b.Fail("ehang", testkit.Hang)
	b.Set("rejected", `{}`)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_reject_probe.lua"), []byte(rejectProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
modules_enabled = { "http_openmetrics" }
storage = { roster = "memory" }
http_roster_admin_timeout = 0.5

VirtualHost "example.com"
	modules_enabled = { "http_roster_admin", "reject_probe" }
	http_roster_url = %q
	http_roster_admin_refresh_offline = true

VirtualHost "refused.example"
	modules_enabled = { "http_roster_admin" }
	http_roster_url = "http://127.0.0.1:1/%%s"
	http_roster_admin_refresh_offline = true

VirtualHost "offline.example"
	modules_enabled = { "http_roster_admin" }
	http_roster_url = "http://127.0.0.1:1/%%s"
`, b.URL())
	rt, err := host.New(host.Options{
		ConfigSource: cfg, ConfigName: filepath.Join(dir, "test.cfg.lua"),
		PluginPaths: []string{dir}, NoListen: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if report, err := rt.Start(ctx); err != nil || !report.OK() {
		t.Fatalf("start: %v %+v", err, report)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })

	// Each host's routes answer to its name in the Host header.
	serve := func(method, host, path string, users ...string) string {
		t.Helper()
		payload, _ := json.Marshal(users)
		req := httptest.NewRequest(method, path, strings.NewReader(string(payload)))
		req.Host = host
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		rt.HTTPHandler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	serve("POST", "example.com", "/roster_admin/refresh", "ok", "e500", "earray", "einvalid", "ebadgroups", "eclosed", "ehang", "rejected", "ok")
	serve("POST", "refused.example", "/roster_admin/refresh", "nobody")
	serve("POST", "offline.example", "/roster_admin/refresh", "zed")

	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(serve("GET", "monitor.example", "/metrics")))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		mf := mfs[name]
		if mf == nil {
			t.Fatalf("/metrics has no %s", name)
		}
	next:
		for _, m := range mf.Metric {
			have := map[string]string{}
			for _, lp := range m.Label {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return sampleValue(m)
		}
		t.Errorf("%s has no series %v", name, labels)
		return -1
	}
	const p = "prosody_mod_http_roster_admin__"
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{p + "users_refreshed_total", []string{"host", "example.com"}, 8}, // "ok" twice counts once
		{p + "refreshes_total", []string{"host", "example.com", "outcome", "updated"}, 1},
		{p + "refreshes_total", []string{"host", "example.com", "outcome", "failed"}, 7},
		{p + "refreshes_total", []string{"host", "refused.example", "outcome", "failed"}, 1},
		{p + "refreshes_total", []string{"host", "offline.example", "outcome", "offline"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "status"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "not_object"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "invalid_json"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "invalid_roster"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "closed"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "rejected_by_hook"}, 1},
		{p + "fetch_errors_total", []string{"host", "example.com", "kind", "timeout"}, 1},
		{"prosody_mod_reject_probe__failures_total", []string{"username", "ehang", "reason", "no answer within 0.5 s", "kind", "timeout"}, 1},
		{"prosody_mod_reject_probe__failures_total", []string{"username", "e500", "reason", "HTTP status 500", "kind", "status"}, 1},
		{"prosody_mod_reject_probe__failures_total", []string{"username", "eclosed", "kind", "closed"}, 1},
		{"prosody_mod_reject_probe__updates_total", []string{"username", "ok"}, 1},
		{p + "fetch_errors_total", []string{"host", "refused.example", "kind", "refused"}, 1},
		{p + "fetch_duration_seconds", []string{"host", "example.com"}, 8},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// sampleValue is a counter's or gauge's value, or a histogram's count.
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// TestRosterAdminMetricsMatchProsodysOwnExposition runs the same refreshes
// in real Prosody 0.12 (statistics on, its own mod_http_openmetrics) and in
// modhost, and compares the plugin's families as each exposes them: the
// names, types and units a dashboard depends on.
func TestRosterAdminMetricsMatchProsodysOwnExposition(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	b.Set("ok", `{"friend@example.com":{}}`)
	b.Fail("e500", testkit.Status(500))
	users := []string{"ok", "e500"}

	s := prosodytest.Start(t, prosodytest.Options{
		Modules: []string{"http_openmetrics"},
		HostConfig: fmt.Sprintf(`
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_refresh_offline = true
`, b.URL()),
		Config: `
Host "*"
	statistics = "internal"
	statistics_interval = "manual"
`,
	})
	payload, _ := json.Marshal(users)
	resp, err := http.Post(s.HTTPURL("/roster_admin/refresh"), "application/json", strings.NewReader(string(payload)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(s.HTTPURL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("Prosody /metrics: %d %s", resp.StatusCode, raw)
	}
	prosodyLines := familyLines(string(raw))

	dir := t.TempDir()
	rt, err := host.New(host.Options{
		ConfigSource: fmt.Sprintf(`
modules_enabled = { "http_openmetrics" }
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_refresh_offline = true
`, b.URL()),
		ConfigName: filepath.Join(dir, "test.cfg.lua"), NoListen: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	for _, req := range []*http.Request{
		httptest.NewRequest("POST", "/roster_admin/refresh", strings.NewReader(string(payload))),
		httptest.NewRequest("GET", "/metrics", nil),
	} {
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		rec := httptest.NewRecorder()
		rt.HTTPHandler().ServeHTTP(rec, req)
		raw = rec.Body.Bytes()
	}
	modhostLines := familyLines(string(raw))

	if len(prosodyLines) == 0 {
		t.Fatalf("Prosody exposed none of the plugin's families:\n%s", raw)
	}
	for line := range prosodyLines {
		if !modhostLines[line] {
			t.Errorf("Prosody has %q, modhost does not", line)
		}
	}
	for line := range modhostLines {
		if !prosodyLines[line] {
			t.Errorf("modhost has %q, Prosody does not", line)
		}
	}
}

// familyLines picks the plugin's TYPE and non-empty UNIT lines, and its
// counter samples with their labels (values aside: Prosody prints 1, the
// Go encoder 1.0).
func familyLines(exposition string) map[string]bool {
	const p = "prosody_mod_http_roster_admin__"
	out := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		switch {
		case strings.HasPrefix(line, "# TYPE "+p):
			out[line] = true
		case strings.HasPrefix(line, "# UNIT "+p) && !strings.HasSuffix(line, " "):
			out[line] = true
		case strings.HasPrefix(line, p) && strings.Contains(line, "_total{"):
			out[line[:strings.LastIndex(line, " ")]] = true
		}
	}
	return out
}
