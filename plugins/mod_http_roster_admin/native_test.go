package rosteradmin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	rosteradmin "github.com/modhost/modhost/plugins/mod_http_roster_admin"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
)

// The plugin's own tests (fuzz_test.go) check that the
// native reader and the plugin's Lua reader agree on every answer; these pin
// the library's own contract.

func TestRosterAdminParseReadsAnswersOffTheLoop(t *testing.T) {
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	cases := []struct {
		name, body, want string
	}{
		{"common shape kept in Go", `{"a@b.c":{"name":"A","groups":["G","G",""]},"me@h.x":{}}`,
			`userdata a@b.c=A|G|both`},
		{"escapes take the general path", `{"a@b.c":{"name":"\u0041"}}`,
			`table a@b.c=A||both`},
		{"extra fields take the general path", `{"a@b.c":{"name":"A","email":"x"}}`,
			`table a@b.c=A||both`},
		{"prepped contact", `{"A@B.C":{}}`, `userdata a@b.c=||both`},
		{"not an object", `[]`, `answer is not a JSON object`},
		{"bad JSON", `{"a@b.c":}`, `answer is not valid JSON (value expected)`},
		{"reserved key", `{"__hash":[]}`, `answer uses the reserved keys __array or __hash`},
		{"bad contact", `{"a@b@c":{}}`, `invalid contact JID a@b@c`},
		{"contact with resource", `{"a@b.c/r":{}}`, `invalid contact JID a@b.c/r`},
		{"name not a string", `{"a@b.c":{"name":1}}`, `contact a@b.c: name is not a string`},
		{"groups as the original reads them: an object's keys", `{"a@b.c":{"groups":{"G":true,"H":true}}}`, `userdata a@b.c=|G,H|both`},
		{"groups object with other values", `{"a@b.c":{"groups":{"G":1,"H":false,"I":null,"J":"x"}}}`, `table a@b.c=|G,H,I,J|both`},
		{"empty groups object", `{"a@b.c":{"groups":{}}}`, `userdata a@b.c=||both`},
		{"empty groups array", `{"a@b.c":{"groups":[]}}`, `userdata a@b.c=||both`},
		{"groups a string", `{"a@b.c":{"groups":"Friends"}}`, `contact a@b.c: groups is not an object of group names or an array of strings`},
		{"groups a number", `{"a@b.c":{"groups":1}}`, `contact a@b.c: groups is not an object of group names or an array of strings`},
		{"control character in a group", `{"a@b.c":{"groups":["\u0001"]}}`, `contact a@b.c: a group contains a character XML cannot carry`},
		{"non-character in a name", "{\"a@b.c\":{\"name\":\"\uFFFF\"}}", `contact a@b.c: name contains a character XML cannot carry`},
		{"nesting too deep", `{"a@b.c":{"x":` + deep(10001) + `}}`, `answer is not valid JSON (nesting too deep)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := testkit.RunLuaAsync(t, l, `
				local json = require "util.json";
				local r = require "modhost.roster_admin";
				r.parse(BODY, "me@h.x", json.null, getmetatable(json.decode("[]")), false, function (roster, err)
					if not roster then return done(err); end
					local kind = type(roster);
					if kind == "userdata" then roster = roster:table(); end
					local out = {};
					for jid, item in pairs(roster) do
						local groups = {};
						for g in pairs(item.groups) do groups[#groups + 1] = g; end
						table.sort(groups);
						out[#out + 1] = jid .. "=" .. (item.name or "") .. "|" .. table.concat(groups, ",") .. "|" .. item.subscription;
					end
					table.sort(out);
					done(kind .. " " .. table.concat(out, " "));
				end);`, map[string]string{"BODY": c.body})
			if got := fmt.Sprint(testkit.Await(t, ch, 5*time.Second)[0]); got != c.want {
				t.Errorf("parse(%q) = %q, want %q", c.body, got, c.want)
			}
		})
	}
}

func deep(n int) string {
	b := make([]byte, 0, 2*n)
	for range n {
		b = append(b, '[')
	}
	for range n {
		b = append(b, ']')
	}
	return string(b)
}

func TestRosterAdminParseGivesEntriesAsUtilJSONWould(t *testing.T) {
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	for _, body := range []string{
		`{"a@b.c":{"name":null,"groups":["x"]},"d@e.f":{"groups":null}}`,
		`{"a@b.c":{"name":"\u0041","groups":[]}}`,
		`{"a@b.c":{"groups":{"Friends":true,"Work":true}},"d@e.f":{"groups":{}}}`,
		`{"a@b.c":{"groups":{"Friends":1,"Work":null}}}`,
	} {
		ch := testkit.RunLuaAsync(t, l, `
			local json = require "util.json";
			local r = require "modhost.roster_admin";
			r.parse(BODY, "me@h.x", json.null, getmetatable(json.decode("[]")), true, function (roster, entries)
				assert(type(roster) == "table", "roster for a handler is a table");
				done(json.encode_ordered(entries), json.encode_ordered(json.decode(BODY)));
			end);`, map[string]string{"BODY": body})
		got := testkit.Await(t, ch, 5*time.Second)
		if got[0] != got[1] {
			t.Errorf("entries of %s:\n got %v\nwant %v", body, got[0], got[1])
		}
	}
}

func TestRosterAdminDiffFindsEveryKindOfChange(t *testing.T) {
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	// The same comparisons with the wanted roster as a table and as the
	// native reader's handle.
	for _, native := range []string{"false", "true"} {
		ch := testkit.RunLuaAsync(t, l, `
			local json = require "util.json";
			local r = require "modhost.roster_admin";
			local function item(name, groups, subscription, ask)
				local set = {};
				for _, g in ipairs(groups) do set[g] = true; end
				return { name = name, groups = set, subscription = subscription or "both", ask = ask };
			end
			local current = {
				[false] = { version = 3 },
				["same@x"] = item("S", { "g" }),
				["renamed@x"] = item("old", {}),
				["regrouped@x"] = item("R", { "a" }),
				["pending@x"] = item("P", {}, "both", "subscribe"),
				["from@x"] = item("F", {}, "from"),
				["nogroups@x"] = { name = "N", subscription = "both" },
				["gone@x"] = item("G", {}),
			};
			local body = [[{"same@x":{"name":"S","groups":["g"]},"renamed@x":{"name":"new"},
				"regrouped@x":{"name":"R","groups":["a","b"]},"pending@x":{"name":"P"},
				"from@x":{"name":"F"},"nogroups@x":{"name":"N","groups":[]},"new@x":{}}]];
			r.parse(body, "me@h.x", json.null, getmetatable(json.decode("[]")), NATIVE ~= "true", function (wanted)
				assert((type(wanted) == "userdata") == (NATIVE == "true"), "wanted is " .. type(wanted));
				local added, removed, changed = r.diff(current, wanted);
				done(table.concat(added, " "), table.concat(removed, " "), table.concat(changed, " "));
			end);`, map[string]string{"NATIVE": native})
		got := testkit.Await(t, ch, 5*time.Second)
		want := []any{"new@x", "gone@x", "from@x pending@x regrouped@x renamed@x"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("native=%s: diff = %q, want %q", native, got, want)
		}
	}
}

// fetch is the request, its bound and parse in one step: every way a fetch
// can end reaches the callback once, as the plugin's Lua tells them apart.
func TestRosterAdminFetchEndsEveryWayInOneCallback(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "no Accept", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, `{"a@b.c":{"name":"A","groups":["G"]},"me@h.x":{}}`)
		case "/bad":
			fmt.Fprint(w, `[]`)
		case "/missing":
			http.NotFound(w, r)
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	cases := []struct{ name, url, want string }{
		{"a roster", srv.URL + "/ok", `200 userdata a@b.c=A|G nil`},
		{"an answer the contract refuses", srv.URL + "/bad", `200 nil answer is not a JSON object`},
		{"a status", srv.URL + "/missing", `404 nil nil`},
		{"its own bound", srv.URL + "/hang", `0 timeout true`},
		{"a refused connection", "http://" + testkit.ClosedAddr(t) + "/x", `0 connection refused false`},
		{"not a URL", "ftp://example.com/x", `not sent invalid-url`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := testkit.RunLuaAsync(t, l, `
				local json = require "util.json";
				local r = require "modhost.roster_admin";
				local function show(v)
					if type(v) == "userdata" then
						local out = {};
						for jid, item in pairs(v:table()) do
							local groups = {};
							for g in pairs(item.groups) do groups[#groups + 1] = g; end
							out[#out + 1] = jid .. "=" .. (item.name or "") .. "|" .. table.concat(groups, ",");
						end
						return "userdata " .. table.concat(out, " ");
					end
					return tostring(v);
				end
				local sent, reason = r.fetch(URL, 0.3, "me@h.x", json.null, getmetatable(json.decode("[]")),
					function () return false; end, 100, function (code, a, b)
						done(tostring(code) .. " " .. show(a) .. " " .. show(b));
					end);
				if not sent then done("not sent " .. reason); end`, map[string]string{"URL": c.url})
			if got := fmt.Sprint(testkit.Await(t, ch, 5*time.Second)[0]); got != c.want {
				t.Errorf("fetch(%s) = %q, want %q", c.url, got, c.want)
			}
			select {
			case extra := <-ch:
				t.Errorf("called back again: %v", extra)
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}

// A roster-admin/fetched handler hooked while a fetch was out sees its
// entries: whether anyone reads them is asked again as the answer comes in.
func TestRosterAdminFetchAsksAgainWhetherEntriesAreWanted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"a@b.c":{"name":"A","email":"a@example.com"}}`)
	}))
	defer srv.Close()
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	ch := testkit.RunLuaAsync(t, l, `
		local json = require "util.json";
		local r = require "modhost.roster_admin";
		local asked = 0;
		r.fetch(URL, 5, "me@h.x", json.null, getmetatable(json.decode("[]")),
			function () asked = asked + 1; return asked > 1; end, 100, function (code, roster, entries)
				done(code, asked, type(roster), type(entries) == "table" and entries["a@b.c"].email or tostring(entries));
			end);`, map[string]string{"URL": srv.URL})
	got := fmt.Sprint(testkit.Await(t, ch, 5*time.Second))
	if want := "[200 2 table a@example.com]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The plugin fetches natively only while net.http.request is net.http's
// own: a spec that stubs it must see its stub called.
func TestRosterAdminKnowsNetHTTPsOwnRequestFromAStub(t *testing.T) {
	l := testkit.NewLoop(t, append(compat.Libraries(), rosteradmin.Library()))
	got := testkit.CallLua(t, l, `
		local http = require "net.http";
		local r = require "modhost.roster_admin";
		local own = http.request;
		local before = r.is_net_http_request(http.request);
		http.request = function (...) return own(...); end;
		local stubbed = r.is_net_http_request(http.request);
		http.request = own;
		return tostring(before) .. " " .. tostring(stubbed) .. " " .. tostring(r.is_net_http_request(http.request)) .. " " .. tostring(r.is_net_http_request(nil));`)
	if want := "true false true false"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
