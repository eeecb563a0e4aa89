-- util.xmppstream: turns an XMPP byte stream into stanzas, as Prosody
-- 0.12's util.xmppstream does on LuaExpat; here on modhost.xmlsax, modhost's
-- incremental parser.
--
-- new(session, callbacks, size_limit) gives a stream whose :feed(data)
-- parses what arrived and calls, as whole elements complete:
--   callbacks.streamopened(session, attr)  the stream header, while
--                                          session.notopen is set
--   callbacks.handlestanza(session, stanza)
--   callbacks.streamclosed(session)
--   callbacks.error(session, condition, ...)  "no-stream",
--       "invalid-top-level-element", "stream-error" (with the stanza),
--       "parse-error" ("restricted-xml" / "resource-constraint", text)
-- (without an error callback, those raise "XML stream error: …").
-- callbacks.default_ns is the stream's content namespace: elements in it
-- carry no xmlns attribute, as in Prosody; stream_ns, stream_tag and
-- error_tag name the stream element (http://etherx.jabber.org/streams,
-- "stream", "error" unless told). feed returns a true value, or nil and the
-- parser's message, or nil, "stanza-too-large" when an unfinished stanza
-- has grown past size_limit (1 MiB unless told). :reset() starts a new
-- document (a stream restart), :set_session(s), and
-- :set_stanza_size_limit(limit, max_children).
--
-- new also gives the session an open_stream(session, from, to) method
-- that sends the stream header.
--
-- Differences from Prosody: new_sax_handlers (LuaExpat handler tables) is
-- not provided; a DOCTYPE is refused as restricted XML, as Prosody does,
-- but nothing of it is ever read.

local sax = require "modhost.xmlsax";
local st = require "util.stanza";
local stanza_mt = st.stanza_mt;

local error, tostring, setmetatable = error, tostring, setmetatable;
local t_concat, t_remove = table.concat, table.remove;

local SEP = "\1";
local NS_STREAMS = "http://etherx.jabber.org/streams";
local NS_XML = "http://www.w3.org/XML/1998/namespace";
local DEFAULT_SIZE_LIMIT = 1024 * 1024;
local RESTRICTED = "Restricted XML, see RFC 6120 section 11.1.";

-- xml:* attributes under their usual short names
local xml_attrs = {};
for _, name in ipairs({ "lang", "space", "base", "id" }) do
	xml_attrs[NS_XML .. SEP .. name] = "xml:" .. name;
end

local function split_name(tagname)
	local ns, name = tagname:match("^([^\1]*)\1(.*)$");
	if not ns then return "", tagname; end
	return ns, name;
end

-- The handlers, and the state they share, for one stream.
local function stream_handlers(session, callbacks, progress)
	local on_open = callbacks.streamopened;
	local on_close = callbacks.streamclosed;
	local on_stanza = callbacks.handlestanza;
	local on_error = callbacks.error or function (_, condition, detail)
		error("XML stream error: " .. tostring(condition) .. (detail and ": " .. tostring(detail) or ""), 2);
	end;

	local stream_ns = callbacks.stream_ns or NS_STREAMS;
	local stream_tag = callbacks.stream_tag or "stream";
	if stream_ns ~= "" then stream_tag = stream_ns .. SEP .. stream_tag; end
	local error_tag = stream_ns .. SEP .. (callbacks.error_tag or "error");
	local default_ns = callbacks.default_ns;

	local lang = "en";
	local stanza, stack, text = nil, {}, {};
	local size = 0; -- bytes of the stanza being built
	local children_left, max_children = nil, nil;
	local foreign_depth = 0; -- how deep inside elements outside default_ns

	local function flush_text()
		if text[1] then
			stanza[#stanza + 1] = t_concat(text);
			text = {};
		end
	end

	local function abort(parser, ...)
		on_error(session, ...);
		if not parser:stop() then error("Failed to abort parsing"); end
	end

	local h = {};

	function h.StartElement(parser, tagname, attr)
		if stanza then flush_text(); end
		local ns, name = split_name(tagname);
		if ns ~= default_ns or foreign_depth > 0 then
			attr.xmlns = ns;
			foreign_depth = foreign_depth + 1;
		end
		if stanza and children_left then
			children_left = children_left - 1;
			if children_left <= 0 then
				return abort(parser, "parse-error", "resource-constraint", "Stanza exceeds permitted children");
			end
		end
		for i = 1, #attr do
			local key = attr[i];
			attr[i] = nil;
			local short = xml_attrs[key];
			if short then
				attr[short], attr[key] = attr[key], nil;
			end
		end

		if stanza then
			size = size + parser:getcurrentbytecount();
			local child = setmetatable({ name = name, attr = attr, tags = {} }, stanza_mt);
			stanza[#stanza + 1] = child;
			stanza.tags[#stanza.tags + 1] = child;
			stack[#stack + 1] = stanza;
			stanza = child;
			return;
		end

		size = parser:getcurrentbytecount();
		if session.notopen then
			if tagname == stream_tag then
				foreign_depth = 0;
				lang = attr["xml:lang"] or lang;
				if on_open then
					progress(size);
					size = 0;
					on_open(session, attr);
				end
			else
				on_error(session, "no-stream", tagname);
			end
			return;
		end
		if ns == "jabber:client" and name ~= "message" and name ~= "presence" and name ~= "iq" then
			on_error(session, "invalid-top-level-element");
		end
		stanza = setmetatable({ name = name, attr = attr, tags = {} }, stanza_mt);
		children_left = max_children;
	end

	function h.CharacterData(parser, data)
		if stanza then
			size = size + parser:getcurrentbytecount();
			text[#text + 1] = data;
		else
			progress(parser:getcurrentbytecount());
		end
	end

	local function cdata_mark(parser)
		if stanza then
			size = size + parser:getcurrentbytecount();
		else
			progress(parser:getcurrentbytecount());
		end
	end
	h.StartCdataSection, h.EndCdataSection = cdata_mark, cdata_mark;

	function h.EndElement(parser, tagname)
		size = size + parser:getcurrentbytecount();
		if foreign_depth > 0 then foreign_depth = foreign_depth - 1; end
		if not stanza then
			progress(size);
			if on_close then on_close(session); end
			return;
		end
		flush_text();
		if stack[1] then
			stanza = t_remove(stack);
			return;
		end
		local done = stanza;
		stanza = nil;
		progress(size);
		size = 0;
		if done.attr["xml:lang"] == nil then
			done.attr["xml:lang"] = lang;
		end
		if tagname == error_tag then
			on_error(session, "stream-error", done);
		else
			on_stanza(session, done);
		end
	end

	-- (standalone='no' passes: Prosody compares the boolean expat gives with "no")
	function h.XmlDecl(parser, version, encoding)
		progress(parser:getcurrentbytecount());
		if (encoding and encoding:lower() ~= "utf-8") or (version and version ~= "1.0") then
			return abort(parser, "parse-error", "restricted-xml", RESTRICTED);
		end
	end

	local function restricted(parser)
		return abort(parser, "parse-error", "restricted-xml", RESTRICTED);
	end
	h.StartDoctypeDecl, h.Comment, h.ProcessingInstruction = restricted, restricted, restricted;

	local control = {};
	function control.reset()
		stanza, stack, text, size = nil, {}, {}, 0;
	end
	function control.set_session(new_session)
		session = new_session;
	end
	function control.set_max_children(n)
		max_children = n;
	end
	return h, control;
end

local function new(session, callbacks, size_limit)
	size_limit = size_limit or DEFAULT_SIZE_LIMIT;
	local outstanding = 0; -- bytes fed but not yet part of a finished element
	local function progress(n) outstanding = outstanding - n; end

	local handlers, control = stream_handlers(session, callbacks, progress);
	local parser = sax.new(handlers, SEP);

	function session.open_stream(s, from, to)
		local send = s.sends2s or s.send;
		local attr = {
			["xmlns:stream"] = NS_STREAMS,
			["xml:lang"] = "en",
			xmlns = callbacks.default_ns,
			version = s.version and (s.version > 0 and "1.0" or nil),
			id = s.streamid or "",
			from = from or s.host,
			to = to,
		};
		if s.stream_attrs then
			s:stream_attrs(from, to, attr);
		end
		send("<?xml version='1.0'?>" .. st.stanza("stream:stream", attr):top_tag());
		return true;
	end

	local stream = {};
	function stream.reset()
		parser = sax.new(handlers, SEP);
		outstanding = 0;
		control.reset();
	end
	function stream.feed(_, data)
		outstanding = outstanding + #data;
		local current = parser;
		local ok, err = current:parse(data);
		if outstanding > size_limit then
			return nil, "stanza-too-large";
		end
		if parser ~= current then
			-- reset during this feed: the old document is over
			current:close();
		end
		return ok, err;
	end
	function stream.set_session(_, new_session)
		control.set_session(new_session);
	end
	function stream.set_stanza_size_limit(_, limit, max_children)
		size_limit = limit;
		control.set_max_children(max_children);
	end
	return stream;
end

return {
	ns_separator = SEP;
	ns_pattern = "^([^" .. SEP .. "]*)" .. SEP .. "?(.*)$";
	new = new;
};
