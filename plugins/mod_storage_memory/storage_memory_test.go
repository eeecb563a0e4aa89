package storagememory_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/runtimetest"
	"github.com/modhost/modhost/lua"
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
	// A store's keyval and map views are one store, as in Prosody (whose
	// storagemanager gives drivers without map stores a keyval-backed one):
	// core.rostermanager saves single items through the map view and loads
	// the roster through the keyval one.
	{"an item set through the map is in the keyval value", `
		local kv, map = open("shared1", "keyval"), open("shared1", "map");
		kv:set("alice", { ["bob@example.com"] = { name = "Bob" } });
		map:set_keys("alice", { ["carol@example.com"] = { name = "Carol" }, [false] = { version = 2 } });
		local got = kv:get("alice");
		assert(got["bob@example.com"].name == "Bob" and got["carol@example.com"].name == "Carol" and got[false].version == 2)`},
	{"a removal through the map is gone from the keyval value", `
		local kv, map = open("shared2", "keyval"), open("shared2", "map");
		kv:set("dave", { ["bob@example.com"] = {}, ["carol@example.com"] = {} });
		map:set_keys("dave", { ["bob@example.com"] = map.remove });
		local got = kv:get("dave");
		assert(got["bob@example.com"] == nil and got["carol@example.com"] ~= nil);
		map:set("dave", "carol@example.com", nil);
		assert(kv:get("dave") == nil, "a value with nothing left is gone")`},
	{"a keyval value is read item by item through the map", `
		local kv, map = open("shared3", "keyval"), open("shared3", "map");
		kv:set("erin", { ["bob@example.com"] = { name = "Bob" } });
		assert(map:get("erin", "bob@example.com").name == "Bob");
		kv:set("erin", { x = 1 });
		assert(map:get("erin", "bob@example.com") == nil, "a keyval set replaces every item");
		local users = {};
		for user in map:users() do users[#users + 1] = user; end
		assert(#users == 1 and users[1] == "erin")`},
	{"many item saves stay readable as one value", `
		local kv, map = open("shared4", "keyval"), open("shared4", "map");
		kv:set("gina", { keep = { n = 0 } });
		for i = 1, 200 do map:set("gina", "k" .. (i % 50), { n = i }); end
		local got = kv:get("gina");
		local n = 0;
		for k, v in pairs(got) do n = n + 1; end
		assert(n == 51 and got.keep.n == 0 and got.k0.n == 200 and got.k49.n == 199, "got " .. n)`},
	{"data survives a reload of the driver", `
		local kv, map = open("shared6", "keyval"), open("shared6", "map");
		kv:set("hank", { a = 1, b = 2 });
		map:set("hank", "a", nil);
		local mm = require "core.modulemanager";
		assert(mm.unload("example.com", "storage_memory"));
		assert(mm.load("example.com", "storage_memory"));
		kv, map = open("shared6", "keyval"), open("shared6", "map");
		local got = kv:get("hank");
		assert(got.a == nil and got.b == 2, "removal forgotten across the reload");
		assert(map:get("hank", "a") == nil and map:get("hank", "b") == 2)`},
	{"other stores stay apart", `
		open("shared5", "map"):set_keys("frank", { x = 1 });
		assert(open("other5", "keyval"):get("frank") == nil)`},
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
			rt := runtimetest.Start(t, "storage = \"memory\"\nVirtualHost \"example.com\"\n", nil, nil, nil)
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

// Saving each of n contacts over an n-contact roster (what a refresh that
// replaces a roster does, through rostermanager's map view) packs a
// bounded multiple of the roster, not the whole roster again every 32
// saves (issue 13, point 1: n²/32, 7.4 s of loop for 8,000 contacts).
func TestMemoryStorageItemSavesPackLinearly(t *testing.T) {
	rt := runtimetest.Start(t, "storage = \"memory\"\nVirtualHost \"example.com\"\n", nil, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var whole, packed float64
	err := rt.Loop().Do(ctx, func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `
			-- Counts what the driver packs; set before its first store opens.
			local real = require "modhost.pack";
			local bytes = 0;
			package.loaded["modhost.pack"] = { unpack = real.unpack, pack = function (v)
				local p = real.pack(v);
				if type(p) == "string" then bytes = bytes + #p; end
				return p;
			end };
			`+storagePrelude+`
			local kv, map = open("linear", "keyval"), open("linear", "map");
			local n, roster = 3000, {};
			for i = 1, n do roster["old" .. i .. "@example.com"] = { name = "Contact " .. i, groups = { G = true }, subscription = "both" }; end
			kv:set("alice", roster);
			local whole = bytes;
			for i = 1, n do map:set_keys("alice", { [false] = { version = i }, ["old" .. i .. "@example.com"] = map.remove }); end
			for i = 1, n do map:set_keys("alice", { [false] = { version = n + i }, ["new" .. i .. "@example.com"] = { name = "New " .. i, groups = { G = true }, subscription = "both" } }); end
			local got, count = kv:get("alice"), 0;
			for k in pairs(got) do if k then count = count + 1; end end
			assert(count == n and got["new1@example.com"].name == "New 1" and got["old1@example.com"] == nil and got[false].version == 2 * n, "count " .. count);
			return whole, bytes - whole`, "linear.lua", 2)
		if err != nil {
			return err
		}
		whole, packed = float64(glua.LVAsNumber(rets[0])), float64(glua.LVAsNumber(rets[1]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if packed > 10*whole {
		t.Fatalf("%d item saves over a %.0f-byte packed roster packed %.0f bytes (%.0f× the roster), want at most 10×", 6000, whole, packed, packed/whole)
	}
	t.Logf("roster %.0f bytes packed; item saves packed %.0f bytes (%.1f×)", whole, packed, packed/whole)
}
