-- Behaviour of util.stanza that plugins rely on. Runs under busted against
-- Prosody's own library and against modhost's. Lua 5.1 syntax only (decimal
-- escapes), and no test depends on the order pairs() gives attributes.

local st = require "util.stanza";

-- strip_colours removes terminal colour codes, which Prosody's pretty_print
-- adds when util.termcolours is available.
local function strip_colours(s)
	return (s:gsub("\27%[[%d;]*m", ""));
end

describe("util.stanza", function ()
	describe("stanza()", function ()
		it("builds a table plugins can index directly", function ()
			local s = st.stanza("message", { to = "a@example.com", type = "chat" });
			assert.are.equal("message", s.name);
			assert.are.equal("a@example.com", s.attr.to);
			assert.are.equal("chat", s.attr.type);
			assert.is_table(s.tags);
			assert.are.equal(0, #s.tags);
			assert.are.equal(0, #s);
			assert.is_nil(s.namespaces);
		end);

		it("gives an empty attr table when none is passed", function ()
			local s = st.stanza("x");
			assert.are.same({}, s.attr);
		end);

		it("keeps the namespaces table it is given", function ()
			local ns = { stream = "http://etherx.jabber.org/streams" };
			assert.are.equal(ns, st.stanza("x", nil, ns).namespaces);
		end);

		it("uses the attr table it is given, not a copy", function ()
			local attr = { id = "1" };
			local s = st.stanza("iq", attr);
			assert.are.equal(attr, s.attr);
		end);

		it("is recognised by is_stanza; plain tables are not", function ()
			assert.truthy(st.is_stanza(st.stanza("x")));
			assert.falsy(st.is_stanza({ name = "x", attr = {}, tags = {} }));
			assert.falsy(st.is_stanza("x"));
			assert.falsy(st.is_stanza(nil));
		end);

		it("rejects a name that is not a string", function ()
			assert.error_matches(function () st.stanza(1); end, "invalid tag name: expected string, got number");
			assert.error_matches(function () st.stanza(); end, "invalid tag name: expected string, got nil");
		end);

		it("rejects an empty name", function ()
			assert.error_matches(function () st.stanza(""); end, "invalid tag name: empty string");
		end);

		it("rejects names with XML syntax characters", function ()
			for _, name in ipairs({ "a b", "a<b", "a>b", "a&b", "a'b", "a\"b" }) do
				assert.error_matches(function () st.stanza(name); end, "invalid tag name: contains invalid characters");
			end
		end);

		it("rejects names with control characters", function ()
			assert.error_matches(function () st.stanza("a\0b"); end, "invalid tag name: contains control characters");
			assert.error_matches(function () st.stanza("a\1b"); end, "invalid tag name: contains control characters");
		end);

		it("rejects names that are not UTF-8", function ()
			assert.error_matches(function () st.stanza("a\255"); end, "invalid tag name: contains invalid utf8");
		end);

		it("accepts non-ASCII names", function ()
			assert.are.equal("<caf\195\169/>", tostring(st.stanza("caf\195\169")));
		end);

		it("rejects attributes that are not a table", function ()
			assert.error_matches(function () st.stanza("a", "to"); end, "invalid attributes: expected table, got string");
		end);

		it("rejects bad attribute names and values", function ()
			assert.error_matches(function () st.stanza("a", { [1] = "x" }); end, "invalid attribute name: expected string, got number");
			assert.error_matches(function () st.stanza("a", { ["a b"] = "x" }); end, "invalid attribute name: contains invalid characters");
			assert.error_matches(function () st.stanza("a", { x = 1 }); end, "invalid attribute value: expected string, got number");
			assert.error_matches(function () st.stanza("a", { x = true }); end, "invalid attribute value: expected string, got boolean");
			assert.error_matches(function () st.stanza("a", { x = "\0" }); end, "invalid attribute value: contains control characters");
			assert.error_matches(function () st.stanza("a", { x = "\192\128" }); end, "invalid attribute value: contains invalid utf8");
		end);

		it("allows the namespace separator in attribute names only", function ()
			assert.truthy(st.stanza("a", { ["urn:x\1y"] = "z" }));
			assert.error_matches(function () st.stanza("a\1b"); end, "contains control characters");
		end);
	end);

	describe("builder", function ()
		it("nests with tag and up, and returns the top stanza", function ()
			local s = st.stanza("iq", { type = "get", id = "1" })
				:tag("query", { xmlns = "jabber:iq:roster" })
					:tag("item", { jid = "a@b" }):up()
					:tag("item", { jid = "c@d" }):up()
				:up();
			assert.are.equal("iq", s.name);
			local q = s.tags[1];
			assert.are.equal("query", q.name);
			assert.are.equal(2, #q.tags);
			assert.are.equal("c@d", q.tags[2].attr.jid);
			assert.are.equal(q.tags[1], q[1]);
			assert.truthy(s:at_top());
		end);

		it("adds text to the innermost open element", function ()
			local s = st.message():tag("body"):text("hi"):text(" there"):up():text("tail");
			assert.are.equal("hi", s.tags[1][1]);
			assert.are.equal(" there", s.tags[1][2]);
			assert.are.equal("tail", s[2]);
			assert.are.equal("<message><body>hi there</body>tail</message>", tostring(s));
		end);

		it("ignores nil and empty text", function ()
			local s = st.stanza("a"):text(nil):text("");
			assert.are.equal(0, #s);
		end);

		it("rejects text that is not a string", function ()
			assert.error_matches(function () st.stanza("a"):text(1); end, "invalid text value: expected string, got number");
			assert.error_matches(function () st.stanza("a"):text({}); end, "invalid text value: expected string, got table");
		end);

		it("rejects text with control characters or bad UTF-8", function ()
			assert.error_matches(function () st.stanza("a"):text("x\1"); end, "invalid text value: contains control characters");
			assert.error_matches(function () st.stanza("a"):text("\0"); end, "invalid text value: contains control characters");
			assert.error_matches(function () st.stanza("a"):text("\255"); end, "invalid text value: contains invalid utf8");
			assert.error_matches(function () st.stanza("a"):text("\237\160\128"); end, "invalid text value: contains invalid utf8");
			assert.error_matches(function () st.stanza("a"):text("\244\144\128\128"); end, "invalid text value: contains invalid utf8");
			assert.error_matches(function () st.stanza("a"):text("\226\130"); end, "invalid text value: contains invalid utf8");
		end);

		it("accepts tab, newline, carriage return and multi-byte text", function ()
			local s = st.stanza("a"):text("\t\n\r \226\130\172 \240\159\152\128");
			assert.are.equal("\t\n\r \226\130\172 \240\159\152\128", s:get_text());
		end);

		it("text_tag, body and query are shorthands", function ()
			local s = st.message():body("hello"):text_tag("subject", "s", { ["xml:lang"] = "en" });
			assert.are.equal("<message><body>hello</body><subject xml:lang='en'>s</subject></message>", tostring(s));
			local q = st.iq({ type = "get", id = "1" }):query("jabber:iq:version");
			assert.are.equal("jabber:iq:version", q.tags[1].attr.xmlns);
			assert.falsy(q:at_top());
		end);

		it("up at the top does nothing", function ()
			local s = st.stanza("a"):up():up():tag("b");
			assert.are.equal("<a><b/></a>", tostring(s));
		end);

		it("reset returns the builder to the top", function ()
			local s = st.stanza("a"):tag("b"):tag("c"):reset():tag("d");
			assert.are.equal("<a><b><c/></b><d/></a>", tostring(s));
			assert.falsy(s:at_top());
			s:reset();
			assert.truthy(s:at_top());
		end);

		it("add_child adds to the open element, add_direct_child to the stanza itself", function ()
			local s = st.stanza("a"):tag("b");
			s:add_child(st.stanza("c"));
			s:add_direct_child(st.stanza("d"));
			assert.are.equal("<a><b><c/></b><d/></a>", tostring(s));
			assert.are.equal(2, #s.tags);
			assert.are.equal("d", s.tags[2].name);
		end);

		it("add_child returns the stanza for chaining", function ()
			local s = st.stanza("a");
			assert.are.equal(s, s:add_child(st.stanza("b")));
		end);

		it("add_direct_child accepts strings, checked like text", function ()
			local s = st.stanza("a");
			s:add_direct_child("x");
			assert.are.equal("x", s[1]);
			assert.are.equal(0, #s.tags);
			assert.error_matches(function () s:add_direct_child(5); end, "invalid text value");
		end);
	end);

	describe("serialisation", function ()
		it("writes empty elements self-closed", function ()
			assert.are.equal("<presence/>", tostring(st.presence()));
		end);

		it("escapes the five XML special characters in text", function ()
			local s = st.stanza("a"):text("<b> & 'c' \"d\"");
			assert.are.equal("<a>&lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</a>", tostring(s));
		end);

		it("escapes attribute values", function ()
			local s = st.stanza("a", { v = "x'y\"<&>" });
			assert.are.equal("<a v='x&apos;y&quot;&lt;&amp;&gt;'/>", tostring(s));
		end);

		it("does not double-escape entities already in text", function ()
			assert.are.equal("<a>&amp;amp;</a>", tostring(st.stanza("a"):text("&amp;")));
		end);

		it("passes UTF-8 through untouched", function ()
			assert.are.equal("<a t='\195\169'>\226\152\131</a>", tostring(st.stanza("a", { t = "\195\169" }):text("\226\152\131")));
		end);

		it("omits an xmlns equal to the parent's", function ()
			local s = st.stanza("a", { xmlns = "urn:x" }):tag("b", { xmlns = "urn:x" }):tag("c", { xmlns = "urn:y" });
			assert.are.equal("<a xmlns='urn:x'><b><c xmlns='urn:y'/></b></a>", tostring(s));
		end);

		it("writes xmlns of a top-level stanza", function ()
			assert.are.equal("<x xmlns='urn:x'/>", tostring(st.stanza("x", { xmlns = "urn:x" })));
		end);

		it("writes prefixed attribute names such as xml:lang as they are", function ()
			assert.are.equal("<body xml:lang='de'/>", tostring(st.stanza("body", { ["xml:lang"] = "de" })));
		end);

		it("declares a prefix for namespaced attributes", function ()
			local s = st.stanza("a", { ["urn:ext\1flag"] = "1" });
			assert.are.equal("<a xmlns:ns1='urn:ext' ns1:flag='1'/>", tostring(s));
		end);

		it("top_tag gives the start tag only", function ()
			local s = st.message({ to = "x" }):body("hi");
			assert.are.equal("<message to='x'>", s:top_tag());
			assert.are.equal("<a>", st.stanza("a"):top_tag());
		end);

		it("pretty_print and pretty_top_tag give the same XML, maybe coloured", function ()
			local s = st.message({ to = "x" }):body("a&b");
			assert.are.equal(tostring(s), strip_colours(s:pretty_print()));
			assert.are.equal(s:top_tag(), strip_colours(s:pretty_top_tag()));
		end);

		it("xml_escape escapes the five special characters", function ()
			assert.are.equal("&lt;&gt;&amp;&apos;&quot;x", st.xml_escape("<>&'\"x"));
		end);

		it("indent lays elements out one per line, keeping text-only elements", function ()
			local s = st.stanza("a"):tag("b"):text("t"):up():tag("c"):tag("d"):up():up();
			assert.are.equal("<a>\n\t<b>t</b>\n\t<c>\n\t\t<d/>\n\t</c>\n</a>", tostring(s:indent()));
			assert.are.equal("<a>\n  <b>t</b>\n  <c>\n    <d/>\n  </c>\n</a>", tostring(s:indent(1, "  ")));
			assert.are.equal("<a><b>t</b><c><d/></c></a>", tostring(s));
		end);

		it("indent returns empty and text-only stanzas themselves", function ()
			local e, t = st.stanza("e"), st.stanza("t"):text("x");
			assert.are.equal(e, e:indent());
			assert.are.equal(t, t:indent());
		end);
	end);

	describe("reading", function ()
		local s;
		before_each(function ()
			s = st.message({ xmlns = "jabber:client", to = "a@b" })
				:tag("body"):text("hello"):up()
				:tag("x", { xmlns = "jabber:x:oob" }):tag("url"):text("http://x"):up():up()
				:tag("body", { xmlns = "urn:other" }):text("other"):up()
				:tag("thread", { xmlns = "jabber:client" }):text("t1"):up();
		end);

		it("get_child matches name and the parent's or no namespace by default", function ()
			-- the first <body/> has no xmlns: it counts as the parent's.
			assert.are.equal("hello", s:get_child("body"):get_text());
			assert.is_nil(s:get_child("url"));
			assert.are.equal("t1", s:get_child("thread"):get_text());
			assert.are.equal("other", s:get_child("body", "urn:other"):get_text());
			assert.are.equal("x", s:get_child(nil, "jabber:x:oob").name);
		end);

		it("get_child without namespaces on either side matches by name", function ()
			local m = st.message():body("hi");
			assert.are.equal("hi", m:get_child("body"):get_text());
			assert.are.equal("hi", m:get_child_text("body"));
			assert.is_nil(m:get_child_text("subject"));
		end);

		it("child_with_name and child_with_ns ignore the other property", function ()
			assert.are.equal("hello", s:child_with_name("body")[1]);
			assert.are.equal("x", s:child_with_ns("jabber:x:oob").name);
			assert.is_nil(s:child_with_name("nope"));
			assert.is_nil(s:child_with_ns("urn:nope"));
		end);

		it("childtags iterates matching children", function ()
			local names = {};
			for tag in s:childtags(nil, "urn:other") do names[#names + 1] = tag.name; end
			assert.are.same({ "body" }, names);
			local count = 0;
			for _ in s:childtags() do count = count + 1; end
			assert.are.equal(2, count); -- <body/> without xmlns and <thread/>
		end);

		it("get_child_with_attr finds by attribute, optionally normalised", function ()
			local r = st.stanza("r"):tag("item", { jid = "A@b" }):up():tag("item", { jid = "c@d" }):up();
			assert.are.equal("c@d", r:get_child_with_attr("item", nil, "jid", "c@d").attr.jid);
			assert.is_nil(r:get_child_with_attr("item", nil, "jid", "a@b"));
			assert.are.equal("A@b", r:get_child_with_attr("item", nil, "jid", "a@b", string.lower).attr.jid);
		end);

		it("children iterates text and elements in order", function ()
			local p = st.stanza("p"):text("a"):tag("b"):up():text("c");
			local seen = {};
			for child in p:children() do
				seen[#seen + 1] = type(child) == "string" and child or child.name;
			end
			assert.are.same({ "a", "b", "c" }, seen);
		end);

		it("get_text joins text, and is nil when there are child elements", function ()
			local p = st.stanza("p"):text("a"):text("b");
			assert.are.equal("ab", p:get_text());
			assert.are.equal("", st.stanza("e"):get_text());
			assert.is_nil(s:get_text());
		end);

		it("find follows paths with namespaces, text and attributes", function ()
			assert.are.equal("http://x", s:find("{jabber:x:oob}x/url#"));
			assert.are.equal("url", s:find("{jabber:x:oob}x/url").name);
			assert.are.equal("t1", s:find("thread#"));
			assert.are.equal("a@b", s:find("@to"));
			assert.is_nil(s:find("nope/url"));
			local iq = st.iq({ type = "set", id = "1" }):tag("query", { xmlns = "jabber:iq:roster" }):tag("item", { jid = "x@y" });
			assert.are.equal("x@y", iq:find("{jabber:iq:roster}query/item@jid"));
		end);
	end);

	describe("maptags and remove_children", function ()
		it("maptags replaces or drops element children, keeping text", function ()
			local s = st.stanza("a"):text("1"):tag("b"):up():text("2"):tag("c"):up():tag("d"):up();
			s:maptags(function (tag)
				if tag.name == "c" then return nil; end
				if tag.name == "d" then return st.stanza("e"); end
				return tag;
			end);
			assert.are.equal("<a>1<b/>2<e/></a>", tostring(s));
			assert.are.equal(2, #s.tags);
			assert.are.equal("e", s.tags[2].name);
		end);

		it("maptags can drop every child", function ()
			local s = st.stanza("a"):tag("b"):up():tag("c"):up();
			s:maptags(function () return nil; end);
			assert.are.equal(0, #s);
			assert.are.equal(0, #s.tags);
		end);

		it("maptags raises \"Invalid stanza\" when an entry of tags is not among the children", function ()
			local s = st.stanza("a"):tag("b"):up():text("t");
			s.tags[1] = st.stanza("b"); -- looks the same, is another table
			local called = false;
			assert.has_error_match(function ()
				s:maptags(function () called = true; end);
			end, "Invalid stanza");
			assert.is_false(called);
		end);

		it("remove_children raises the same on such a stanza", function ()
			local s = st.stanza("a"):tag("b"):up();
			s.tags[1] = st.clone(s.tags[1]);
			assert.has_error_match(function () s:remove_children("b"); end, "Invalid stanza");
		end);

		it("remove_children drops by name and the stanza's own namespace by default", function ()
			local s = st.stanza("a", { xmlns = "urn:a" })
				:tag("x", { xmlns = "urn:a" }):up()
				:tag("x", { xmlns = "urn:b" }):up()
				:tag("y", { xmlns = "urn:a" }):up();
			s:remove_children("x");
			assert.are.equal("<a xmlns='urn:a'><x xmlns='urn:b'/><y/></a>", tostring(s));
			s:remove_children(nil, "urn:b");
			assert.are.equal("<a xmlns='urn:a'><y/></a>", tostring(s));
		end);
	end);

	describe("clone, preserialize and deserialize", function ()
		it("clone copies deeply", function ()
			local s = st.message({ to = "x" }, "hi");
			local c = st.clone(s);
			assert.truthy(st.is_stanza(c));
			assert.are.equal(tostring(s), tostring(c));
			c.attr.to = "y";
			c.tags[1][1] = "changed";
			assert.are.equal("x", s.attr.to);
			assert.are.equal("hi", s:get_child_text("body"));
		end);

		it("clone with only_top drops children and copies namespaces", function ()
			local ns = { p = "urn:p" };
			local s = st.stanza("a", nil, ns):tag("b");
			local c = st.clone(s, true);
			assert.are.equal("<a/>", tostring(c));
			assert.are.same(ns, c.namespaces);
			assert.are_not.equal(ns, c.namespaces);
		end);

		it("clone rejects non-stanzas", function ()
			assert.error_matches(function () st.clone({}); end, "bad argument to clone: expected stanza, got table");
		end);

		it("preserialize gives plain tables and deserialize restores the stanza", function ()
			local s = st.message({ to = "x" }):body("a<b"):tag("x", { xmlns = "urn:x", ["urn:y\1z"] = "1" });
			local plain = st.preserialize(s);
			assert.is_nil(getmetatable(plain));
			assert.is_nil(plain.tags);
			assert.are.equal("body", plain[1].name);
			assert.are.equal("a<b", plain[1][1]);
			local back = st.deserialize(plain);
			assert.truthy(st.is_stanza(back));
			assert.are.equal(2, #back.tags);
			assert.are.equal("x", back.attr.to);
			assert.are.equal("<body>a&lt;b</body>", tostring(back.tags[1]));
			assert.are.same(s.tags[2].attr, back.tags[2].attr);
			assert.are.equal("x", back.tags[2].name);
		end);

		it("deserialize reads the old uri|name attribute form", function ()
			local back = st.deserialize({ name = "a", attr = { ["urn:y|z"] = "1" } });
			assert.are.equal("1", back.attr["urn:y\1z"]);
		end);

		it("deserialize of nil is nil", function ()
			assert.is_nil(st.deserialize(nil));
		end);
	end);

	describe("constructors", function ()
		it("message with a body", function ()
			assert.are.equal("<message to='a'><body>hi</body></message>", tostring(st.message({ to = "a" }, "hi")));
			assert.are.equal("<message/>", tostring(st.message()));
		end);

		it("iq requires id and type", function ()
			assert.error_matches(function () st.iq(); end, "iq stanzas require id and type attributes");
			assert.error_matches(function () st.iq({ type = "get" }); end, "iq stanzas require an id attribute");
			assert.error_matches(function () st.iq({ id = "1" }); end, "iq stanzas require a type attribute");
			assert.are.equal("iq", st.iq({ id = "1", type = "get" }).name);
		end);

		it("reply swaps addresses, keeps id and answers iq with result", function ()
			local q = st.iq({ from = "a", to = "b", id = "7", type = "get" }):query("urn:q");
			local r = st.reply(q);
			assert.are.equal("b", r.attr.from);
			assert.are.equal("a", r.attr.to);
			assert.are.equal("7", r.attr.id);
			assert.are.equal("result", r.attr.type);
			assert.are.equal(0, #r);
			assert.are.equal("chat", st.reply(st.message({ type = "chat" })).attr.type);
		end);

		it("reply rejects non-stanzas", function ()
			assert.error_matches(function () st.reply({}); end, "bad argument to reply: expected stanza, got table");
		end);
	end);

	describe("errors", function ()
		local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
		local orig;
		before_each(function ()
			orig = st.iq({ from = "user@host/r", to = "comp.host", id = "42", type = "get" }):query("urn:q");
		end);

		it("error_reply builds type, condition and text", function ()
			local e = st.error_reply(orig, "cancel", "item-not-found", "no such thing");
			assert.are.equal("error", e.attr.type);
			assert.are.equal("user@host/r", e.attr.to);
			assert.are.equal("42", e.attr.id);
			local err = e.tags[1];
			assert.are.equal("error", err.name);
			assert.are.equal("cancel", err.attr.type);
			assert.is_nil(err.attr.by);
			assert.are.equal("item-not-found", err.tags[1].name);
			assert.are.equal(xmlns_stanzas, err.tags[1].attr.xmlns);
			assert.are.equal("no such thing", err:get_child_text("text", xmlns_stanzas));
		end);

		it("error_reply leaves the builder inside <error/> for extra elements", function ()
			local e = st.error_reply(orig, "modify", "bad-request"):tag("app", { xmlns = "urn:app" });
			assert.are.equal("app", e.tags[1].tags[2].name);
		end);

		it("error_reply sets by unless it is the replying entity", function ()
			assert.are.equal("other", st.error_reply(orig, "wait", "resource-constraint", nil, "other").tags[1].attr.by);
			assert.is_nil(st.error_reply(orig, "wait", "resource-constraint", nil, "comp.host").tags[1].attr.by);
		end);

		it("error_reply takes a util.error-like object", function ()
			local e = st.error_reply(orig, {
				type = "cancel", condition = "gone", text = "moved",
				context = { by = "elsewhere" },
				extra = { uri = "xmpp:new@host", tag = st.stanza("reason", { xmlns = "urn:app" }) },
			});
			local err = e.tags[1];
			assert.are.equal("elsewhere", err.attr.by);
			assert.are.equal("xmpp:new@host", err:get_child_text("gone", xmlns_stanzas));
			assert.are.equal("moved", err:get_child_text("text", xmlns_stanzas));
			assert.are.equal("reason", err.tags[3].name);
		end);

		it("error_reply adds an application condition from extra.namespace", function ()
			local e = st.error_reply(orig, { type = "modify", condition = "bad-request", extra = { namespace = "urn:app", condition = "too-big" } });
			assert.are.equal("urn:app", e.tags[1]:get_child("too-big", "urn:app").attr.xmlns);
		end);

		it("error_reply refuses to answer an error", function ()
			assert.error_matches(function () st.error_reply(st.message({ type = "error" }), "cancel", "x"); end,
				"got stanza of type error which must not be replied to");
			assert.error_matches(function () st.error_reply("x"); end, "bad argument to error_reply: expected stanza, got string");
		end);

		it("get_error reads back what error_reply wrote", function ()
			local e = st.error_reply(orig, "auth", "forbidden", "go away"):tag("x", { xmlns = "urn:app" });
			local etype, condition, text, extra = e:get_error();
			assert.are.equal("auth", etype);
			assert.are.equal("forbidden", condition);
			assert.are.equal("go away", text);
			assert.are.equal("x", extra.name);
		end);

		it("get_error defaults the condition and is all nil without <error/>", function ()
			local e = st.message({ type = "error" }):tag("error", { type = "cancel" }):up();
			local etype, condition, text, extra = e:get_error();
			assert.are.equal("cancel", etype);
			assert.are.equal("undefined-condition", condition);
			assert.is_nil(text);
			assert.is_nil(extra);
			assert.is_nil((st.message():get_error()));
		end);
	end);
end);
