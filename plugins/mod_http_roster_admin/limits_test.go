package rosteradmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/internal/runtimetest"
	"github.com/modhost/modhost/internal/testkit"
)

// The bounds of issue 13 (points 1, 5 and 7), each checked with both readers:
// the plugin's own Lua (as in Prosody) and modhost's native one.

// limitsRuntime starts one host per reader, named native.example and
// lua.example, with options added to both.
func limitsRuntime(t *testing.T, b *testkit.Backend, options string) (*host.Runtime, *testkit.SyncBuffer) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	var cfg strings.Builder
	cfg.WriteString(`modules_enabled = { "http_openmetrics" }` + "\n")
	for _, native := range []bool{true, false} {
		fmt.Fprintf(&cfg, `
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_native = %v
	http_roster_admin_timeout = 2
	http_roster_admin_deadline = 5
%s
`, readerHost(native), b.URL(), native, options)
	}
	return runtimetest.Start(t, cfg.String(), nil, nil, logs), logs
}

func readerHost(native bool) string {
	if native {
		return "native.example"
	}
	return "lua.example"
}

// postRefresh posts body to vhost's refresh API and returns the status and
// the decoded answer.
func postRefresh(t *testing.T, rt *host.Runtime, vhost, body string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rt.HTTPURLs()[0]+"/roster_admin/refresh", strings.NewReader(body))
	req.Host = vhost
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST to %s: %v", vhost, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var reply map[string]any
	if err := json.Unmarshal(raw, &reply); err != nil {
		t.Fatalf("POST to %s: %d, body %q is not JSON: %v", vhost, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, reply
}

// contactsJSON is a roster of n contacts named prefix1@example.net, ….
func contactsJSON(prefix string, n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s%d@example.net":{"name":"C %d"}`, prefix, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

func rosterJIDs(t *testing.T, s *host.Session) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	items, err := s.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var jids []string
	for _, it := range items {
		jids = append(jids, it.JID)
	}
	slices.Sort(jids)
	return jids
}

// An answer with more contacts than http_roster_admin_max_contacts is a
// failed fetch, counted and logged, and the roster stays as it was; one
// with exactly that many is applied (issue 13, point 1).
func TestRosterAdminMaxContacts(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	rt, logs := limitsRuntime(t, b, "\thttp_roster_admin_max_contacts = 5\n")
	for _, native := range []bool{true, false} {
		vhost := readerHost(native)
		t.Run(vhost, func(t *testing.T) {
			user := "u-" + strings.Split(vhost, ".")[0]
			b.Set(user, contactsJSON("first", 2))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := rt.Login(ctx, vhost, user, "r")
			if err != nil {
				t.Fatal(err)
			}
			before := rosterJIDs(t, s)
			if len(before) != 2 {
				t.Fatalf("roster at login: %v", before)
			}
			b.Set(user, contactsJSON("big", 6))
			code, reply := postRefresh(t, rt, vhost, `["`+user+`"]`)
			if code != 200 || reply["errors"] != 1.0 || reply["updated"] != 0.0 {
				t.Fatalf("refresh with 6 contacts over a cap of 5: %d %v", code, reply)
			}
			if after := rosterJIDs(t, s); !slices.Equal(after, before) {
				t.Fatalf("roster changed by a refused answer: %v, was %v", after, before)
			}
			if want := "answer has 6 contacts, more than http_roster_admin_max_contacts (5)"; !strings.Contains(logs.String(), want) {
				t.Fatalf("log does not say %q:\n%s", want, logs.String())
			}
			b.Set(user, contactsJSON("five", 5))
			if code, reply := postRefresh(t, rt, vhost, `["`+user+`"]`); code != 200 || reply["updated"] != 1.0 {
				t.Fatalf("refresh with 5 contacts: %d %v", code, reply)
			}
			if after := rosterJIDs(t, s); len(after) != 5 || !strings.HasPrefix(after[0], "five") {
				t.Fatalf("roster after 5 contacts: %v", after)
			}
		})
	}
	if metrics := metricsText(t, rt); !strings.Contains(metrics, `kind="too_many_contacts"`) {
		t.Fatalf("fetch_errors has no too_many_contacts kind:\n%s", metrics)
	}
}

// metricsText is what /metrics serves.
func metricsText(t *testing.T, rt *host.Runtime) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Host = readerHost(true)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	rt.HTTPHandler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// A fetch the plugin gives up on (http_roster_admin_timeout) closes its
// connection then, not when net.http's own timeout (30 s) ends it
// (issue 13, point 7).
func TestRosterAdminFetchTimeoutClosesTheConnection(t *testing.T) {
	url, closed := testkit.DrippingServer(t, "/contacts/%s", 100*time.Millisecond)
	for _, native := range []bool{true, false} {
		t.Run(readerHost(native), func(t *testing.T) {
			rt := runtimetest.Start(t, fmt.Sprintf(`
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_native = %v
	http_roster_admin_timeout = 1
	http_roster_admin_refresh_offline = true
`, url, native), nil, nil, nil)
			started := time.Now()
			code, reply := postRefresh(t, rt, "example.com", `["dripped"]`)
			if code != 200 || reply["errors"] != 1.0 {
				t.Fatalf("refresh of a dripping backend: %d %v", code, reply)
			}
			select {
			case at := <-closed:
				if d := at.Sub(started); d > 2*time.Second {
					t.Fatalf("connection closed %v after the fetch started (timeout 1 s)", d)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("connection still open %v after a fetch with a 1 s timeout started", time.Since(started))
			}
		})
	}
}

// Refresh bodies that are valid JSON however much whitespace comes first
// are read (a megabyte of it answered 500 "pattern/input too complex"), and
// nesting beyond util.json's limit is a 400 saying so, not a 500 (issue
// 13, point 5). Both readers, default limits.
func TestRosterAdminRefreshBodiesOfWhitespaceAndNesting(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	rt, _ := limitsRuntime(t, b, "")
	spaces := strings.Repeat(" ", 1_048_000)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, native := range []bool{true, false} {
		vhost := readerHost(native)
		t.Run(vhost, func(t *testing.T) {
			if code, reply := postRefresh(t, rt, vhost, spaces+"[]"); code != 200 || reply["status"] != "ok" || reply["updated"] != 0.0 {
				t.Fatalf("1,048,000 spaces then []: %d %v", code, reply)
			}
			if code, reply := postRefresh(t, rt, vhost, spaces+`["nobody-online"]`); code != 200 || reply["updated"] != 1.0 {
				t.Fatalf(`1,048,000 spaces then ["nobody-online"]: %d %v`, code, reply)
			}
			if code, reply := postRefresh(t, rt, vhost, spaces); code != 400 || !strings.HasPrefix(fmt.Sprint(reply["message"]), "missing body") {
				t.Fatalf("1,048,000 spaces: %d %v", code, reply)
			}
			code, reply := postRefresh(t, rt, vhost, deep)
			if want := "body is not valid JSON (nesting too deep): expected a JSON array of usernames"; code != 400 || reply["message"] != want {
				t.Fatalf("nesting 100,000 deep: %d %v, want 400 %q", code, reply, want)
			}
		})
	}
}

// Ten megabytes of whitespace before a valid roster: both readers apply it
// (the Lua reader failed with "pattern/input too complex", reported as a
// timeout, where the native one read it; issue 13, point 7).
func TestRosterAdminAnswerAfterTenMegabytesOfWhitespace(t *testing.T) {
	b := testkit.NewBackend(t, nil)
	rt, _ := limitsRuntime(t, b, "\thttp_roster_admin_refresh_offline = true\n")
	answer := strings.Repeat(" \n\t\r", 10<<20/4) + `{"romeo@example.net":{"name":"Romeo","groups":["Friends"]}}`
	for _, native := range []bool{true, false} {
		vhost := readerHost(native)
		t.Run(vhost, func(t *testing.T) {
			user := "spaced-" + strings.Split(vhost, ".")[0]
			b.Set(user, answer)
			if code, reply := postRefresh(t, rt, vhost, `["`+user+`"]`); code != 200 || reply["updated"] != 1.0 {
				t.Fatalf("answer after 10 MB of whitespace: %d %v", code, reply)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := rt.Login(ctx, vhost, user, "r")
			if err != nil {
				t.Fatal(err)
			}
			if jids := rosterJIDs(t, s); !slices.Equal(jids, []string{"romeo@example.net"}) {
				t.Fatalf("roster: %v", jids)
			}
		})
	}
}
