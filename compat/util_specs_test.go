package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
)

// miniBusted is the part of busted's API the specs below use (describe, it,
// assert.equal/same/has_error/is_true/is_false), so they can run on modhost's
// own loop before the shared spec runner exists. It returns the list of
// failures, each "full test name: message".
const miniBusted = `
local spec_source = ...
local failures, names = {}, {}
local function deepsame(a, b)
	if a == b then return true end
	if type(a) ~= "table" or type(b) ~= "table" then return false end
	for k, v in pairs(a) do if not deepsame(v, b[k]) then return false end end
	for k in pairs(b) do if a[k] == nil then return false end end
	return true
end
local function fail(msg, extra) error((extra and (tostring(extra) .. ": ") or "") .. msg, 3) end
local asserts = {
	equal = function(expected, actual, msg)
		if expected ~= actual then fail(("expected %s, got %s"):format(tostring(expected), tostring(actual)), msg) end
	end,
	same = function(expected, actual, msg)
		if not deepsame(expected, actual) then fail("tables differ", msg) end
	end,
	has_error = function(fn, _, msg)
		if pcall(fn) then fail("expected an error", msg) end
	end,
	is_true = function(v, msg) if v ~= true then fail("expected true, got " .. tostring(v), msg) end end,
	is_false = function(v, msg) if v ~= false then fail("expected false, got " .. tostring(v), msg) end end,
}
_G.assert = setmetatable(asserts, { __call = function(_, v, msg, ...) if not v then error(msg or "assertion failed!", 2) end return v, msg, ... end })
function _G.describe(name, fn)
	names[#names + 1] = name
	fn()
	names[#names] = nil
end
function _G.it(name, fn)
	local ok, err = pcall(fn)
	if not ok then failures[#failures + 1] = table.concat(names, " ") .. " " .. name .. ": " .. tostring(err) end
end
local chunk = assert(loadstring(spec_source, "=spec"))
chunk()
return failures
`

// arrayStub stands in for util.array where it is not in this build: a
// module callable to make tables with a shared metatable.
const arrayStub = `
if not package.preload["util.array"] then
	local mt = { __index = {} }
	package.preload["util.array"] = function()
		return setmetatable({}, { __call = function(_, t) return setmetatable(t or {}, mt) end })
	end
end`

func TestSpecsPassUnderModhost(t *testing.T) {
	for _, name := range []string{"util_json", "util_jid", "util_hashes", "util_encodings", "cjson"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("spec", name+"_spec.lua"))
			if err != nil {
				t.Fatal(err)
			}
			l := newLoop(t)
			err = l.Do(context.Background(), func(L *glua.LState) error {
				if _, err := lua.DoChunk(L, arrayStub, "array_stub", 0); err != nil {
					return err
				}
				rets, err := lua.DoChunk(L, miniBusted, "mini_busted", 1, glua.LString(src))
				if err != nil {
					return err
				}
				failures := rets[0].(*glua.LTable)
				for i := 1; i <= failures.Len(); i++ {
					t.Error(failures.RawGetInt(i).String())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
