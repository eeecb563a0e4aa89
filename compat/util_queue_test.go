package compat_test

import (
	"testing"

	"github.com/modhost/modhost/internal/testkit"
)

func TestQueue(t *testing.T) {
	// dump(q) lists items oldest first.
	const prelude = `
		local queue = require "util.queue"
		local function dump(q)
			local out = {}
			for _, item in q:items() do out[#out + 1] = tostring(item) end
			return table.concat(out, ",")
		end
	`
	tests := []struct {
		name string
		lua  string
		want string
	}{
		{"fifo", `local q = queue.new(3); q:push(1); q:push(2); return q:pop() .. q:pop() .. tostring(q:pop())`, "12nil"},
		{"full refuses", `local q = queue.new(1); q:push(1); local ok, err = q:push(2); return tostring(ok) .. " " .. err .. " " .. dump(q)`, "nil queue full 1"},
		{"wrapping overwrites oldest", `local q = queue.new(2, true); q:push(1); q:push(2); q:push(3); return dump(q) .. " " .. q:count()`, "2,3 2"},
		{"order across the end", `local q = queue.new(3); q:push(1); q:push(2); q:pop(); q:push(3); q:push(4); return dump(q)`, "2,3,4"},
		{"peek leaves the item", `local q = queue.new(2); q:push("a"); return q:peek() .. q:count()`, "a1"},
		{"replace oldest", `local q = queue.new(2); q:push("a"); q:push("b"); q:replace("A"); return dump(q)`, "A,b"},
		{"replace into empty pushes", `local q = queue.new(2); q:replace("a"); return dump(q)`, "a"},
		{"consume drains", `
			local q = queue.new(3); q:push(1); q:push(2); local s = ""
			for item in q:consume() do s = s .. item end
			return s .. " " .. q:count()`, "12 0"},
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
