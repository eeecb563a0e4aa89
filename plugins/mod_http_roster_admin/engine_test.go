package rosteradmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/runtimetest"
	"github.com/modhost/modhost/internal/testkit"
)

// wrapHTTPPlugin wraps net.http.request, as a tracing or proxying plugin
// would, and writes each URL it is asked for to wrap_log.
const wrapHTTPPlugin = `
local http = require "net.http";
local log_path = module:get_option_string("wrap_log");
local own = http.request;
http.request = function (url, ...)
	local f = assert(io.open(log_path, "a"));
	f:write(url, "\n");
	f:close();
	return own(url, ...);
end
function module.unload() http.request = own; end
`

// In modhost the roster admin's fetches are scheduled in Go (native.engine)
// and made there while net.http.request is net.http's own; a plugin that
// wraps it must still see every fetch, as it would in Prosody: the engine
// then fetches through the plugin's Lua request, which calls the wrapper.
func TestRosterAdminEngineFetchesThroughAWrappedNetHTTPRequest(t *testing.T) {
	b := testkit.NewBackend(t, map[string]string{
		"ann": `{"bob@example.com":{"name":"Bob","groups":{"Friends":true}}}`,
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_wrap_http.lua"), []byte(wrapHTTPPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapLog := filepath.Join(dir, "wrapped.log")
	rt := runtimetest.Start(t, `
VirtualHost "example.com"
	modules_enabled = { "wrap_http"; "http_roster_admin" }
	storage = { roster = "memory" }
	http_roster_url = "`+b.URL()+`"
	wrap_log = "`+wrapLog+`"
`, []string{dir}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := rt.Login(ctx, "example.com", "ann", "phone")
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].JID != "bob@example.com" || items[0].Name != "Bob" {
		t.Fatalf("login roster %+v, want bob as Bob", items)
	}

	b.Set("ann", `{"bob@example.com":{"name":"Robert"},"cat@example.com":{}}`)
	resp, err := http.Post(rt.HTTPURLs()[0]+"/roster_admin/refresh", "application/json", bytes.NewReader([]byte(`["ann"]`)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reply refreshReply
	if err := json.Unmarshal(raw, &reply); err != nil || resp.StatusCode != 200 || reply.Updated != 1 || reply.Errors != 0 {
		t.Fatalf("refresh → %d %s", resp.StatusCode, raw)
	}
	if items, err = s.Roster(ctx); err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Name != "Robert" || items[1].JID != "cat@example.com" {
		t.Errorf("refreshed roster %+v, want Robert and cat", items)
	}

	logged, _ := os.ReadFile(wrapLog)
	wrapped := strings.Fields(string(logged))
	hits := b.Hits("/contacts/ann")
	if len(hits) < 2 || len(wrapped) != len(hits) {
		t.Errorf("the wrapper saw %d fetches (%q), the web app served %d: every fetch must go through the wrapper", len(wrapped), wrapped, len(hits))
	}
}
