-- util.rsm: XEP-0059 Result Set Management, as Prosody 0.12's util.rsm.
--
-- parse(set) reads a <set xmlns='http://jabber.org/protocol/rsm'/> into a
-- table: after, last (strings), max, index, count (numbers), before (its
-- text, or true when empty: "the last page"), first ({ index = n, text }).
-- generate(t) is the reverse (elements in no particular order), and
-- get(stanza) parses the stanza's <set/> child if it has any children.

local st = require "util.stanza";

local pairs, type, tonumber = pairs, type, tonumber;
local s_format = string.format;

local NS_RSM = "http://jabber.org/protocol/rsm";

local function text_of(tag) return tag:get_text(); end
local function number_of(tag) return tonumber((tag:get_text())); end

-- Readers by element name; only these elements are read or written.
local readers = {
	after = text_of,
	last = text_of,
	max = number_of,
	index = number_of,
	count = number_of,
	before = function (tag)
		local text = tag:get_text();
		if text == "" then return true; end
		return text;
	end,
	first = function (tag)
		return { index = tonumber(tag.attr.index), tag:get_text() };
	end,
};

local function integer(n) return s_format("%d", n); end

local writers = {
	max = function (set, n) set:text_tag("max", integer(n)); end,
	index = function (set, n) set:text_tag("index", integer(n)); end,
	count = function (set, n) set:text_tag("count", integer(n)); end,
	before = function (set, v)
		if v == true then
			set:tag("before"):up();
		else
			set:text_tag("before", v);
		end
	end,
	first = function (set, v)
		if type(v) == "table" then
			set:tag("first", { index = integer(v.index) }):text(v[1]):up();
		else
			set:text_tag("first", v);
		end
	end,
};

local function parse(set)
	local result = {};
	for tag in set:childtags() do
		local read = readers[tag.name];
		if read then result[tag.name] = read(tag); end
	end
	return result;
end

local function generate(t)
	local set = st.stanza("set", { xmlns = NS_RSM });
	for name, value in pairs(t) do
		if readers[name] then
			local write = writers[name];
			if write then
				write(set, value);
			else
				set:text_tag(name, value);
			end
		end
	end
	return set;
end

local function get(stanza)
	local set = stanza:get_child("set", NS_RSM);
	if set and #set.tags > 0 then
		return parse(set);
	end
end

return { parse = parse, generate = generate, get = get };
