-- Behaviour of util.xml.parse. Runs under busted against Prosody's library
-- (expat via lxp) and against modhost's (encoding/xml), so error messages
-- are only checked for their shape: nil, then text ending in a position.

local xml = require "util.xml";
local st = require "util.stanza";

local function parse_fails(doc, options)
	local result, err = xml.parse(doc, options);
	assert.is_nil(result);
	assert.is_string(err);
	assert.matches("%(line %d+, col %d+%)", err);
end

describe("util.xml", function ()
	describe("parse", function ()
		it("returns the root element as a stanza", function ()
			local s = xml.parse("<message to='a@b' type='chat'><body>hi</body></message>");
			assert.truthy(st.is_stanza(s));
			assert.are.equal("message", s.name);
			assert.are.equal("a@b", s.attr.to);
			assert.are.equal("hi", s:get_child_text("body"));
			assert.are.equal(1, #s.tags);
			assert.truthy(s:at_top());
		end);

		it("serialises back to the same XML", function ()
			local doc = "<iq id='p1'><query xmlns='jabber:iq:roster'><item jid='a@b'><group>Friends</group></item></query></iq>";
			assert.are.equal(doc, tostring(xml.parse(doc)));
		end);

		it("gives every element in a namespace its xmlns", function ()
			local s = xml.parse("<a xmlns='urn:a'><b><c xmlns='urn:c'><d/></c></b></a>");
			assert.are.equal("urn:a", s.attr.xmlns);
			assert.are.equal("urn:a", s.tags[1].attr.xmlns);
			assert.are.equal("urn:c", s.tags[1].tags[1].attr.xmlns);
			assert.are.equal("urn:c", s.tags[1].tags[1].tags[1].attr.xmlns);
			assert.are.equal("<a xmlns='urn:a'><b><c xmlns='urn:c'><d/></c></b></a>", tostring(s));
		end);

		it("resolves prefixed element names to name and xmlns", function ()
			local s = xml.parse("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><p:x xmlns:p='urn:p'/></stream:features>");
			assert.are.equal("features", s.name);
			assert.are.equal("http://etherx.jabber.org/streams", s.attr.xmlns);
			assert.are.equal("x", s.tags[1].name);
			assert.are.equal("urn:p", s.tags[1].attr.xmlns);
		end);

		it("records the prefixes in scope in namespaces", function ()
			local s = xml.parse("<a xmlns:p='urn:p'><b xmlns:q='urn:q'/><c xmlns:p='urn:p2'/></a>");
			assert.are.same({ p = "urn:p" }, s.namespaces);
			assert.are.same({ p = "urn:p", q = "urn:q" }, s.tags[1].namespaces);
			assert.are.same({ p = "urn:p2" }, s.tags[2].namespaces);
			assert.are.same({}, xml.parse("<a xmlns='urn:x'/>").namespaces);
		end);

		it("does not keep namespace declarations as attributes", function ()
			local s = xml.parse("<a xmlns='urn:a' xmlns:p='urn:p' plain='1'/>");
			assert.are.same({ xmlns = "urn:a", plain = "1" }, s.attr);
		end);

		it("names xml: attributes xml:lang and others uri\\1name", function ()
			local s = xml.parse("<a xmlns:q='urn:q' xml:lang='en' q:flag='1'/>");
			assert.are.equal("en", s.attr["xml:lang"]);
			assert.are.equal("1", s.attr["urn:q\1flag"]);
		end);

		it("does not put unprefixed attributes in the default namespace", function ()
			local s = xml.parse("<a xmlns='urn:a' x='1'/>");
			assert.are.equal("1", s.attr.x);
		end);

		it("unescapes entities and character references, and reads CDATA", function ()
			local s = xml.parse("<a v='&lt;&apos;&quot;&gt;'>x &amp; &lt;y&gt; &#65;&#x42; <![CDATA[<z>&amp;]]></a>");
			assert.are.equal("<'\">", s.attr.v);
			assert.are.equal("x & <y> AB <z>&amp;", s:get_text());
		end);

		it("reads UTF-8 text and attributes", function ()
			local s = xml.parse("<a n='\195\169'>\226\152\131 &#x1F600;</a>");
			assert.are.equal("\195\169", s.attr.n);
			assert.are.equal("\226\152\131 \240\159\152\128", s:get_text());
		end);

		it("keeps whitespace between elements as text", function ()
			local s = xml.parse("<a>\n  <b/>\n</a>");
			assert.are.equal(3, #s);
			assert.are.equal(1, #s.tags);
			assert.are.equal("\n  ", s[1]);
		end);

		it("accepts an XML declaration and whitespace around the root", function ()
			assert.are.equal("a", xml.parse("<?xml version='1.0' encoding='UTF-8'?>\n<a/>\n").name);
			assert.are.equal("a", xml.parse("  <a/>  ").name);
		end);

		it("takes a child's xmlns='' as no namespace", function ()
			local s = xml.parse("<a xmlns='urn:x'><b xmlns=''/></a>");
			assert.is_nil(s.tags[1].attr.xmlns);
		end);

		it("rejects documents that are not well-formed", function ()
			parse_fails("");
			parse_fails("<a>");
			parse_fails("<a></b>");
			parse_fails("text");
			parse_fails("<a/><b/>");
			parse_fails("<a/>junk");
			parse_fails("<a x='1' x='2'/>");
			parse_fails("<a x=1/>");
			parse_fails("<a>&bogus;</a>");
			parse_fails("<a>\255</a>");
			parse_fails("<a>\1</a>");
		end);

		it("rejects unbound prefixes", function ()
			parse_fails("<p:a/>");
			parse_fails("<a p:x='1'/>");
			parse_fails("<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>");
		end);

		it("rejects DTDs and so entity expansion", function ()
			parse_fails("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>");
			parse_fails("<!DOCTYPE a><a/>");
			parse_fails("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;'>]><a>&lol2;</a>");
		end);

		it("rejects comments unless allow_comments is set", function ()
			parse_fails("<a><!-- note --></a>");
			local s = xml.parse("<a><!-- note --><b/></a>", { allow_comments = true });
			assert.are.equal("<a><b/></a>", tostring(s));
		end);

		it("rejects processing instructions unless allowed", function ()
			parse_fails("<a><?app data?></a>");
			local s = xml.parse("<a><?app data?></a>", { allow_processing_instructions = true });
			assert.are.equal("<a/>", tostring(s));
		end);
	end);
end);
