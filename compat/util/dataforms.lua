-- util.dataforms: XEP-0004 data forms, as Prosody 0.12's util.dataforms.
--
-- A layout is a list of field descriptions ({ name=, var=, type=, label=,
-- desc=, required=, value=, options=, datatype=, range_min=, range_max=,
-- media= }) plus optional title and instructions. new(layout) gives it the
-- methods :form(data, formtype), which renders an <x xmlns='jabber:x:data'/>
-- (type "form" unless told: "submit" leaves out labels, descriptions, title
-- and instructions; "cancel" is the bare element), and :data(stanza,
-- current), which reads a submitted form back into a table by field name,
-- with per-field error strings and the set of names that were present.
-- get_type(form) is the form's FORM_TYPE value ("" when it has none).

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local datetime = require "util.datetime";

local ipairs, type, next, tonumber, tostring = ipairs, type, next, tonumber, tostring;
local setmetatable = setmetatable;
local t_concat = table.concat;

local NS_DATA = "jabber:x:data";
local NS_VALIDATE = "http://jabber.org/protocol/xdata-validate";
local NS_MEDIA = "urn:xmpp:media-element";

local MISSING = "Required value missing";

local methods = {};
local layout_mt = { __index = methods };

local function new(layout)
	return setmetatable(layout, layout_mt);
end

-- How a number given as a field's value is written out.
local function number_text(field, field_type, n)
	if field.datatype == "xs:dateTime" then
		return datetime.datetime(n);
	elseif field_type == "boolean" then
		return n ~= 0;
	elseif field.datatype == "xs:double" or field.datatype == "xs:decimal" then
		return ("%f"):format(n);
	end
	return ("%d"):format(n);
end

local function add_value(x, text)
	x:tag("value"):text(text):up();
end

-- Writers for a field's value(s), by field type. Types not listed here
-- (including unknown ones) get no <value/>.
local single = function (x, v) add_value(x, v); end
local multiple = function (x, list)
	for _, v in ipairs(list) do add_value(x, v); end
end
local value_writers = {
	["text-single"] = single,
	["text-private"] = single,
	["jid-single"] = single,
	["list-single"] = single,
	["fixed"] = single,
	["jid-multi"] = multiple,
	["list-multi"] = multiple,
	["boolean"] = function (x, v) add_value(x, v and "1" or "0"); end,
	["hidden"] = function (x, v)
		if type(v) == "table" then
			-- an XML payload carried in the hidden field
			x:tag("value"):add_child(v):up();
		else
			add_value(x, v);
		end
	end,
	["text-multi"] = function (x, v)
		-- one <value/> per non-empty line
		for line in v:gmatch("[^\r\n]+") do add_value(x, line); end
	end,
};

function methods.form(layout, data, formtype)
	formtype = formtype or "form";
	local x = st.stanza("x", { xmlns = NS_DATA, type = formtype });
	if formtype == "cancel" then
		return x;
	end
	local submit, full = formtype == "submit", formtype == "form";
	if not submit then
		if layout.title then x:text_tag("title", layout.title); end
		if layout.instructions then x:text_tag("instructions", layout.instructions); end
	end

	for _, field in ipairs(layout) do
		local field_type = field.type or "text-single";
		x:tag("field", {
			type = field_type,
			var = field.var or field.name,
			label = (not submit) and field.label or nil,
		});
		if not submit and field.desc then
			x:text_tag("desc", field.desc);
		end

		if full and field.datatype then
			x:tag("validate", { xmlns = NS_VALIDATE, datatype = field.datatype });
			if field.range_min or field.range_max then
				x:tag("range", {
					min = field.range_min and tostring(field.range_min) or nil,
					max = field.range_max and tostring(field.range_max) or nil,
				}):up();
			end
			x:up();
		end

		local value, options = field.value, field.options;
		local given = data and data[field.name];
		if given ~= nil then
			value = given;
			-- A table given for a list field in a form is its options.
			if full and type(given) == "table"
				and (field_type == "list-single" or field_type == "list-multi") then
				options, value = given, nil;
			end
		end

		if full and options then
			local defaults = {};
			for _, option in ipairs(options) do
				local label, text = option, option;
				if type(option) == "table" then
					label, text = option.label, option.value;
					if option.default then defaults[#defaults + 1] = option.value; end
				end
				x:tag("option", { label = label }):text_tag("value", text):up();
			end
			if not value then
				if field_type == "list-multi" then
					value = defaults;
				elseif field_type == "list-single" then
					value = defaults[1];
				end
			end
		end

		if value ~= nil then
			if type(value) == "number" then
				value = number_text(field, field_type, value);
			end
			local write = value_writers[field_type];
			if write then write(x, value); end
		end

		local media = field.media;
		if media then
			x:tag("media", { xmlns = NS_MEDIA,
				height = ("%d"):format(media.height), width = ("%d"):format(media.width) });
			for _, uri in ipairs(media) do
				x:tag("uri", { type = uri.type }):text(uri.uri):up();
			end
			x:up();
		end

		if full and field.required then
			x:tag("required"):up();
		end
		x:up();
	end
	return x;
end

-- Readers turn a submitted <field/> into a value, or nil and an error.

local function read_text(tag, required)
	local text = tag:get_child_text("value");
	-- An empty string counts as missing for a required field (as HTML5 has it).
	if required and (text == nil or text == "") then
		return nil, MISSING;
	end
	return text;
end

local function read_list(tag, required)
	local values = {};
	for value in tag:childtags("value") do
		values[#values + 1] = value:get_text();
	end
	if values[1] ~= nil then
		return values;
	elseif required then
		return nil, MISSING;
	end
end

local booleans = { ["1"] = true, ["true"] = true, ["0"] = false, ["false"] = false };

local readers = {
	["text-single"] = read_text,
	["text-private"] = read_text,
	["list-single"] = read_text,
	["list-multi"] = read_list,
	["hidden"] = function (tag)
		return tag:get_child_text("value");
	end,
	["text-multi"] = function (tag, required)
		local lines, err = read_list(tag, required);
		if lines then return t_concat(lines, "\n"), err; end
		return lines, err;
	end,
	["boolean"] = function (tag, required)
		local text, err = read_text(tag, required);
		if not text then return text, err; end
		local b = booleans[text];
		if b == nil then
			return nil, "Invalid boolean representation:" .. text;
		end
		return b;
	end,
	["jid-single"] = function (tag, required)
		local text, err = read_text(tag, required);
		if not text then return text, err; end
		local jid = jid_prep(text);
		if not jid then return nil, "Invalid JID: " .. text; end
		return jid;
	end,
	["jid-multi"] = function (tag, required)
		local jids, bad = {}, {};
		for value in tag:childtags("value") do
			local text = value:get_text();
			local jid = jid_prep(text);
			jids[#jids + 1] = jid;
			if text and not jid then
				bad[#bad + 1] = "Invalid JID: " .. text;
			end
		end
		if #jids > 0 then
			return jids, bad[1] and t_concat(bad, "\n") or nil;
		elseif required then
			return nil, MISSING;
		end
	end,
};

-- Validators check (and convert) a read value by its xdata-validate
-- datatype: true and the value to keep, or false and an error.
local validators = {};

validators["xs:integer"] = function (value, field)
	local n = tonumber(value);
	if not n then
		return false, "not a number";
	elseif n % 1 ~= 0 then
		return false, "not an integer";
	elseif (field.range_max and n > field.range_max) or (field.range_min and n < field.range_min) then
		return false, "out of bounds";
	end
	return true, n;
end

validators["pubsub:integer-or-max"] = function (value, field)
	if value == "max" then return true, value; end
	return validators["xs:integer"](value, field);
end

validators["xs:dateTime"] = function (value)
	local t = datetime.parse(value);
	if not t then return false, "invalid timestamp"; end
	return true, t;
end

local function find_field(stanza, var)
	for tag in stanza:childtags("field") do
		if tag.attr.var == var then return tag; end
	end
end

function methods.data(layout, stanza, current)
	local data, errors, present = {}, {}, {};
	for _, field in ipairs(layout) do
		local name = field.name;
		local tag = find_field(stanza, field.var or name);
		if tag == nil then
			if current and current[name] ~= nil then
				data[name] = current[name];
			elseif field.required then
				errors[name] = MISSING;
			end
		elseif name then
			present[name] = true;
			-- A field without a type (or of an unknown one) is not read.
			local read = readers[field.type];
			if read then
				local value, err = read(tag, field.required);
				local validate = field.datatype and validators[field.datatype];
				if value ~= nil and validate then
					local ok, checked = validate(value, field);
					if ok then
						value = checked;
					else
						value, err = nil, checked or ("Invalid value for data of type " .. field.datatype);
					end
				end
				data[name], errors[name] = value, err;
			end
		end
	end
	if next(errors) == nil then
		errors = nil;
	end
	return data, errors, present;
end

local function get_type(form)
	if not st.is_stanza(form) then
		return nil, "not a stanza object";
	end
	if form.name ~= "x" or form.attr.xmlns ~= NS_DATA then
		return nil, "not a dataform element";
	end
	local form_type = find_field(form, "FORM_TYPE");
	if form_type then
		return form_type:get_child_text("value");
	end
	return "";
end

return {
	new = new;
	get_type = get_type;
};
