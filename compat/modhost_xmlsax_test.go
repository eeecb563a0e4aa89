package compat_test

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/internal/testkit"
)

// modhost.xmlsax must report the same events however the input is split:
// a tag, a reference or a UTF-8 sequence cut in two waits for its rest.
func TestXMLSaxSplitAnywhere(t *testing.T) {
	doc := "<?xml version='1.0'?><s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' a='x&amp;y'>" +
		"<message to='a@b' x:y='1' xmlns:x='urn:x'><body>h\u00e9llo &lt;&#x263A;&gt;</body><![CDATA[<raw>]]><e/></message>" +
		"<!-- note --><?pi data?></s:stream>"
	l := newLoop(t)
	const script = `
		local doc, step = ...
		step = tonumber(step)
		local log = {}
		local function add(...)
			local parts = {}
			for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
			log[#log + 1] = table.concat(parts, "|")
		end
		local handlers = {
			StartElement = function (_, name, attr)
				local keys = {}
				for i = 1, #attr do keys[i] = attr[i] .. "=" .. attr[attr[i]] end
				add("start", name, table.concat(keys, ","))
			end,
			EndElement = function (_, name) add("end", name) end,
			XmlDecl = function (_, v, e, s) add("decl", v, e, s) end,
			Comment = function (_, text) add("comment", text) end,
			ProcessingInstruction = function (_, target, data) add("pi", target, data) end,
			StartCdataSection = function () add("cdata") end,
			EndCdataSection = function () add("/cdata") end,
		}
		local text = {}
		handlers.CharacterData = function (_, data) text[#text + 1] = data end
		-- character data may come in any number of pieces: compare it joined
		local function flush() if text[1] then add("text", table.concat(text)); text = {} end end
		for _, name in ipairs({ "StartElement", "EndElement", "Comment", "ProcessingInstruction", "StartCdataSection", "EndCdataSection" }) do
			local f = handlers[name]
			handlers[name] = function (...) flush(); return f(...) end
		end
		local p = require "modhost.xmlsax".new(handlers, "\1")
		local i = 1
		while i <= #doc do
			local ok, err = p:parse(doc:sub(i, i + step - 1))
			assert(ok, err)
			i = i + step
		end
		assert(p:parse())
		flush()
		return table.concat(log, "\n")
	`
	want := testkit.CallLua(t, l, script, glua.LString(doc), glua.LString("100000"))
	for step := 1; step <= 9; step++ {
		if got := testkit.CallLua(t, l, script, glua.LString(doc), glua.LString(string(rune('0'+step)))); got != want {
			t.Errorf("fed %d bytes at a time:\n%s\nwant:\n%s", step, got, want)
		}
	}
	for _, ev := range []string{"start|jabber:client\x01message|to=a@b,urn:x\x01y=1", "text|h\u00e9llo <\u263a>", "text|<raw>", "comment| note ", "pi|pi|data"} {
		if !strings.Contains(want, ev) {
			t.Errorf("events lack %q:\n%s", ev, want)
		}
	}
}

// Errors a stream must be refused with, named as expat names them.
func TestXMLSaxErrors(t *testing.T) {
	tests := map[string]string{
		"<a></b>":                            "mismatched tag",
		"<p:a/>":                             "unbound prefix",
		"<a x='1' x='2'/>":                   "duplicate attribute",
		"<a>&nope;</a>":                      "undefined entity",
		"<a>&#0;</a>":                        "reference to invalid character number",
		"<a/><b/>":                           "junk after document element",
		"<a>\x01</a>":                        "not well-formed (invalid token)",
		"<a>\xff</a>":                        "not well-formed (invalid token)",
		"<a><?xml version='1.0'?>":           "XML or text declaration not at start of entity",
		"<a b='<'/>":                         "not well-formed (invalid token)",
		"<!DOCTYPE a [<!ENTITY x 'y'>]><a/>": "DTDs are not supported",
	}
	l := newLoop(t)
	for in, want := range tests {
		got := testkit.CallLua(t, l, `
			local p = require "modhost.xmlsax".new({}, "\1")
			local ok, err = p:parse(...)
			if ok then ok, err = p:parse() end
			local again = select(2, p:parse("<x/>"))
			return tostring(err) .. "|" .. tostring(again)
		`, glua.LString(in))
		if got != want+"|"+want {
			t.Errorf("parse(%q) = %q, want %q (twice)", in, got, want)
		}
	}
}
