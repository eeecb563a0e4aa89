package compat_test

import (
	"context"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
)

// onLoop runs fn on a fresh loop's Lua state and fails the test on error.
func onLoop(t testing.TB, fn func(L *glua.LState) error) {
	t.Helper()
	l := newLoop(t)
	if err := l.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// luaString evaluates a Lua expression (given access to st and xml) and
// returns its tostring.
func luaString(L *glua.LState, expr string, args ...glua.LValue) (string, error) {
	rets, err := lua.DoChunk(L, `local st, xml = require "util.stanza", require "util.xml"; local a, b = ...; return tostring(`+expr+`)`, "expr", 1, args...)
	if err != nil {
		return "", err
	}
	return rets[0].String(), nil
}

func TestElementStanzaRoundTripIsExact(t *testing.T) {
	cases := map[string]*compat.Element{
		"bare": {Name: "presence"},
		"namespaced tree with text": {Name: "message", NS: "jabber:client",
			Attr: []xml.Attr{{Name: xml.Name{Local: "to"}, Value: "a@b"}, {Name: xml.Name{Local: "type"}, Value: "chat"}},
			Children: []compat.Node{
				&compat.Element{Name: "body", Children: []compat.Node{compat.Text("hi <&> '\"")}},
				compat.Text("\n"),
				&compat.Element{Name: "x", NS: "jabber:x:oob", Children: []compat.Node{
					&compat.Element{Name: "url", Children: []compat.Node{compat.Text("http://e/\u00e9")}},
				}},
			}},
		"xml:lang, namespaced and literal-prefix attributes": {Name: "a", Attr: []xml.Attr{
			{Name: xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: "lang"}, Value: "en"},
			{Name: xml.Name{Space: "urn:ext", Local: "flag"}, Value: "1"},
			{Name: xml.Name{Space: "xmlns", Local: "p"}, Value: "urn:p"},
		}},
		"explicit empty xmlns stays an attribute": {Name: "a", NS: "urn:a", Children: []compat.Node{
			&compat.Element{Name: "b", Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ""}}},
		}},
		"prefixes, empty and not": {Name: "a", Prefixes: map[string]string{"p": "urn:p"}, Children: []compat.Node{
			&compat.Element{Name: "b", Prefixes: map[string]string{}},
		}},
		"empty text child is kept": {Name: "a", Children: []compat.Node{compat.Text("")}},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			onLoop(t, func(L *glua.LState) error {
				st, err := compat.ElementToStanza(L, e)
				if err != nil {
					return err
				}
				back, err := compat.StanzaToElement(L, st)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(e, back) {
					t.Errorf("round trip changed the element:\n got %#v\nwant %#v", back, e)
				}
				return nil
			})
		})
	}
}

func TestStanzaElementRoundTripKeepsSerialisation(t *testing.T) {
	cases := []string{
		`st.message({ to = "a@b", type = "chat" }, "hello")`,
		`st.iq({ type = "set", id = "1" }):query("jabber:iq:roster"):tag("item", { jid = "x@y", subscription = "both" }):tag("group"):text("G"):up():up():up()`,
		`st.stanza("a", { ["xml:lang"] = "en", ["urn:x\1y"] = "z" }):text("t"):tag("b", { xmlns = "urn:b" }):up():text("u")`,
		`st.error_reply(st.message({ from = "a", to = "b", id = "1" }), "cancel", "gone", "moved")`,
		`st.stanza("a", { xmlns = "urn:a" }):tag("b", { xmlns = "" })`,
		`xml.parse("<p:a xmlns:p='urn:p' xmlns:q='urn:q' q:x='1'><p:b/><c/></p:a>")`,
	}
	for _, expr := range cases {
		t.Run(expr, func(t *testing.T) {
			onLoop(t, func(L *glua.LState) error {
				rets, err := lua.DoChunk(L, `local st, xml = require "util.stanza", require "util.xml"; return `+expr, "case", 1)
				if err != nil {
					return err
				}
				orig := rets[0].(*glua.LTable)
				e, err := compat.StanzaToElement(L, orig)
				if err != nil {
					return err
				}
				st, err := compat.ElementToStanza(L, e)
				if err != nil {
					return err
				}
				// Compare structure (not only the XML text): same fields,
				// same children, tags list consistent, same metatable.
				rets, err = lua.DoChunk(L, `
					local st = require "util.stanza"
					local a, b = ...
					local function same(x, y)
						if type(x) ~= type(y) then return false, "type" end
						if type(x) == "string" then return x == y, x.." vs "..y end
						if not st.is_stanza(y) then return false, "not a stanza" end
						if x.name ~= y.name then return false, "name" end
						for k, v in pairs(x.attr) do if y.attr[k] ~= v then return false, "attr "..k end end
						for k, v in pairs(y.attr) do if x.attr[k] ~= v then return false, "extra attr "..k end end
						if (x.namespaces == nil) ~= (y.namespaces == nil) then return false, "namespaces" end
						for k, v in pairs(x.namespaces or {}) do if y.namespaces[k] ~= v then return false, "ns "..k end end
						if #x ~= #y or #x.tags ~= #y.tags then return false, "child count" end
						local t = 0
						for i = 1, #y do
							if type(y[i]) == "table" then t = t + 1; if y.tags[t] ~= y[i] then return false, "tags order" end end
							local ok, why = same(x[i], y[i]); if not ok then return ok, why end
						end
						return true
					end
					local ok, why = same(a, b)
					return ok and tostring(a) == tostring(b), (why or "") .. " " .. tostring(a) .. " | " .. tostring(b)
				`, "compare", 2, orig, st)
				if err != nil {
					return err
				}
				if rets[0] != glua.LTrue {
					t.Errorf("stanza changed: %s", rets[1])
				}
				return nil
			})
		})
	}
}

func TestElementToStanzaGivesWorkingStanza(t *testing.T) {
	e := &compat.Element{Name: "message", Attr: []xml.Attr{{Name: xml.Name{Local: "to"}, Value: "a@b"}},
		Children: []compat.Node{&compat.Element{Name: "body", Children: []compat.Node{compat.Text("x&y")}}}}
	onLoop(t, func(L *glua.LState) error {
		st, err := compat.ElementToStanza(L, e)
		if err != nil {
			return err
		}
		got, err := luaString(L, `st.is_stanza(a) and a:get_child_text("body") .. "|" .. tostring(a:tag("x"):up()) .. "|" .. tostring(a.tags[1] == a[1])`, st)
		if err != nil {
			return err
		}
		if want := "x&y|<message to='a@b'><body>x&amp;y</body><x/></message>|true"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		return nil
	})
}

func TestElementToStanzaRejectsWhatStanzaWould(t *testing.T) {
	cases := map[string]struct {
		e    *compat.Element
		want string
	}{
		"empty name":       {&compat.Element{}, "invalid tag name: empty string"},
		"space in name":    {&compat.Element{Name: "a b"}, "invalid tag name: contains invalid characters"},
		"bad utf8 name":    {&compat.Element{Name: "a\xff"}, "invalid tag name: contains invalid utf8"},
		"control in text":  {&compat.Element{Name: "a", Children: []compat.Node{compat.Text("\x01")}}, "invalid text value: contains control characters"},
		"0x1F in text":     {&compat.Element{Name: "a", Children: []compat.Node{compat.Text("\x1f")}}, "invalid text value: contains control characters"},
		"surrogate text":   {&compat.Element{Name: "a", Children: []compat.Node{compat.Text("\xed\xa0\x80")}}, "invalid text value: contains invalid utf8"},
		"bad attr name":    {&compat.Element{Name: "a", Attr: []xml.Attr{{Name: xml.Name{Local: "x'"}, Value: "1"}}}, "invalid attribute name: contains invalid characters"},
		"bad attr value":   {&compat.Element{Name: "a", Attr: []xml.Attr{{Name: xml.Name{Local: "x"}, Value: "\x00"}}}, "invalid attribute value: contains control characters"},
		"duplicate attr":   {&compat.Element{Name: "a", Attr: []xml.Attr{{Name: xml.Name{Local: "x"}}, {Name: xml.Name{Local: "x"}}}}, `attribute "x" given twice`},
		"nil child":        {&compat.Element{Name: "a", Children: []compat.Node{(*compat.Element)(nil)}}, "nil element"},
		"bad nested child": {&compat.Element{Name: "a", Children: []compat.Node{&compat.Element{Name: ""}}}, "invalid tag name: empty string"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			onLoop(t, func(L *glua.LState) error {
				_, err := compat.ElementToStanza(L, c.e)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got error %v, want one containing %q", err, c.want)
				}
				return nil
			})
		})
	}
}

func TestStanzaToElementRejectsUnwritableTables(t *testing.T) {
	cases := map[string]struct{ expr, want string }{
		"no name":            {`{ attr = {} }`, "invalid tag name: expected string, got nil"},
		"number attr value":  {`{ name = "a", attr = { x = 1 } }`, "invalid attribute value: expected string, got number"},
		"number attr key":    {`{ name = "a", attr = { "x" } }`, "invalid attribute name: expected string, got number"},
		"attr not a table":   {`{ name = "a", attr = "x" }`, "invalid attributes: expected table, got string"},
		"number child":       {`{ name = "a", attr = {}, 5 }`, "child 1 is a number"},
		"control text child": {`{ name = "a", attr = {}, "\1" }`, "invalid text value: contains control characters"},
		"cyclic":             {`(function () local s = { name = "a", attr = {} }; s[1] = s; return s end)()`, "nested deeper than"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			onLoop(t, func(L *glua.LState) error {
				rets, err := lua.DoChunk(L, "return "+c.expr, "case", 1)
				if err != nil {
					return err
				}
				_, err = compat.StanzaToElement(L, rets[0].(*glua.LTable))
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got error %v, want one containing %q", err, c.want)
				}
				return nil
			})
		})
	}
}

func TestParseXML(t *testing.T) {
	cases := []struct {
		name, doc, opts string
		want            string // tostring of the result, or "error: <substring>"
	}{
		{"roster push", rosterPush, "", rosterPush},
		{"namespaces inherited and overridden", "<a xmlns='urn:a'><b><c xmlns='urn:c'/></b></a>", "", "<a xmlns='urn:a'><b><c xmlns='urn:c'/></b></a>"},
		{"prefixed attribute gets generated prefix", "<a xmlns:q='urn:q' q:x='1'/>", "", "<a xmlns:ns1='urn:q' ns1:x='1'/>"},
		{"adjacent text merges", "<a>x&amp;<![CDATA[y]]>z</a>", "", "<a>x&amp;yz</a>"},
		{"depth limit", strings.Repeat("<a>", 129) + strings.Repeat("</a>", 129), "", "error: nested deeper than 128"},
		{"depth limit option", "<a><b><c/></b></a>", "{ max_depth = 2 }", "error: nested deeper than 2"},
		{"within depth limit", "<a><b/></a>", "{ max_depth = 2 }", "<a><b/></a>"},
		{"size limit option", "<a>0123456789</a>", "{ max_size = 10 }", "error: document too large"},
		{"doctype", "<!DOCTYPE a><a/>", "", "error: DTDs"},
		{"late xml declaration", "<a/><?xml version='1.0'?>", "", "error: (line 1, col"},
		{"declaration after whitespace", " <?xml version='1.0'?><a/>", "", "error: XML declaration not at start"},
		{"reserved prefix rebound", "<a xmlns:xml='urn:x'/>", "", "error: reserved prefix"},
		{"prefix unbound by empty value", "<a xmlns:p=''/>", "", "error: empty namespace"},
		{"duplicate attribute through prefixes", "<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>", "", "error: duplicate attribute"},
		{"mismatched prefix on end tag", "<p:a xmlns:p='urn:p'></a>", "", "error: (line 1"},
		{"invalid character reference", "<a>&#1;</a>", "", "error: (line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			onLoop(t, func(L *glua.LState) error {
				opts := c.opts
				if opts == "" {
					opts = "nil"
				}
				rets, err := lua.DoChunk(L, `local r, e = require "util.xml".parse(..., `+opts+`); if r then return tostring(r) end; return "error: "..e`, "case", 1, glua.LString(c.doc))
				if err != nil {
					return err
				}
				got := rets[0].String()
				if strings.HasPrefix(c.want, "error: ") {
					if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, c.want[7:]) {
						t.Errorf("got %q, want an error containing %q", got, c.want[7:])
					}
				} else if got != c.want {
					t.Errorf("got %q, want %q", got, c.want)
				}
				return nil
			})
		})
	}
}

// rosterPush is a typical RFC 6121 §2.1.6 roster push, with one attribute
// per element so its serialisation does not depend on attribute order.
const rosterPush = `<iq type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'><group>Servants</group><group>Friends</group></item></query></iq>`

// FuzzXMLParse checks that whatever util.xml.parse accepts serialises to
// XML it parses again, and that the second serialisation is stable. (The
// first may differ: like Prosody's, the serialiser writes CR and tabs raw,
// and the parser normalises line ends.)
func FuzzXMLParse(f *testing.F) {
	for _, seed := range []string{rosterPush, "<a xmlns:p='u' p:x='&lt;'>t<![CDATA[&]]><b xml:lang='en'/></a>", "<a>\u00e9</a>", "<!DOCTYPE a><a/>", "<a x='&#13;'>&#13;\r\n</a>"} {
		f.Add(seed)
	}
	l := newLoop(f)
	f.Fuzz(func(t *testing.T, doc string) {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			rets, err := lua.DoChunk(L, `
				local xml = require "util.xml"
				local r = xml.parse(...)
				if not r then return true end
				local once = tostring(r)
				local again, err = xml.parse(once)
				if not again then return false, "reparse failed: "..err.." for "..once end
				local twice = tostring(again)
				local third = xml.parse(twice)
				if not third then return false, "second reparse failed for "..twice end
				return tostring(third) == twice, twice.." became "..tostring(third)
			`, "fuzz", 2, glua.LString(doc))
			if err != nil {
				return err
			}
			if rets[0] != glua.LTrue {
				t.Errorf("%q: %s", doc, rets[1])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkStanzaBuildSerialise(b *testing.B) {
	l := newLoop(b)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		fn, err := lua.DoChunk(L, `
			local st = require "util.stanza"
			return function ()
				return tostring(st.iq({ type = "set", id = "push1", to = "user@example.com/res" })
					:tag("query", { xmlns = "jabber:iq:roster", ver = "v42" })
						:tag("item", { jid = "nurse@example.com", name = "Nurse", subscription = "both" })
							:text_tag("group", "Servants"):text_tag("group", "Friends & Family")
						:up()
					:up())
			end`, "bench", 1)
		if err != nil {
			return err
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := lua.Call(L, fn[0], 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkXMLParse(b *testing.B) {
	doc := glua.LString(`<iq xmlns='jabber:component:accept' type='set' id='push1' to='user@example.com/res' from='example.com'><query xmlns='jabber:iq:roster' ver='v42'><item jid='nurse@example.com' name='Nurse' subscription='both'><group>Servants</group><group>Friends &amp; Family</group></item></query></iq>`)
	l := newLoop(b)
	err := l.Do(context.Background(), func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `return require "util.xml".parse`, "bench", 1)
		if err != nil {
			return err
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out, err := lua.Call(L, rets[0], 1, doc)
			if err != nil {
				return err
			}
			if out[0] == glua.LNil {
				b.Fatal("parse failed")
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// stanzaRoundTrip is FuzzStanzaRoundTrip's check, in Lua: it returns nil, or
// what went wrong.
const stanzaRoundTrip = `
local xml = require "util.xml"
local doc = ...

-- Adjacent text children (text beside CDATA, say) serialise as one.
local function merged_children(el)
	local out = {}
	for _, child in ipairs(el) do
		if type(child) == "string" then
			if type(out[#out]) == "string" then
				out[#out] = out[#out] .. child
			elseif child ~= "" then
				out[#out + 1] = child
			end
		else
			out[#out + 1] = child
		end
	end
	return out
end

-- What XML 1.0 does to characters the serialiser writes raw, as Prosody's
-- does: line ends become LF (§2.11), and in attribute values tab, CR and LF
-- become spaces (§3.3.3).
-- Whether any of that applied. A table field, not a local: gopher-lua
-- closes every open upvalue when an error is raised inside pcall (its issue
-- #448), after which a closure's writes to a local no longer reach the
-- enclosing chunk, and the libraries called here may pcall.
local seen = { normalised = false }
local function text_after_reparse(s)
	local out = s:gsub("\r\n", "\n"):gsub("\r", "\n")
	seen.normalised = seen.normalised or out ~= s
	return out
end
local function attr_after_reparse(s)
	local out = s:gsub("\r\n", "\n"):gsub("[\t\r\n]", " ")
	seen.normalised = seen.normalised or out ~= s
	return out
end

-- same(a, b) compares a, as reparsing should change it, with b. An element
-- reset to no namespace (xmlns='') parses without xmlns, as in Prosody, and
-- so serialises into its parent's: b may have the parent's xmlns there.
local function same(a, b, path, parent_ns)
	if a.name ~= b.name then return path .. ": name " .. a.name .. " became " .. tostring(b.name) end
	for k, v in pairs(a.attr) do
		if attr_after_reparse(v) ~= b.attr[k] then
			return path .. ": attribute " .. k .. " " .. string.format("%q", v) .. " became " .. string.format("%q", tostring(b.attr[k]))
		end
	end
	for k, v in pairs(b.attr) do
		if a.attr[k] == nil and not (k == "xmlns" and v == parent_ns) then
			return path .. ": attribute " .. k .. " appeared"
		end
	end
	local ac, bc = merged_children(a), merged_children(b)
	if #ac ~= #bc then return path .. ": " .. #ac .. " children became " .. #bc end
	for i = 1, #ac do
		local x, y = ac[i], bc[i]
		if type(x) ~= type(y) then return path .. ": child " .. i .. " changed kind" end
		if type(x) == "string" then
			if text_after_reparse(x) ~= y then
				return path .. ": text " .. string.format("%q", x) .. " became " .. string.format("%q", y)
			end
		else
			local problem = same(x, y, path .. "/" .. x.name, b.attr.xmlns)
			if problem then return problem end
		end
	end
end

local first = xml.parse(doc)
if not first then return end
local once = tostring(first)
local second, err = xml.parse(once)
if not second then return "its serialisation does not parse: " .. tostring(err) .. " in " .. once end
local problem = same(first, second, first.name)
if problem then return problem .. " in " .. once end
local twice = tostring(second)
local third = xml.parse(twice)
if not third or tostring(third) ~= twice then return "not stable: " .. twice end
if not seen.normalised and twice ~= once then
	return "serialisation " .. once .. " became " .. twice
end
`

// XML 1.0 §3.3.3, as expat applies it for Prosody: whitespace written raw in
// an attribute value becomes spaces, written as references it stays.
func TestXMLParseNormalisesRawWhitespaceInAttributes(t *testing.T) {
	l := newLoop(t)
	for _, c := range []struct{ doc, want string }{
		{"<a x='1\r\n2\t3\r4\n5'/>", "1 2 3 4 5"},
		{"<a x='&#13;&#10;&#9;'/>", "\r\n\t"},
		{"<a x=\"it's\n&quot;&lt;\"/>", "it's \"<"},
		{"<a\n\ty='plain'\n/>", "plain"},
		{"<a y='b' x='\t&amp;\t'/>", " & "},
	} {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			rets, err := lua.DoChunk(L, `
				local a = require "util.xml".parse(...)
				return a.attr.x or a.attr.y`, "test", 1, glua.LString(c.doc))
			if err != nil {
				return err
			}
			if got := glua.LVAsString(rets[0]); got != c.want {
				t.Errorf("%q: attribute %q, want %q", c.doc, got, c.want)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%q: %v", c.doc, err)
		}
	}
}

// FuzzStanzaRoundTrip parses outside bytes with util.xml.parse: whatever it
// accepts serialises (util.stanza's tostring) to XML that parses back to the
// same stanza — same names, attributes and text, except for what XML itself
// normalises in the characters the serialiser writes raw, as Prosody's does
// — and serialises the same way again.
func FuzzStanzaRoundTrip(f *testing.F) {
	l := newLoop(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := l.Do(context.Background(), func(L *glua.LState) error {
			rets, err := lua.DoChunk(L, stanzaRoundTrip, "fuzz", 1, glua.LString(doc))
			if err != nil {
				return err
			}
			if rets[0] != glua.LNil {
				t.Errorf("%q: %s", doc, glua.LVAsString(rets[0]))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
	})
}
