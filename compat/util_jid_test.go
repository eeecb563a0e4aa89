package compat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/modhost/modhost/lua"
	glua "github.com/yuin/gopher-lua"
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
