-- Behaviour of util.rsm: reading and writing XEP-0059 <set/> elements.

local rsm = require "util.rsm";
local st = require "util.stanza";

local NS = "http://jabber.org/protocol/rsm";

describe("util.rsm", function ()
	describe("parse", function ()
		it("reads a request", function ()
			local set = st.stanza("set", { xmlns = NS })
				:text_tag("max", "10"):text_tag("after", "item-9"):text_tag("index", "3");
			assert.same({ max = 10, after = "item-9", index = 3 }, rsm.parse(set));
		end);

		it("reads an empty before as true, a filled one as its text", function ()
			assert.same({ before = true }, rsm.parse(st.stanza("set", { xmlns = NS }):tag("before"):up()));
			assert.same({ before = "x" }, rsm.parse(st.stanza("set", { xmlns = NS }):text_tag("before", "x")));
		end);

		it("reads a result with first, last and count", function ()
			local set = st.stanza("set", { xmlns = NS })
				:tag("first", { index = "20" }):text("a"):up()
				:text_tag("last", "b"):text_tag("count", "800");
			assert.same({ first = { index = 20, "a" }, last = "b", count = 800 }, rsm.parse(set));
			set = st.stanza("set", { xmlns = NS }):text_tag("first", "a");
			assert.same({ first = { "a" } }, rsm.parse(set));
		end);

		it("ignores unknown elements and gives nil for bad numbers", function ()
			local set = st.stanza("set", { xmlns = NS }):text_tag("other", "x"):text_tag("max", "many");
			assert.same({}, rsm.parse(set));
		end);
	end);

	describe("generate", function ()
		it("writes each known field", function ()
			local set = rsm.generate({ max = 10, after = "a", before = true, index = 2, count = 5,
				first = { index = 1, "f" }, last = "l", unknown = "u" });
			assert.equal("set", set.name);
			assert.equal(NS, set.attr.xmlns);
			assert.equal("10", set:get_child_text("max"));
			assert.equal("a", set:get_child_text("after"));
			assert.equal("", set:get_child_text("before"));
			assert.equal("2", set:get_child_text("index"));
			assert.equal("5", set:get_child_text("count"));
			assert.equal("f", set:get_child_text("first"));
			assert.equal("1", set:get_child("first").attr.index);
			assert.equal("l", set:get_child_text("last"));
			assert.is_nil(set:get_child("unknown"));
			assert.equal(7, #set.tags);
		end);

		it("writes before with text and first without an index", function ()
			local set = rsm.generate({ before = "b", first = "f" });
			assert.equal("b", set:get_child_text("before"));
			assert.equal("f", set:get_child_text("first"));
			assert.is_nil(set:get_child("first").attr.index);
		end);

		it("round-trips through parse", function ()
			local t = { max = 5, after = "x", count = 3, first = { index = 0, "a" }, last = "z" };
			assert.same(t, rsm.parse(rsm.generate(t)));
		end);
	end);

	describe("get", function ()
		it("parses a stanza's set", function ()
			local iq = st.iq({ type = "set", id = "q" }):tag("query", { xmlns = "urn:xmpp:mam:2" })
				:tag("set", { xmlns = NS }):text_tag("max", "3"):up():up();
			assert.same({ max = 3 }, rsm.get(iq.tags[1]));
		end);

		it("gives nothing for a missing or empty set", function ()
			assert.is_nil(rsm.get(st.stanza("query")));
			assert.is_nil(rsm.get(st.stanza("query"):tag("set", { xmlns = NS }):up()));
			assert.is_nil(rsm.get(st.stanza("query"):tag("set", { xmlns = "other" }):text_tag("max", "1"):up()));
		end);
	end);
end);
