package compat_test

import (
	"context"
	"fmt"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

func TestJIDPrepAgreesWithEncodings(t *testing.T) {
	runChunks(t, map[string]string{
		"prep uses the encodings profiles part by part": `
			local jid = require "util.jid"
			local sp = require "util.encodings".stringprep
			local node, host, res = "\195\132B", "\195\159.Example", "R\195\169s"
			assert(jid.prep(node .. "@" .. host .. "/" .. res) ==
				sp.nodeprep(node) .. "@" .. sp.nameprep(host) .. "/" .. sp.resourceprep(res))`,
		"strict must be a boolean": `
			local jid = require "util.jid"
			assert(not pcall(jid.prep, "a@b", "yes"))`,
		"join concatenates numbers as Lua does": `
			local jid = require "util.jid"
			assert(jid.join(1, "h", 2) == "1@h/2")
			assert(not pcall(jid.join, {}, "h"))`,
	})
}

func BenchmarkJIDPrep(b *testing.B) {
	l := newLoop(b)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		prep := L.GetField(mustRequire(L, "util.jid"), "prep")
		jids := make([]glua.LValue, 100)
		for i := range jids {
			jids[i] = glua.LString(fmt.Sprintf("User%d@Example.COM/Résource %d", i, i))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := lua.Call(L, prep, 1, jids[i%len(jids)]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// Prosody 0.12's prep returns non-JIDs ("a@b/", "@b", "x@y.") for parts the
// profiles map to nothing and for a host with an empty last label; modhost
// refuses them, so a prepped JID always preps to itself.
func TestJIDPrepRefusesPartsPreppedToNothing(t *testing.T) {
	l := newLoop(t)
	for _, in := range []string{
		"\u00ad", "a@\u00ad", "\u00ad@b", "a@b/\u00ad", "\u00ad/r", "a@\u00ad.", "a@.\u00ad",
		"x@y..", "a@b.\u200b", "a@\u200b\u2060",
	} {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			_, err := lua.DoChunk(L, `
				local jid = require "util.jid"
				local s = ...
				for _, strict in ipairs({ false, true }) do
					assert(select("#", jid.prep(s, strict)) == 0, "prep accepted")
					assert(select("#", jid.prepped_split(s, strict)) == 0, "prepped_split accepted")
				end`, "test", 0, glua.LString(in))
			return err
		})
		if err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// FuzzJIDPrep runs outside strings through util.jid: no function may raise
// for a string, prep is idempotent, and whatever split accepts (prepped or
// not) joins back to itself, as bare/node/host/resource agree with split.
func FuzzJIDPrep(f *testing.F) {
	l := newLoop(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			rets, err := lua.DoChunk(L, `
				local jid = require "util.jid"
				local s = ...
				local function check(x)
					local n, h, r = jid.split(x)
					if h then
						local joined = jid.join(n, h, r)
						if joined ~= x then return "split/join of "..x.." gave "..tostring(joined) end
						if jid.node(x) ~= n or jid.host(x) ~= h or jid.resource(x) ~= r then
							return "node/host/resource disagree with split for "..x
						end
						if jid.bare(x) ~= jid.join(n, h) then return "bare disagrees with split for "..x end
					elseif n or r then
						return "split of "..x.." gave parts without a host"
					end
				end
				local problem = check(s)
				if problem then return problem end
				for _, strict in ipairs({ false, true }) do
					local p = jid.prep(s, strict)
					if p then
						local again = jid.prep(p, strict)
						if again ~= p then return "prep not idempotent: "..p.." became "..tostring(again) end
						problem = check(p)
						if problem then return problem end
						if jid.join(jid.prepped_split(s, strict)) ~= p then
							return "prepped_split disagrees with prep for "..s
						end
					elseif jid.prepped_split(s, strict) then
						return "prepped_split accepts what prep refuses: "..s
					end
				end
				if jid.unescape(jid.escape(s)) ~= s then return "unescape(escape(x)) ~= x" end
			`, "fuzz", 1, glua.LString(s))
			if err != nil {
				return err
			}
			if rets[0] != glua.LNil {
				t.Errorf("%q: %s", s, glua.LVAsString(rets[0]))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
