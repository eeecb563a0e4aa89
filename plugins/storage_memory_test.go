package plugins_test

import (
	"context"
	"testing"
	"time"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// A memory store's keyval and map views are one store, as in Prosody's
// mod_storage_memory: core.rostermanager saves a single roster item through
// the map view and loads the roster through the keyval one.
func TestStorageMemoryKeyvalAndMapViewsShareData(t *testing.T) {
	rt := startModhost(t, "VirtualHost \"example.com\"\n\tstorage = \"memory\"\n", nil, nil, nil)
	tests := []struct {
		name string
		lua  string // returns true, or false and what differs
	}{
		{"an item set through the map is in the keyval value", `
			kv:set("alice", { ["bob@example.com"] = { name = "Bob" } })
			map:set_keys("alice", { ["carol@example.com"] = { name = "Carol" } })
			local got = kv:get("alice")
			return got["bob@example.com"].name == "Bob" and got["carol@example.com"].name == "Carol", "keyval get after set_keys"`},
		{"a removal through the map is gone from the keyval value", `
			kv:set("dave", { ["bob@example.com"] = {}, ["carol@example.com"] = {} })
			map:set_keys("dave", { ["bob@example.com"] = map.remove })
			local got = kv:get("dave")
			return got["bob@example.com"] == nil and got["carol@example.com"] ~= nil, "keyval get after a map removal"`},
		{"a keyval value is read item by item through the map", `
			kv:set("erin", { ["bob@example.com"] = { name = "Bob" } })
			return map:get("erin", "bob@example.com").name == "Bob", "map get after keyval set"`},
		{"other stores stay apart", `
			map:set_keys("frank", { x = 1 })
			local other = require "core.storagemanager".open("example.com", "other", "keyval")
			return other:get("frank") == nil, "another store's keyval sees roster data"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := rt.Loop().Do(ctx, func(L *glua.LState) error {
				rets, err := lua.DoChunk(L, `local sm = require "core.storagemanager"
					local kv, map = sm.open("example.com", "roster", "keyval"), sm.open("example.com", "roster", "map")
					`+tt.lua, "spec", 2)
				if err != nil {
					return err
				}
				if rets[0] != glua.LTrue {
					t.Errorf("%s", rets[1])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
