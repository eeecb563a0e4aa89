-- util.stanza: XML elements as Lua tables, the way Prosody 0.12 shapes them.
--
-- A stanza is a table { name = "message", attr = { to = ... }, tags = { ... },
-- namespaces = nil-or-{ prefix = uri } } whose array part holds the children
-- in document order (strings for text, stanzas for elements); `tags` holds
-- only the element children, in the same order. Plugins index these fields
-- directly, so the layout is part of the contract. `last_add` is the stack of
-- open elements the builder methods (tag/text/up) write into.
--
-- Attribute keys: "xmlns" is the element's namespace (absent means "same as
-- the parent"); "xml:lang" and other literal prefixed names are written as
-- they are; "uri\1name" is an attribute in namespace uri, serialised with a
-- generated prefix.
--
-- Differences from Prosody (deliberate): text and attribute values holding
-- the C0 controls U+0014..U+001F are rejected, as XML 1.0 forbids them (Prosody's
-- check lets them through and the peer then drops the stream).

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring;
local setmetatable, getmetatable, error = setmetatable, getmetatable, error;
local s_find, s_sub, s_match, s_gsub, s_byte, s_rep =
	string.find, string.sub, string.match, string.gsub, string.byte, string.rep;
local t_concat = table.concat;

local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";

local stanza_mt = { __name = "stanza" };
stanza_mt.__index = stanza_mt;

-- utf8_ok reports whether s is well-formed UTF-8: shortest forms only, no
-- surrogates, nothing above U+10FFFF.
local function utf8_ok(s)
	if not s_find(s, "[\128-\255]") then return true; end
	local i, n = 1, #s;
	while i <= n do
		local c = s_byte(s, i);
		if c < 0x80 then
			i = i + 1;
		else
			local len, lo, hi; -- continuation count and bounds of the 2nd byte
			if c >= 0xC2 and c <= 0xDF then len, lo, hi = 1, 0x80, 0xBF;
			elseif c == 0xE0 then len, lo, hi = 2, 0xA0, 0xBF;
			elseif c == 0xED then len, lo, hi = 2, 0x80, 0x9F;
			elseif c >= 0xE1 and c <= 0xEF then len, lo, hi = 2, 0x80, 0xBF;
			elseif c == 0xF0 then len, lo, hi = 3, 0x90, 0xBF;
			elseif c >= 0xF1 and c <= 0xF3 then len, lo, hi = 3, 0x80, 0xBF;
			elseif c == 0xF4 then len, lo, hi = 3, 0x80, 0x8F;
			else return false; end
			local b = s_byte(s, i + 1);
			if not b or b < lo or b > hi then return false; end
			for j = i + 2, i + len do
				b = s_byte(s, j);
				if not b or b < 0x80 or b > 0xBF then return false; end
			end
			i = i + len + 1;
		end
	end
	return true;
end

-- Characters XML 1.0 allows below U+0020 are tab, LF and CR. Attribute names
-- may also hold \1, the namespace separator.
local function has_controls(s, is_attr_name)
	if is_attr_name then
		return s_find(s, "[%z\2-\8\11\12\14-\31]") ~= nil;
	end
	return s_find(s, "[%z\1-\8\11\12\14-\31]") ~= nil;
end

-- name_problem and text_problem return what is wrong with a string, or nil.
-- modhost provides them in Go (modhost.xmlchars) because gopher-lua compiles
-- a pattern on every string.find; the Lua versions below apply the same
-- rules and are used where that module is missing (e.g. plain Lua).
local name_problem, text_problem, xml_escape;
local have_native, native = pcall(require, "modhost.xmlchars");
if have_native and type(native) == "table" then
	name_problem, text_problem, xml_escape = native.name_problem, native.text_problem, native.escape;
else
	-- One pattern finds everything the detailed checks look at, so plain
	-- ASCII costs a single scan.
	local suspect_name = "[%z\1-\31<>& '\"\128-\255]";
	local suspect_text = "[%z\1-\8\11\12\14-\31\128-\255]";
	name_problem = function (name, is_attr)
		if name == "" then return "empty string"; end
		if not s_find(name, suspect_name) then return nil; end
		if s_find(name, "[<>& '\"]") then return "contains invalid characters"; end
		if has_controls(name, is_attr) then return "contains control characters"; end
		if not utf8_ok(name) then return "contains invalid utf8"; end
		return nil;
	end
	text_problem = function (text)
		if not s_find(text, suspect_text) then return nil; end
		if has_controls(text, false) then return "contains control characters"; end
		if not utf8_ok(text) then return "contains invalid utf8"; end
		return nil;
	end
	local entities = { ["'"] = "&apos;", ["\""] = "&quot;", ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;" };
	xml_escape = function (str)
		if not s_find(str, "['&<>\"]") then return str; end
		return (s_gsub(str, "['&<>\"]", entities));
	end
end

local function check_name(name, kind)
	if type(name) ~= "string" then
		error("invalid "..kind.." name: expected string, got "..type(name), 3);
	end
	local problem = name_problem(name, kind == "attribute");
	if problem then
		error("invalid "..kind.." name: "..problem, 3);
	end
end

local function check_text(text, kind)
	if type(text) ~= "string" then
		error("invalid "..kind.." value: expected string, got "..type(text), 3);
	end
	local problem = text_problem(text);
	if problem then
		error("invalid "..kind.." value: "..problem, 3);
	end
end

local function check_attr(attr)
	if attr == nil then return; end
	if type(attr) ~= "table" then
		error("invalid attributes: expected table, got "..type(attr), 3);
	end
	for k, v in pairs(attr) do
		check_name(k, "attribute");
		check_text(v, "attribute");
	end
end

-- modhost builds the table at its size in Go (see modhost.xmlchars).
local new_element = have_native and type(native) == "table" and native.element;

local function new_stanza(name, attr, namespaces)
	check_name(name, "tag");
	check_attr(attr);
	if new_element then return new_element(name, attr, namespaces, stanza_mt); end
	return setmetatable({ name = name, attr = attr or {}, namespaces = namespaces, tags = {} }, stanza_mt);
end

local function is_stanza(s)
	return getmetatable(s) == stanza_mt;
end

-- current returns the element the builder methods write into.
local function current(self)
	local open = self.last_add;
	return open and open[#open] or self;
end

-- Building --

function stanza_mt:add_direct_child(child)
	if is_stanza(child) then
		local tags = self.tags;
		tags[#tags + 1] = child;
	else
		check_text(child, "text");
	end
	self[#self + 1] = child;
end

function stanza_mt:add_child(child)
	current(self):add_direct_child(child);
	return self;
end

function stanza_mt:tag(name, attr, namespaces)
	local child = new_stanza(name, attr, namespaces);
	current(self):add_direct_child(child);
	local open = self.last_add;
	if not open then
		open = {};
		self.last_add = open;
	end
	open[#open + 1] = child;
	return self;
end

function stanza_mt:text(text)
	if text == nil or text == "" then return self; end
	current(self):add_direct_child(text);
	return self;
end

function stanza_mt:text_tag(name, text, attr, namespaces)
	return self:tag(name, attr, namespaces):text(text):up();
end

function stanza_mt:up()
	local open = self.last_add;
	if open then open[#open] = nil; end
	return self;
end

function stanza_mt:at_top()
	local open = self.last_add;
	return open == nil or #open == 0;
end

function stanza_mt:reset()
	self.last_add = nil;
	return self;
end

function stanza_mt:query(xmlns)
	return self:tag("query", { xmlns = xmlns });
end

function stanza_mt:body(text, attr)
	return self:text_tag("body", text, attr);
end

-- Reading --

-- matches tells whether child is called name (any name when nil) in
-- namespace xmlns. Without xmlns, a child matches when it has the parent's
-- xmlns or none at all (it then shares the parent's namespace in XML).
local function matches(parent, child, name, xmlns)
	if name and child.name ~= name then return false; end
	local child_ns = child.attr.xmlns;
	if xmlns then return child_ns == xmlns; end
	return child_ns == nil or child_ns == parent.attr.xmlns;
end

function stanza_mt:get_child(name, xmlns)
	for _, child in ipairs(self.tags) do
		if matches(self, child, name, xmlns) then return child; end
	end
	return nil;
end

function stanza_mt:get_text()
	if #self.tags == 0 then
		return t_concat(self);
	end
	return nil;
end

function stanza_mt:get_child_text(name, xmlns)
	local child = self:get_child(name, xmlns);
	if child then return child:get_text(); end
	return nil;
end

function stanza_mt:child_with_name(name)
	for _, child in ipairs(self.tags) do
		if child.name == name then return child; end
	end
	return nil;
end

function stanza_mt:child_with_ns(xmlns)
	for _, child in ipairs(self.tags) do
		if child.attr.xmlns == xmlns then return child; end
	end
	return nil;
end

function stanza_mt:childtags(name, xmlns)
	local tags, from = self.tags, 1;
	local last = #tags;
	return function ()
		for i = from, last do
			local child = tags[i];
			if matches(self, child, name, xmlns) then
				from = i + 1;
				return child;
			end
		end
	end;
end

function stanza_mt:get_child_with_attr(name, xmlns, attr_name, attr_value, normalize)
	for child in self:childtags(name, xmlns) do
		local value = child.attr[attr_name];
		if normalize then value = normalize(value) or value; end
		if value == attr_value then return child; end
	end
	return nil;
end

function stanza_mt:children()
	local i = 0;
	return function (s)
		i = i + 1;
		return s[i];
	end, self, i;
end

-- maptags replaces each element child by what callback returns for it, or
-- removes it when callback returns nil; text children stay where they are.
-- A stanza whose tags list names an element that is not among its children
-- (someone replaced an entry of .tags) is broken: maptags raises "Invalid
-- stanza state", as Prosody's does, and leaves the stanza as it was.
function stanza_mt:maptags(callback)
	local tags = self.tags;
	local kept_nodes, kept_tags = {}, {};
	local t = 1;
	for i = 1, #self do
		local node = self[i];
		if type(node) == "table" and node == tags[t] then
			t = t + 1;
			node = callback(node);
			if node ~= nil then kept_tags[#kept_tags + 1] = node; end
		end
		if node ~= nil then kept_nodes[#kept_nodes + 1] = node; end
	end
	if tags[t] ~= nil then
		error("Invalid stanza state: an entry of its tags is not one of its children", 2);
	end
	for i = #self, 1, -1 do self[i] = nil; end
	for i = #tags, 1, -1 do tags[i] = nil; end
	for i = 1, #kept_nodes do self[i] = kept_nodes[i]; end
	for i = 1, #kept_tags do tags[i] = kept_tags[i]; end
	return self;
end

function stanza_mt:remove_children(name, xmlns)
	xmlns = xmlns or self.attr.xmlns;
	return self:maptags(function (child)
		if (not name or child.name == name) and child.attr.xmlns == xmlns then
			return nil;
		end
		return child;
	end);
end

-- find walks a path such as "{urn:x}query/item@jid" or "body#": each step
-- is an optional {namespace} and a name; a final "#" asks for the text of
-- the last element, "@attr" for an attribute of the element reached.
function stanza_mt:find(path)
	local node, pos = self, 1;
	local stop = #path + 1;
	while node do
		if s_sub(path, pos, pos) == "@" then
			return node.attr[s_sub(path, pos + 1)];
		end
		local xmlns;
		if s_sub(path, pos, pos) == "{" then
			xmlns, pos = s_match(path, "^([^}]+)}()", pos + 1);
		end
		local name, sep;
		name, sep, pos = s_match(path, "^([^@/#]*)([/#]?)()", pos);
		if name == "" then name = nil; end
		if pos == stop then
			if sep == "#" then return node:get_child_text(name, xmlns); end
			return node:get_child(name, xmlns);
		end
		node = node:get_child(name, xmlns);
	end
	return nil;
end

function stanza_mt:get_error()
	local err = self:get_child("error");
	if not err then return nil, nil, nil, nil; end
	local condition, text, extra;
	for _, child in ipairs(err.tags) do
		if child.attr.xmlns == xmlns_stanzas then
			if child.name == "text" and not text then
				text = child:get_text();
			elseif not condition then
				condition = child.name;
			end
		else
			extra = child;
		end
		if condition and text and extra then break; end
	end
	return err.attr.type, condition or "undefined-condition", text, extra;
end

-- Copying and (de)serialising --

local function copy_table(t)
	local c = {};
	for k, v in pairs(t) do c[k] = v; end
	return c;
end

local function copy(s, only_top)
	local c = {
		name = s.name,
		attr = copy_table(s.attr),
		namespaces = s.namespaces and copy_table(s.namespaces),
		tags = {},
	};
	if not only_top then
		local tags = c.tags;
		for i = 1, #s do
			local node = s[i];
			if type(node) == "table" then
				node = copy(node);
				tags[#tags + 1] = node;
			end
			c[i] = node;
		end
	end
	return setmetatable(c, stanza_mt);
end

local function clone(s, only_top)
	if not is_stanza(s) then
		error("bad argument to clone: expected stanza, got "..type(s), 2);
	end
	return copy(s, only_top);
end

-- preserialize turns a stanza into plain tables (no metatable, no tags
-- list), for storage; attr is shared, not copied.
local function preserialize(s)
	local plain = { name = s.name, attr = s.attr };
	for i, node in ipairs(s) do
		if type(node) == "table" then node = preserialize(node); end
		plain[i] = node;
	end
	return plain;
end
stanza_mt.__freeze = preserialize;

-- deserialize rebuilds a stanza from preserialize's output. Older stores
-- wrote namespaced attributes as "uri|name"; those are read back too.
local function deserialize(plain)
	if not plain then return nil; end
	local attr = {};
	for k, v in pairs(plain.attr) do
		if type(k) == "string" then
			if s_find(k, "|", 1, true) and not s_find(k, "\1", 1, true) then
				local uri, local_name = s_match(k, "^([^|]+)|(.+)$");
				k = uri.."\1"..local_name;
			end
			attr[k] = v;
		end
	end
	local s = new_stanza(plain.name, attr);
	for _, node in ipairs(plain) do
		local kind = type(node);
		if kind == "table" then
			s:add_direct_child(deserialize(node));
		elseif kind == "string" then
			s:add_direct_child(node);
		end
	end
	return s;
end

local function serialise(s, out, parent_xmlns)
	local name = s.name;
	out[#out + 1] = "<"..name;
	local generated = 0;
	for k, v in pairs(s.attr) do
		local sep = s_find(k, "\1", 1, true);
		if sep then
			local uri, local_name = s_sub(k, 1, sep - 1), s_sub(k, sep + 1);
			generated = generated + 1;
			local prefix = "ns"..generated;
			out[#out + 1] = " xmlns:"..prefix.."='"..xml_escape(uri).."' "..prefix..":"..local_name.."='"..xml_escape(v).."'";
		elseif k ~= "xmlns" or v ~= parent_xmlns then
			out[#out + 1] = " "..k.."='"..xml_escape(v).."'";
		end
	end
	local n = #s;
	if n == 0 then
		out[#out + 1] = "/>";
		return;
	end
	out[#out + 1] = ">";
	local xmlns = s.attr.xmlns;
	for i = 1, n do
		local node = s[i];
		if type(node) == "table" then
			serialise(node, out, xmlns);
		else
			out[#out + 1] = xml_escape(node);
		end
	end
	out[#out + 1] = "</"..name..">";
end

function stanza_mt.__tostring(s)
	local out = {};
	serialise(s, out, nil);
	return t_concat(out);
end

function stanza_mt.top_tag(s)
	local xml = tostring(copy(s, true));
	return s_sub(xml, 1, -3)..">";
end

-- indent returns a copy laid out with one element per line; elements that
-- hold only text are kept as they are so their text does not change.
function stanza_mt.indent(s, level, unit)
	if #s == 0 or (#s == 1 and type(s[1]) == "string") then
		return s;
	end
	level, unit = level or 1, unit or "\t";
	local out = copy(s, true);
	for _, node in ipairs(s) do
		if type(node) == "string" then
			if s_find(node, "%S") then
				out:text("\n"..s_rep(unit, level));
				out:text(node);
			end
		else
			out:text("\n"..s_rep(unit, level));
			out:add_direct_child(node:indent(level + 1, unit));
		end
	end
	out:text("\n"..s_rep(unit, level - 1));
	return out;
end

-- Terminal colours when util.termcolours is around (as in Prosody's
-- console); plain XML otherwise, which is what logs want.
local have_colours, termcolours = pcall(require, "util.termcolours");
local pretty;
if have_colours and type(termcolours) == "table" and termcolours.getstyle then
	local style, paint = termcolours.getstyle, termcolours.getstring;
	local bracket, tag_name = style("1b3967"), style("13b5ea");
	local attr_name, equals = style("a0ce67"), style("439639");
	local quote, attr_value = style("d9541e"), style("e96d1f");
	local function paint_attr(k, eq, q1, v, q2)
		return paint(attr_name, k)..paint(equals, eq)..paint(quote, q1)..paint(attr_value, v)..paint(quote, q2);
	end
	local function paint_entity(amp, word, semi)
		return paint(equals, amp)..paint(attr_name, word)..paint(equals, semi);
	end
	pretty = function (xml)
		return (s_gsub(xml, "(<[?/]?)([^ >/?]*)(.-)([?/]?>)([^<]*)", function (open, name, attrs, close, text)
			return paint(bracket, open)..paint(tag_name, name)
				..s_gsub(attrs, "([^=]+)(=)([\"'])(.-)([\"'])", paint_attr)
				..paint(bracket, close)
				..s_gsub(text, "(&#?)(%w+)(;)", paint_entity);
		end));
	end
	function stanza_mt.pretty_print(s) return pretty(tostring(s)); end
	function stanza_mt.pretty_top_tag(s) return pretty(s:top_tag()); end
else
	stanza_mt.pretty_print = stanza_mt.__tostring;
	stanza_mt.pretty_top_tag = stanza_mt.top_tag;
end

-- Constructors --

local function message(attr, body)
	local s = new_stanza("message", attr);
	if body then s:text_tag("body", body); end
	return s;
end

local function iq(attr)
	if not attr then
		error("iq stanzas require id and type attributes", 2);
	elseif not attr.id then
		error("iq stanzas require an id attribute", 2);
	elseif not attr.type then
		error("iq stanzas require a type attribute", 2);
	end
	return new_stanza("iq", attr);
end

local function presence(attr)
	return new_stanza("presence", attr);
end

local function reply(orig)
	if not is_stanza(orig) then
		error("bad argument to reply: expected stanza, got "..type(orig), 2);
	end
	local a = orig.attr;
	local reply_type = a.type;
	if orig.name == "iq" then reply_type = "result"; end
	return new_stanza(orig.name, { to = a.from, from = a.to, id = a.id, type = reply_type });
end

-- error_reply builds the RFC 6120 §8.3 error answer to orig. error_type may
-- instead be a util.error-like object { type, condition, text, extra,
-- context = { by } }; extra.tag (a stanza) or extra.namespace+condition add
-- an application-specific condition, extra.uri the redirect of <gone/>.
local function error_reply(orig, error_type, condition, text, by)
	if not is_stanza(orig) then
		error("bad argument to error_reply: expected stanza, got "..type(orig), 2);
	elseif orig.attr.type == "error" then
		error("bad argument to error_reply: got stanza of type error which must not be replied to", 2);
	end
	local extra;
	if type(error_type) == "table" then
		local e = error_type;
		if type(e.extra) == "table" then extra = e.extra; end
		if type(e.context) == "table" and type(e.context.by) == "string" then by = e.context.by; end
		error_type, condition, text = e.type, e.condition, e.text;
	end
	local r = reply(orig);
	r.attr.type = "error";
	if by == r.attr.from then by = nil; end
	r:tag("error", { type = error_type, by = by });
	r:tag(condition, { xmlns = xmlns_stanzas });
	if extra and condition == "gone" and type(extra.uri) == "string" then
		r:text(extra.uri);
	end
	r:up();
	if text then r:text_tag("text", text, { xmlns = xmlns_stanzas }); end
	if extra and is_stanza(extra.tag) then
		r:add_child(extra.tag);
	elseif extra and extra.namespace and extra.condition then
		r:tag(extra.condition, { xmlns = extra.namespace }):up();
	end
	return r;
end

return {
	stanza_mt = stanza_mt;
	stanza = new_stanza;
	is_stanza = is_stanza;
	preserialize = preserialize;
	deserialize = deserialize;
	clone = clone;
	message = message;
	iq = iq;
	reply = reply;
	error_reply = error_reply;
	presence = presence;
	xml_escape = xml_escape;
	pretty_print = pretty;
};
