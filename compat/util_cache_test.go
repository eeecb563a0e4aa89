package compat_test

import (
	"testing"

	"github.com/modhost/modhost/internal/testkit"
)

func TestCache(t *testing.T) {
	// keys(c) lists keys newest first.
	const prelude = `
		local cache = require "util.cache"
		local function keys(c)
			local out = {}
			for k in c:items() do out[#out + 1] = tostring(k) end
			return table.concat(out, ",")
		end
	`
	tests := []struct {
		name string
		lua  string // returns a string to compare with want
		want string
	}{
		{"evicts least recently set", `
			local c = cache.new(2); c:set("a", 1); c:set("b", 2); c:set("a", 1); c:set("c", 3)
			return keys(c)`, "c,a"},
		{"get does not count as use", `
			local c = cache.new(2); c:set("a", 1); c:set("b", 2); c:get("a"); c:set("c", 3)
			return keys(c)`, "c,b"},
		{"on_evict sees key and value", `
			local seen
			local c = cache.new(1, function(k, v) seen = k .. "=" .. v end)
			c:set("a", 1); c:set("b", 2)
			return seen`, "a=1"},
		{"on_evict returning false refuses", `
			local c = cache.new(1, function() return false end)
			c:set("a", 1)
			return tostring(c:set("b", 2)) .. " " .. keys(c)`, "false a"},
		{"on_evict = false refuses", `
			local c = cache.new(1, false)
			c:set("a", 1)
			return tostring(c:set("b", 2)) .. " " .. keys(c)`, "false a"},
		{"nil removes", `
			local c = cache.new(3); c:set("a", 1); c:set("b", 2); c:set("a", nil)
			return keys(c) .. " " .. c:count()`, "b 1"},
		{"resize evicts oldest", `
			local c = cache.new(3); c:set("a", 1); c:set("b", 2); c:set("c", 3)
			return tostring(c:resize(1)) .. " " .. keys(c) .. " " .. c.size`, "true c 1"},
		{"resize refused keeps size", `
			local c = cache.new(2, function(k) return k ~= "a" end); c:set("a", 1); c:set("b", 2)
			return tostring(c:resize(1)) .. " " .. keys(c) .. " " .. c.size`, "false b,a 2"},
		{"head and tail", `
			local c = cache.new(3); c:set("a", 1); c:set("b", 2)
			local hk, hv = c:head(); local tk, tv = c:tail()
			return hk .. hv .. tk .. tv`, "b2a1"},
		{"clear", `
			local c = cache.new(3); c:set("a", 1); c:clear(); c:set("b", 2)
			return keys(c) .. " " .. c:count()`, "b 1"},
		{"table view", `
			local c = cache.new(2); local t = c:table(); t.x = 5
			return tostring(c:get("x")) .. " " .. tostring(t.x) .. " " .. tostring(c:table() == t)`, "5 5 true"},
		{"table view write refused raises", `
			local c = cache.new(1, false); local t = c:table(); t.x = 1
			return tostring(pcall(function() t.y = 2 end))`, "false"},
		{"bad size", `return tostring(pcall(cache.new, 0)) .. tostring(pcall(cache.new, "x"))`, "falsefalse"},
	}
	l := newLoop(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testkit.CallLua(t, l, prelude+tc.lua); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
