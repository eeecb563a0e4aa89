-- util.datamapper: maps XML (util.stanza) to JSON-like tables and back,
-- driven by a JSON Schema annotated as OpenAPI's "xml" object does, as
-- Prosody 0.12's util.datamapper.
--
-- parse(schema, stanza) → table; unparse(schema, table) → stanza. The
-- schema's type is "object" (or has properties) or "array" (or has items);
-- a property is by default the text of a child element named after it.
-- xml = { name, namespace, prefix, attribute = true (an attribute of the
-- element), text = true (the element's own text), wrapped = true (an
-- array inside a wrapper element), x_name_is_value = true (the child's
-- name is the value: for booleans whether it is there, for strings one of
-- enum/const), x_single_attribute = NAME (an attribute of the child) }.
-- Values are converted by the property's type (string, number, integer,
-- boolean: "1"/"true" and "0"/"false", any other text true); $ref
-- "#/…" pointers into the root schema are followed one level.

local st = require "util.stanza";
local pointer = require "util.jsonpointer";

local type, pairs, ipairs, tonumber, error, assert = type, pairs, ipairs, tonumber, error, assert;
local s_format = string.format;

local function to_boolean(s)
	if s == "true" or s == "1" then
		return true;
	elseif s == "false" or s == "0" then
		return false;
	elseif s then
		return true;
	end
end

local function convert(kind, s)
	if not s then return nil; end
	if kind == "string" then
		return s;
	elseif kind == "boolean" then
		return to_boolean(s);
	elseif kind == "number" or kind == "integer" then
		return tonumber(s);
	end
end

local function resolve(schema, root)
	if type(schema) == "table" then
		local ref = schema["$ref"];
		if ref and ref:sub(1, 1) == "#" then
			return pointer.resolve(root, ref:sub(2));
		end
	end
	return schema;
end

local function schema_type(schema)
	local t = schema.type;
	if type(t) == "string" then
		return t;
	elseif t ~= nil then
		error("schema has unsupported 'type' property");
	elseif schema.properties then
		return "object";
	elseif schema.items then
		return "array";
	end
	return "string";
end

-- Where and how a property lives in the XML: a table of kind (its type),
-- place ("in_text_tag", "in_text", "in_children", "in_wrapper",
-- "in_attribute", "in_tag_name", "in_single_attribute"), name, namespace
-- (when it differs from current_ns), prefix, attribute (for
-- x_single_attribute) and enums.
local function placement(propschema, propname, current_ns)
	local p = { kind = "string", place = propname and "in_text_tag" or "in_text", name = propname };
	if type(propschema) == "string" then
		error("schema as string is not supported: " .. propschema .. " {" .. current_ns .. "}" .. propname);
	elseif type(propschema) ~= "table" then
		return p;
	end
	p.kind = schema_type(propschema);
	if p.kind == "object" or p.kind == "array" then
		p.place = "in_children";
	end
	local xml = propschema.xml;
	if xml then
		p.name = xml.name or p.name;
		if xml.namespace and xml.namespace ~= current_ns then
			p.namespace = xml.namespace;
		end
		p.prefix = xml.prefix;
		if p.kind == "array" and xml.wrapped then
			p.place = "in_wrapper";
		elseif xml.attribute then
			p.place = "in_attribute";
		elseif xml.text then
			p.place = "in_text";
		elseif xml.x_name_is_value then
			p.place = "in_tag_name";
		elseif xml.x_single_attribute then
			p.attribute = xml.x_single_attribute;
			p.place = "in_single_attribute";
		end
	end
	if propschema.const then
		p.enums = { propschema.const };
	elseif propschema.enum then
		p.enums = propschema.enum;
	end
	return p;
end

local function attribute_key(name, prefix, namespace, element_ns)
	if prefix then
		return prefix .. ":" .. name;
	elseif namespace and namespace ~= element_ns then
		return namespace .. "\1" .. name;
	end
	return name;
end

-- The raw (string) value described by p, read from element s.
local function read_value(s, p, name)
	local place = p.place;
	if place == "in_tag_name" then
		local child;
		if p.kind == "boolean" then
			child = s:get_child(name, p.namespace);
		elseif p.enums and p.kind == "string" then
			for _, candidate in ipairs(p.enums) do
				child = s:get_child(candidate, p.namespace);
				if child then break; end
			end
		else
			child = s:get_child(nil, p.namespace);
		end
		return child and child.name;
	elseif place == "in_attribute" then
		return s.attr[attribute_key(name, p.prefix, p.namespace, s.attr.xmlns)];
	elseif place == "in_text" then
		return s:get_text();
	elseif place == "in_single_attribute" then
		local child = s:get_child(name, p.namespace);
		return child and child.attr[p.attribute];
	elseif place == "in_text_tag" then
		return s:get_child_text(name, p.namespace);
	end
end

local parse_object, parse_array;

function parse_object(schema, s, root)
	local out = {};
	schema = resolve(schema, root);
	if type(schema) ~= "table" or not schema.properties then
		return out;
	end
	for prop, propschema in pairs(schema.properties) do
		propschema = resolve(propschema, root);
		local p = placement(propschema, prop, s.attr.xmlns);
		local is_table = type(propschema) == "table";
		if p.place == "in_children" and is_table then
			if p.kind == "object" then
				local child = s:get_child(p.name, p.namespace);
				if child then out[prop] = parse_object(propschema, child, root); end
			else
				local list = parse_array(propschema, s, root);
				if list and list[1] ~= nil then out[prop] = list; end
			end
		elseif p.place == "in_wrapper" and is_table and p.kind == "array" then
			local wrapper = s:get_child(p.name, p.namespace);
			if wrapper then out[prop] = parse_array(propschema, wrapper, root); end
		else
			out[prop] = convert(p.kind, read_value(s, p, p.name));
		end
	end
	return out;
end

function parse_array(schema, s, root)
	local itemschema = resolve(schema.items, root);
	local p = placement(itemschema, nil, s.attr.xmlns);
	local attr_name;
	if p.place == "in_single_attribute" then
		-- each item is the attribute of one child
		p.place, attr_name = "in_attribute", p.attribute;
	end
	local out = {};
	if p.kind == "object" then
		if type(itemschema) ~= "table" then
			error("array items must be schema object");
		end
		for child in s:childtags(p.name, p.namespace) do
			out[#out + 1] = parse_object(itemschema, child, root);
		end
	elseif p.kind == "array" then
		if type(itemschema) == "table" then
			for child in s:childtags(p.name, p.namespace) do
				out[#out + 1] = parse_array(itemschema, child, root);
			end
		end
	else
		for child in s:childtags(p.name, p.namespace) do
			out[#out + 1] = convert(p.kind, read_value(child, p, attr_name or p.name));
		end
	end
	return out;
end

local function parse(schema, s)
	local kind = schema_type(schema);
	if kind == "object" then
		return parse_object(schema, s, schema);
	elseif kind == "array" then
		return parse_array(schema, s, schema);
	end
	error("top-level scalars unsupported");
end

local function to_xml_string(kind, v)
	if kind == "string" and type(v) == "string" then
		return v;
	elseif kind == "number" and type(v) == "number" then
		return s_format("%g", v);
	elseif kind == "integer" and type(v) == "number" then
		return s_format("%d", v);
	elseif kind == "boolean" then
		return v and "1" or "0";
	end
end

local unparse;

local function write_property(out, v, p, propschema, current_ns, root)
	local place, kind, name, namespace = p.place, p.kind, p.name, p.namespace;
	if place == "in_attribute" then
		out.attr[attribute_key(name, p.prefix, namespace, current_ns)] = to_xml_string(kind, v);
	elseif place == "in_text" then
		out:text(to_xml_string(kind, v));
	elseif place == "in_single_attribute" then
		assert(p.attribute);
		local attr = {};
		if namespace and namespace ~= current_ns then attr.xmlns = namespace; end
		attr[p.attribute] = to_xml_string(kind, v);
		out:tag(name, attr):up();
	else
		local attr;
		if namespace ~= current_ns then attr = { xmlns = namespace }; end
		local is_table = type(propschema) == "table" and type(v) == "table";
		if place == "in_tag_name" then
			if kind == "string" and type(v) == "string" then
				out:tag(v, attr):up();
			elseif kind == "boolean" and v == true then
				out:tag(name, attr):up();
			end
		elseif kind == "object" and is_table then
			local child = unparse(propschema, v, name, namespace, nil, root);
			if child then out:add_direct_child(child); end
		elseif kind == "array" and is_table then
			if place == "in_wrapper" then
				local child = unparse(propschema, v, name, namespace, nil, root);
				if child then out:add_direct_child(child); end
			else
				unparse(propschema, v, name, namespace, out, root);
			end
		else
			out:text_tag(name, to_xml_string(kind, v), attr);
		end
	end
end

function unparse(schema, t, current_name, current_ns, into, root)
	root = root or schema;
	local xml = schema.xml;
	if xml then
		current_name = xml.name or current_name;
		current_ns = xml.namespace or current_ns;
	end
	local out = into or st.stanza(current_name, { xmlns = current_ns });
	local kind = schema_type(schema);
	if kind == "object" then
		for prop, propschema in pairs(schema.properties) do
			propschema = resolve(propschema, root);
			local v = t[prop];
			if v ~= nil then
				write_property(out, v, placement(propschema, prop, current_ns), propschema, current_ns, root);
			end
		end
		return out;
	elseif kind == "array" then
		local itemschema = resolve(schema.items, root);
		local p = placement(itemschema, current_name, current_ns);
		for _, item in ipairs(t) do
			write_property(out, item, p, itemschema, current_ns, root);
		end
		return out;
	end
end

return { parse = parse; unparse = unparse };
