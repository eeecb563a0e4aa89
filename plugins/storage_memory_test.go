package plugins_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// storagePrelude opens stores of mod_storage_memory on example.com; each
// case uses store names of its own.
const storagePrelude = `
local sm = require "core.storagemanager";
local function open(name, kind) return sm.open("example.com", name, kind); end
`

// The driver's contract, pinned for both ways it keeps data: packed
// (modhost.pack, inside modhost) and as deep copies (where modhost.pack is
// absent, as when Prosody loads this plugin).
var memoryStorageCases = []struct{ name, src string }{
	{"keyval round trip of nested data", `
		local s = open("kv1");
		assert(s:set("alice", { [false] = { version = 2 }, ["bob@example.com"] = { name = "Bob", groups = { Friends = true }, subscription = "both" }, list = { 1, 2.5, "three" } }));
		local got = s:get("alice");
		assert(got[false].version == 2 and got["bob@example.com"].groups.Friends == true and got.list[2] == 2.5 and #got.list == 3);
		assert(s:get("nobody") == nil)`},
	{"keyval never shares tables with its callers", `
		local s = open("kv2");
		local data = { item = { name = "Bob" } };
		s:set("alice", data);
		data.item.name = "changed after set";
		local a = s:get("alice");
		assert(a.item.name == "Bob");
		a.item.name = "changed after get";
		local b = s:get("alice");
		assert(b.item.name == "Bob" and a ~= b and a.item ~= b.item)`},
	{"keyval set nil and purge remove, users lists the rest", `
		local s = open("kv3");
		s:set("alice", { 1 }); s:set("bob", { 2 }); s:set("carol", "plain string"); s:set(nil, { host = true });
		assert(s:get(nil).host == true and s:get("carol") == "plain string");
		s:set("alice", nil); assert(s:purge("bob"));
		assert(s:get("alice") == nil and s:get("bob") == nil);
		local users = {};
		for user in s:users() do users[#users + 1] = user; end
		assert(#users == 1 and users[1] == "carol", table.concat(users, ","))`},
	{"metatables, shared tables and cycles survive", `
		local json = require "util.json";
		local s = open("kv4");
		local shared = { "s" };
		local v = json.decode('{"empty":[],"list":[1,2]}');
		v.a, v.b = shared, shared; v.self = v;
		s:set("alice", v);
		local got = s:get("alice");
		assert(json.encode(got.empty) == "[]" and json.encode(got.list) == "[1,2]");
		assert(got.a == got.b and got.a ~= shared and got.self == got)`},
	{"map get, set and removal of the last key", `
		local m = open("m1", "map");
		assert(m:set("alice", "k1", { v = 1 })); assert(m:set("alice", "k2", "two"));
		assert(m:get("alice", "k1").v == 1 and m:get("alice", "k2") == "two" and m:get("alice", "k3") == nil);
		assert(m:get("nobody", "k1") == nil);
		local got = m:get("alice", "k1"); got.v = 99; assert(m:get("alice", "k1").v == 1);
		m:set("alice", "k1", nil); m:set("alice", "k2", nil);
		assert(m:users()() == nil)`},
	{"map set_keys sets and removes at once", `
		local m = open("m2", "map");
		m:set_keys("alice", { [false] = { version = 1 }, ["bob@example.com"] = { name = "Bob" }, gone = "x" });
		assert(m:set_keys("alice", { [false] = { version = 2 }, gone = m.remove }));
		assert(m:get("alice", false).version == 2 and m:get("alice", "bob@example.com").name == "Bob" and m:get("alice", "gone") == nil)`},
	{"map get_all and delete_all across users", `
		local m = open("m3", "map");
		m:set("alice", "k", { n = 1 }); m:set("bob", "k", { n = 2 }); m:set("bob", "other", 3); m:set(nil, "k", { n = 0 });
		local all = m:get_all("k");
		assert(all.alice.n == 1 and all.bob.n == 2);
		local n = 0; for _ in pairs(all) do n = n + 1; end
		assert(n == 2, n);
		m:delete_all("k");
		assert(m:get("alice", "k") == nil and m:get("bob", "k") == nil and m:get("bob", "other") == 3)`},
	{"driver purge removes a user from every store", `
		local kv, m = open("p1"), open("p2", "map");
		kv:set("alice", { 1 }); m:set("alice", "k", 1); kv:set("bob", { 2 });
		local driver = sm.get_driver("example.com", "p1");
		assert(driver:purge("alice"));
		assert(kv:get("alice") == nil and m:get("alice", "k") == nil and kv:get("bob")[1] == 2)`},
}

func TestMemoryStorageKeepsItsContract(t *testing.T) {
	for _, variant := range []struct {
		name, prep string
		packed     bool
	}{
		{"packed", "", true},
		{"deep copies", `package.preload["modhost.pack"] = nil; package.loaded["modhost.pack"] = nil`, false},
	} {
		t.Run(variant.name, func(t *testing.T) {
			rt := startMemoryStorage(t)
			run := func(t *testing.T, src string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := rt.Loop().Do(ctx, func(L *glua.LState) error {
					_, err := lua.DoChunk(L, src, "storage_case.lua", 0)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// Before the first store opens, so the driver loads without it.
			run(t, variant.prep)
			run(t, storagePrelude+`open("probe"); assert((package.loaded["modhost.pack"] ~= nil) == `+strconv.FormatBool(variant.packed)+`, "modhost.pack use")`)
			for _, tc := range memoryStorageCases {
				t.Run(tc.name, func(t *testing.T) { run(t, storagePrelude+tc.src) })
			}
		})
	}
}

func startMemoryStorage(t *testing.T) *host.Runtime {
	t.Helper()
	rt, err := host.New(host.Options{
		ConfigSource: "log = { { levels = { min = \"error\" }, to = \"console\" } }\nstorage = \"memory\"\nVirtualHost \"example.com\"\n",
		NoListen:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	return rt
}
