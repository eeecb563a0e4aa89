-- Behaviour of util.xmppstream: stream headers, stanzas, errors and limits,
-- fed whole or a byte at a time.

local xmppstream = require "util.xmppstream";

local HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' xml:lang='fr' version='1.0'>";

-- A stream whose callbacks record what happens in events.
local function recorder(opts)
	opts = opts or {};
	local events = {};
	local session = { notopen = true };
	local callbacks = {
		default_ns = "jabber:client";
		streamopened = function (s, attr)
			assert.equal(session, s);
			s.notopen = nil;
			events[#events + 1] = { "open", attr };
		end;
		streamclosed = function ()
			events[#events + 1] = { "close" };
		end;
		handlestanza = function (_, stanza)
			events[#events + 1] = { "stanza", stanza };
		end;
		error = function (_, condition, a, b)
			events[#events + 1] = { "error", condition, a, b };
		end;
	};
	for k, v in pairs(opts.callbacks or {}) do callbacks[k] = v; end
	local stream = xmppstream.new(session, callbacks, opts.limit);
	return stream, events, session;
end

local function feed_bytes(stream, data)
	for i = 1, #data do
		local ok, err = stream:feed(data:sub(i, i));
		if not ok then return ok, err; end
	end
	return true;
end

describe("util.xmppstream", function ()
	it("exports the namespace separator and pattern", function ()
		assert.equal("\1", xmppstream.ns_separator);
		assert.same({ "jabber:client", "message" }, { ("jabber:client\1message"):match(xmppstream.ns_pattern) });
	end);

	it("opens the stream with the header's attributes", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed(HEADER));
		assert.equal(1, #events);
		assert.equal("open", events[1][1]);
		assert.same({ to = "example.com", ["xml:lang"] = "fr", version = "1.0",
			xmlns = "http://etherx.jabber.org/streams" }, events[1][2]);
	end);

	it("gives namespaced stream attributes as NS\\1name", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' x:foo='bar'>"));
		assert.equal("bar", events[1][2]["urn:x\1foo"]);
	end);

	for _, mode in ipairs({ "whole", "byte by byte" }) do
		it("builds stanzas, fed " .. mode, function ()
			local stream, events = recorder();
			local data = HEADER .. "<message to='a@b' type='chat'><body>hi &amp; <![CDATA[<there>]]> &#x263A;</body>"
				.. "<x xmlns='urn:x'><y a='1'/><body/></x></message>\n  <iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>"
				.. "<presence xml:lang='de'/></stream:stream>";
			if mode == "whole" then
				assert.truthy(stream:feed(data));
			else
				assert.truthy(feed_bytes(stream, data));
			end
			assert.equal(5, #events);
			local message = events[2][2];
			assert.equal("stanza", events[2][1]);
			assert.equal("message", message.name);
			assert.is_nil(message.attr.xmlns);
			assert.equal("fr", message.attr["xml:lang"]);
			assert.equal("a@b", message.attr.to);
			assert.equal("hi & <there> \226\152\186", message:get_child_text("body"));
			local x = message:get_child("x", "urn:x");
			assert.equal("urn:x", x.attr.xmlns);
			assert.equal("1", x.tags[1].attr.a);
			assert.equal("urn:x", x.tags[1].attr.xmlns);
			-- inside a foreign element, even default-namespace children say so
			assert.equal("urn:x", x.tags[2].attr.xmlns);
			local iq = events[3][2];
			assert.equal("iq", iq.name);
			assert.equal("jabber:iq:roster", iq.tags[1].attr.xmlns);
			assert.equal("de", events[4][2].attr["xml:lang"]);
			assert.same({ "close" }, events[5]);
		end);
	end

	it("keeps text and children in order", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed(HEADER .. "<message>a<b/>c<d>e</d>f</message>"));
		local m = events[2][2];
		assert.equal(5, #m);
		assert.equal("a", m[1]);
		assert.equal("b", m[2].name);
		assert.equal("c", m[3]);
		assert.equal("e", m[4][1]);
		assert.equal("f", m[5]);
		assert.equal(2, #m.tags);
	end);

	it("defaults xml:lang to en without one on the stream", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message/>"));
		assert.equal("en", events[2][2].attr["xml:lang"]);
	end);

	it("reports a stream error element", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed(HEADER .. "<stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"));
		assert.equal("error", events[2][1]);
		assert.equal("stream-error", events[2][2]);
		local e = events[2][3];
		assert.equal("error", e.name);
		assert.equal("http://etherx.jabber.org/streams", e.attr.xmlns);
		assert.equal("bad-format", e.tags[1].name);
	end);

	it("reports unknown top-level elements but still delivers them", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed(HEADER .. "<foo/>"));
		assert.same({ "error", "invalid-top-level-element" }, { events[2][1], events[2][2] });
		assert.equal("stanza", events[3][1]);
		assert.equal("foo", events[3][2].name);
	end);

	it("gives elements outside the default namespace their xmlns", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed(HEADER .. "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
		assert.equal("urn:ietf:params:xml:ns:xmpp-tls", events[2][2].attr.xmlns);
	end);

	it("wants a stream header first", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed("<message/>"));
		assert.same({ "error", "no-stream", "message" }, { events[1][1], events[1][2], events[1][3] });
	end);

	it("takes stanzas without a header when the session is already open", function ()
		local stream, events, session = recorder();
		session.notopen = nil;
		assert.truthy(stream:feed("<message xmlns='jabber:client'><body>x</body></message>"));
		assert.equal("stanza", events[1][1]);
		assert.equal("x", events[1][2]:get_child_text("body"));
	end);

	it("fails on malformed XML, and keeps failing", function ()
		local stream = recorder();
		assert.truthy(stream:feed(HEADER));
		assert.same({ nil, "mismatched tag" }, { stream:feed("<message></iq>") });
		assert.same({ nil, "mismatched tag" }, { stream:feed("<message/>") });
	end);

	it("names the XML error", function ()
		local cases = {
			["<a:b/>"] = "unbound prefix",
			["<message>&bogus;</message>"] = "undefined entity",
			["<message a='1' a='2'/>"] = "duplicate attribute",
			["</stream:stream><x/>"] = "junk after document element",
		};
		for input, message in pairs(cases) do
			local stream = recorder();
			assert.truthy(stream:feed(HEADER));
			assert.same({ nil, message }, { stream:feed(input) }, input);
		end
	end);

	it("refuses comments, processing instructions and DTDs as restricted XML", function ()
		for _, input in ipairs({ HEADER .. "<!-- hi -->", HEADER .. "<?pi x?>", "<!DOCTYPE stream><x/>",
				"<?xml version='1.1'?>", "<?xml version='1.0' encoding='ISO-8859-1'?>" }) do
			local stream, events = recorder();
			local ok, err = stream:feed(input);
			assert.is_nil(ok, input);
			assert.equal("parsing aborted", err);
			local last = events[#events];
			assert.same({ "error", "parse-error", "restricted-xml", "Restricted XML, see RFC 6120 section 11.1." }, last);
		end
	end);

	it("limits the size of an unfinished stanza", function ()
		local stream = recorder({ limit = 100 });
		assert.truthy(stream:feed(HEADER));
		assert.same({ nil, "stanza-too-large" }, { stream:feed("<message><body>" .. ("x"):rep(200)) });

		-- a large stanza that finishes within the feed is fine
		local events;
		stream, events = recorder({ limit = 100 });
		assert.truthy(stream:feed(HEADER .. "<message><body>" .. ("x"):rep(200) .. "</body></message>"));
		assert.equal(200, #events[2][2]:get_child_text("body"));

		-- the limit is on what is outstanding, not on the whole stream
		stream, events = recorder({ limit = 100 });
		assert.truthy(stream:feed(HEADER));
		for _ = 1, 10 do
			assert.truthy(stream:feed("<message><body>" .. ("x"):rep(40) .. "</body></message>"));
		end
		assert.equal(11, #events);
	end);

	it("limits the number of children when told", function ()
		local stream, events = recorder();
		stream:set_stanza_size_limit(1024 * 1024, 3);
		assert.truthy(stream:feed(HEADER .. "<message><a/><b/></message>"));
		assert.equal("stanza", events[2][1]);
		assert.same({ nil, "parsing aborted" }, { stream:feed("<message><a/><b/><c/></message>") });
		assert.same({ "error", "parse-error", "resource-constraint", "Stanza exceeds permitted children" }, events[3]);
	end);

	it("accepts an XML declaration of UTF-8 XML 1.0", function ()
		local stream, events = recorder();
		assert.truthy(stream:feed("<?xml version='1.0' encoding='utf-8' standalone='no'?>" .. HEADER:sub(22)));
		assert.equal("open", events[1][1]);
	end);

	it("raises stream errors without an error callback", function ()
		local stream = xmppstream.new({ notopen = true }, { default_ns = "jabber:client", handlestanza = function () end });
		assert.has_error(function () stream:feed("<message/>"); end);
	end);

	it("starts over after reset", function ()
		local stream, events, session = recorder();
		assert.truthy(stream:feed(HEADER .. "<message><body>half"));
		stream:reset();
		session.notopen = true;
		assert.truthy(stream:feed(HEADER .. "<presence/>"));
		assert.equal("open", events[2][1]);
		assert.equal("presence", events[3][2].name);
		assert.equal(3, #events);
	end);

	it("can reset from a callback (a stream restart)", function ()
		local stream, events, session;
		stream, events, session = recorder({ callbacks = {
			handlestanza = function (s, stanza)
				events[#events + 1] = { "stanza", stanza };
				if stanza.name == "success" then
					stream:reset();
					s.notopen = true;
				end
			end;
		} });
		assert.truthy(stream:feed(HEADER .. "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"));
		assert.truthy(stream:feed(HEADER .. "<iq type='get'/>"));
		assert.equal("open", events[3][1]);
		assert.equal("iq", events[4][2].name);
		assert.truthy(session);
	end);

	it("set_session changes the session callbacks get", function ()
		local got;
		local stream = xmppstream.new({}, { default_ns = "jabber:client", handlestanza = function (s) got = s; end });
		local other = {};
		stream:set_session(other);
		assert.truthy(stream:feed("<message xmlns='jabber:client'/>"));
		assert.equal(other, got);
	end);

	it("gives the session open_stream", function ()
		local sent = {};
		local session = { host = "example.com", version = 1, streamid = "abc", send = function (data) sent[#sent + 1] = data; end };
		xmppstream.new(session, { default_ns = "jabber:client" });
		assert.is_true(session:open_stream(nil, "client@example.com"));
		local header = sent[1];
		assert.equal("<?xml version='1.0'?><stream:stream", header:sub(1, 35));
		assert.equal(">", header:sub(-1));
		for _, part in ipairs({ "xmlns='jabber:client'", "xmlns:stream='http://etherx.jabber.org/streams'",
				"version='1.0'", "id='abc'", "from='example.com'", "to='client@example.com'", "xml:lang='en'" }) do
			assert.truthy(header:find(part, 1, true), part);
		end
	end);
end);
