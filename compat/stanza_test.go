package compat_test

import (
	"fmt"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// TestStanzaSerialisation pins key cases of util.stanza's XML output; the
// full behaviour is in spec/util_stanza_spec.lua (TestSpecs).
func TestStanzaSerialisation(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`st.stanza("a")`, `<a/>`},
		{`st.stanza("a"):text("<&>'\"")`, `<a>&lt;&amp;&gt;&apos;&quot;</a>`},
		{`st.stanza("a", { v = "<&>'\"" })`, `<a v='&lt;&amp;&gt;&apos;&quot;'/>`},
		{`st.stanza("a"):text("\226\130\172\240\159\152\128")`, "<a>\u20ac\U0001F600</a>"},
		{`st.stanza("a", { xmlns = "urn:x" }):tag("b", { xmlns = "urn:x" }):tag("c", { xmlns = "urn:y" }):tag("d")`, `<a xmlns='urn:x'><b><c xmlns='urn:y'><d/></c></b></a>`},
		{`st.stanza("a", { ["xml:lang"] = "en" })`, `<a xml:lang='en'/>`},
		{`st.stanza("a", { ["urn:x\1y"] = "1" })`, `<a xmlns:ns1='urn:x' ns1:y='1'/>`},
		{`st.message({ to = "a" }, "hi"):top_tag()`, `<message to='a'>`},
		{`st.message({ to = "a" }, "hi"):pretty_print()`, `<message to='a'><body>hi</body></message>`},
		{`st.stanza("a"):tag("b"):text("t"):up():tag("c"):tag("d"):indent()`, "<a>\n\t<b>t</b>\n\t<c>\n\t\t<d/>\n\t</c>\n</a>"},
		{`st.error_reply(st.iq({ from = "u@h", to = "c.h", id = "1", type = "get" }), "cancel", "service-unavailable", "no")`,
			`<iq to='u@h' from='c.h' id='1' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text></error></iq>`},
	}
	onLoop(t, func(L *glua.LState) error {
		for _, c := range cases {
			got, err := luaString(L, c.expr)
			if err != nil {
				t.Errorf("%s: %v", c.expr, err)
				continue
			}
			if got != c.want {
				t.Errorf("%s:\n got %q\nwant %q", c.expr, got, c.want)
			}
		}
		return nil
	})
}

// TestStanzaRejectsControlsProsodyLetsThrough pins a deliberate difference:
// Prosody 0.12's check lets U+0014..U+001F through (its pattern reads \20 as
// decimal), producing XML the peer rejects; modhost refuses them like the
// other C0 controls.
func TestStanzaRejectsControlsProsodyLetsThrough(t *testing.T) {
	onLoop(t, func(L *glua.LState) error {
		for c := 0x14; c <= 0x1f; c++ {
			for _, expr := range []string{
				`st.stanza("a"):text(a)`,
				`st.stanza("a", { v = a })`,
				`st.stanza("a" .. a)`,
			} {
				_, err := luaString(L, expr, glua.LString(string(rune(c))))
				if err == nil {
					t.Errorf("%s with U+%04X: accepted", expr, c)
				}
			}
		}
		return nil
	})
}

// TestStanzaChecksSameWithoutGoHelpers runs util.stanza's validation with
// modhost.xmlchars (Go) and with its Lua fallback, and requires the same
// verdicts and messages, so the file behaves the same on plain Lua.
func TestStanzaChecksSameWithoutGoHelpers(t *testing.T) {
	inputs := []string{
		"", "a", "a b", "a<b", "a>", "&", "'", "\"", "\x00", "\x01", "\x08", "\t\n\r", "\x0b", "\x1f", "\x7f",
		"caf\u00e9", "\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xef\xbf\xbe", "\xf0\x9f\x98\x80", "\xff",
		"urn:x\x01y", "\x01\x02",
	}
	const probe = `
		local st, s = ...
		local function msg(f, ...)
			local ok, err = pcall(f, ...)
			if ok then return "ok" end
			return (tostring(err):gsub("^.-:%d+: ", ""))
		end
		return table.concat({
			msg(st.stanza, s),
			msg(st.stanza, "a", { [s] = "v" }),
			msg(st.stanza, "a", { k = s }),
			msg(function () return st.stanza("a"):text(s) end),
			tostring(st.stanza("a", { k = s:gsub("[%z\1-\31\128-\255]", "") }):text(s:gsub("[%z\1-\31\128-\255]", "x") .. "<&>")),
		}, " | ")`
	onLoop(t, func(L *glua.LState) error {
		native, err := lua.DoChunk(L, `return require "util.stanza"`, "native", 1)
		if err != nil {
			return err
		}
		fallback, err := lua.DoChunk(L, `
			local saved = package.loaded["util.stanza"]
			package.loaded["util.stanza"] = nil
			package.preload["modhost.xmlchars"] = function () error("hidden for this test") end
			package.loaded["modhost.xmlchars"] = nil
			local st = require "util.stanza"
			package.loaded["util.stanza"] = saved
			return st`, "fallback", 1)
		if err != nil {
			return err
		}
		if native[0] == fallback[0] {
			return fmt.Errorf("fallback load returned the same module")
		}
		for _, in := range inputs {
			a, err := lua.DoChunk(L, probe, "probe", 1, native[0], glua.LString(in))
			if err != nil {
				return err
			}
			b, err := lua.DoChunk(L, probe, "probe", 1, fallback[0], glua.LString(in))
			if err != nil {
				return err
			}
			if a[0].String() != b[0].String() {
				t.Errorf("%q:\n     Go: %s\n    Lua: %s", in, a[0], b[0])
			}
		}
		return nil
	})
}
