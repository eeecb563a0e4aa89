package compat_test

import (
	"context"
	"os"
	"testing"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// miniBusted is just enough of busted for the specs below to run inside the
// loop until modhost's own runner exists: describe/it/before_each/
// after_each and the assertions the specs use. It returns a list of
// failures ("test name: message").
const miniBusted = `
local src, chunkname = ...
local failures, befores, afters, names = {}, {}, {}, {}
local function same(a, b)
	if a == b then return true end
	if type(a) ~= "table" or type(b) ~= "table" then return false end
	for k, v in pairs(a) do if not same(v, b[k]) then return false end end
	for k in pairs(b) do if a[k] == nil then return false end end
	return true
end
local function check(ok, msg) if not ok then error(msg or "assertion failed", 3) end end
local real_assert = assert
local env = setmetatable({
	assert = setmetatable({
		equal = function (a, b, m) check(a == b, (m or "") .. " expected " .. tostring(a) .. " got " .. tostring(b)) end,
		same = function (a, b, m) check(same(a, b), (m or "") .. " tables differ") end,
		truthy = function (v, m) check(v, m or "expected truthy") end,
		is_true = function (v) check(v == true, "expected true") end,
		is_false = function (v) check(v == false, "expected false") end,
		is_nil = function (v) check(v == nil, "expected nil, got " .. tostring(v)) end,
	}, { __call = function (_, ...) return real_assert(...) end }),
	describe = function (name, fn)
		names[#names + 1] = name
		befores[#befores + 1], afters[#afters + 1] = false, false
		fn()
		names[#names], befores[#befores], afters[#afters] = nil, nil, nil
	end,
	before_each = function (fn) befores[#befores] = fn end,
	after_each = function (fn) afters[#afters] = fn end,
	it = function (name, fn)
		for _, b in ipairs(befores) do if b then b() end end
		local ok, err = pcall(fn)
		for _, a in ipairs(afters) do if a then a() end end
		if not ok then
			failures[#failures + 1] = table.concat(names, " ") .. " " .. name .. ": " .. tostring(err)
		end
	end,
}, { __index = _G })
local chunk = real_assert(loadstring(src, chunkname))
setfenv(chunk, env)
chunk()
return failures
`

// TestSpecsPassInsideTheLoop runs the busted specs of the libraries written
// here against modhost's own implementations in gopher-lua.
func TestSpecsPassInsideTheLoop(t *testing.T) {
	l := newLoop(t)
	for _, file := range []string{"spec/util_promise_spec.lua", "spec/util_http_spec.lua"} {
		t.Run(file, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			err = l.Do(context.Background(), func(L *glua.LState) error {
				rets, err := lua.DoChunk(L, miniBusted, "mini-busted", 1, glua.LString(src), glua.LString("@"+file))
				if err != nil {
					return err
				}
				failures, _ := lua.ToGo(rets[0]).([]any)
				for _, f := range failures {
					t.Error(f)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
