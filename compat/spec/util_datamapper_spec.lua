-- Behaviour of util.datamapper: XML ↔ tables by an annotated JSON Schema.

local dm = require "util.datamapper";
local st = require "util.stanza";

local schema = {
	type = "object";
	xml = { name = "message", namespace = "jabber:client" };
	properties = {
		to = { type = "string", xml = { attribute = true } };
		type = { type = "string", enum = { "chat", "normal", "headline" }, xml = { attribute = true } };
		lang = { type = "string", xml = { attribute = true, prefix = "xml", name = "lang" } };
		body = { type = "string" };
		priority = { type = "integer" };
		ratio = { type = "number" };
		urgent = { type = "boolean", xml = { x_name_is_value = true, name = "urgent", namespace = "urn:example:flags" } };
		state = { type = "string", enum = { "active", "inactive", "composing" },
			xml = { x_name_is_value = true, namespace = "http://jabber.org/protocol/chatstates" } };
		origin = { type = "string", xml = { x_single_attribute = "id", name = "origin-id", namespace = "urn:xmpp:sid:0" } };
		reply = {
			type = "object";
			xml = { name = "reply", namespace = "urn:xmpp:reply:0" };
			properties = {
				to = { type = "string", xml = { attribute = true } };
				id = { type = "string", xml = { attribute = true } };
			};
		};
		tags = {
			type = "array";
			xml = { wrapped = true, name = "tags", namespace = "urn:example:tags" };
			items = { type = "string", xml = { name = "tag" } };
		};
		refs = {
			type = "array";
			items = { ["$ref"] = "#/$defs/ref" };
		};
		seen = { type = "boolean" };
	};
	["$defs"] = {
		ref = {
			type = "object";
			xml = { name = "reference", namespace = "urn:xmpp:reference:0" };
			properties = { uri = { type = "string", xml = { attribute = true } } };
		};
	};
};

local function example()
	return st.message({ xmlns = "jabber:client", to = "juliet@example.com", type = "chat", ["xml:lang"] = "en" })
		:text_tag("body", "Hello")
		:text_tag("priority", "5")
		:text_tag("ratio", "0.5")
		:tag("urgent", { xmlns = "urn:example:flags" }):up()
		:tag("composing", { xmlns = "http://jabber.org/protocol/chatstates" }):up()
		:tag("origin-id", { xmlns = "urn:xmpp:sid:0", id = "abc" }):up()
		:tag("reply", { xmlns = "urn:xmpp:reply:0", to = "romeo@example.com", id = "r1" }):up()
		:tag("tags", { xmlns = "urn:example:tags" }):text_tag("tag", "one"):text_tag("tag", "two"):up()
		:tag("reference", { xmlns = "urn:xmpp:reference:0", uri = "xmpp:a" }):up()
		:tag("reference", { xmlns = "urn:xmpp:reference:0", uri = "xmpp:b" }):up()
		:text_tag("seen", "true");
end

local expected = {
	to = "juliet@example.com";
	type = "chat";
	lang = "en";
	body = "Hello";
	priority = 5;
	ratio = 0.5;
	urgent = true;
	state = "composing";
	origin = "abc";
	reply = { to = "romeo@example.com", id = "r1" };
	tags = { "one", "two" };
	refs = { { uri = "xmpp:a" }, { uri = "xmpp:b" } };
	seen = true;
};

describe("util.datamapper", function ()
	describe("parse", function ()
		it("reads each kind of property", function ()
			assert.same(expected, dm.parse(schema, example()));
		end);

		it("leaves out what is not there", function ()
			local data = dm.parse(schema, st.message({ xmlns = "jabber:client" }):text_tag("body", "x"));
			assert.same({ body = "x" }, data);
		end);

		it("converts booleans", function ()
			local s = { type = "object", properties = { a = { type = "boolean" }, b = { type = "boolean" },
				c = { type = "boolean" }, d = { type = "boolean" } } };
			local x = st.stanza("x"):text_tag("a", "1"):text_tag("b", "false"):text_tag("c", "0"):text_tag("d", "yes");
			assert.same({ a = true, b = false, c = false, d = true }, dm.parse(s, x));
		end);

		it("reads top-level arrays and the element's own text", function ()
			local s = { type = "array", items = { type = "integer", xml = { name = "n" } } };
			local x = st.stanza("list"):text_tag("n", "1"):text_tag("n", "2"):text_tag("other", "3");
			assert.same({ 1, 2 }, dm.parse(s, x));
			s = { type = "object", properties = { value = { type = "string", xml = { text = true } } } };
			assert.same({ value = "hi" }, dm.parse(s, st.stanza("x"):text("hi")));
		end);

		it("guesses the type from properties or items", function ()
			assert.same({ a = "1" }, dm.parse({ properties = { a = {} } }, st.stanza("x"):text_tag("a", "1")));
			assert.same({ "1" }, dm.parse({ items = { xml = { name = "a" } } }, st.stanza("x"):text_tag("a", "1")));
		end);

		it("refuses top-level scalars and odd types", function ()
			assert.has_error(function () dm.parse({ type = "string" }, st.stanza("x")); end);
			assert.has_error(function () dm.parse({ type = { "string" } }, st.stanza("x")); end);
		end);
	end);

	describe("unparse", function ()
		it("writes what parse reads", function ()
			local x = dm.unparse(schema, expected);
			assert.equal("message", x.name);
			assert.equal("jabber:client", x.attr.xmlns);
			assert.equal("juliet@example.com", x.attr.to);
			assert.equal("chat", x.attr.type);
			assert.equal("en", x.attr["xml:lang"]);
			assert.equal("Hello", x:get_child_text("body"));
			assert.equal("5", x:get_child_text("priority"));
			assert.equal("0.5", x:get_child_text("ratio"));
			assert.truthy(x:get_child("urgent", "urn:example:flags"));
			assert.truthy(x:get_child("composing", "http://jabber.org/protocol/chatstates"));
			assert.equal("abc", x:get_child("origin-id", "urn:xmpp:sid:0").attr.id);
			assert.equal("r1", x:get_child("reply", "urn:xmpp:reply:0").attr.id);
			local tags = x:get_child("tags", "urn:example:tags");
			assert.equal(2, #tags.tags);
			assert.equal("two", tags.tags[2]:get_text());
			local refs = {};
			for ref in x:childtags("reference", "urn:xmpp:reference:0") do refs[#refs + 1] = ref.attr.uri; end
			assert.same({ "xmpp:a", "xmpp:b" }, refs);
			assert.equal("1", x:get_child_text("seen"));
			assert.same(expected, dm.parse(schema, x));
		end);

		it("leaves out false x_name_is_value booleans", function ()
			local x = dm.unparse(schema, { urgent = false, body = "b" });
			assert.is_nil(x:get_child("urgent", "urn:example:flags"));
		end);

		it("writes top-level arrays", function ()
			local s = { type = "array", xml = { name = "list" }, items = { type = "integer", xml = { name = "n" } } };
			local x = dm.unparse(s, { 3, 4 });
			assert.equal("list", x.name);
			assert.same({ "3", "4" }, { x.tags[1]:get_text(), x.tags[2]:get_text() });
		end);
	end);
end);
