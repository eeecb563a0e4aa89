-- util.jsonschema: JSON Schema validation of decoded JSON (util.json
-- values), as Prosody 0.12's util.jsonschema.
--
-- validate(schema, data[, root]) → true or false. Schemas may be booleans;
-- supported keywords: type (a name or a list; "integer", "null" =
-- json.null, "object" / "array" told apart by their first key), $ref (a
-- "#/…" JSON pointer into the root schema), enum, const, minLength /
-- maxLength, multipleOf, minimum / maximum, exclusiveMinimum /
-- exclusiveMaximum (numbers), allOf / anyOf / oneOf / not, if / then /
-- else, required, properties, additionalProperties, propertyNames,
-- minItems / maxItems, uniqueItems, prefixItems, items, contains.
--
-- As in Prosody: when if/then/else applies, its answer is the result
-- (keywords checked after it are not), and a multipleOf never matches 0.

local json = require "util.json";
local pointer = require "util.jsonpointer";

local type, next, pairs, ipairs = type, next, pairs, ipairs;
local null = json.null;

local function is_integer(n)
	return type(n) == "number" and n % 1 == 0 and n <= 2^53 and n >= -2^53;
end

local function first_key_type(t)
	local k = next(t);
	return k == nil and "empty" or type(k);
end

-- Whether data is of the JSON type (or one of the list of types) given.
local function has_type(want, data)
	if want == nil then
		return true;
	elseif type(want) == "table" then
		for _, one in ipairs(want) do
			if has_type(one, data) then return true; end
		end
		return false;
	elseif want == "object" and type(data) == "table" then
		local k = first_key_type(data);
		return k == "empty" or k == "string";
	elseif want == "array" and type(data) == "table" then
		local k = first_key_type(data);
		return k == "empty" or k == "number";
	elseif want == "integer" then
		return is_integer(data);
	elseif want == "null" then
		return data == null;
	end
	return type(data) == want;
end

local validate;

local function all_valid(list, data, root)
	for _, sub in ipairs(list) do
		if not validate(sub, data, root) then return false; end
	end
	return true;
end

local function count_valid(list, data, root, stop_at)
	local n = 0;
	for _, sub in ipairs(list) do
		if validate(sub, data, root) then
			n = n + 1;
			if n == stop_at then break; end
		end
	end
	return n;
end

-- (written as "not (n <= max)" and so on so that NaN fails every bound)
-- luacheck: push ignore 581
local function check_number(schema, n)
	local m = schema.multipleOf;
	if m and (n == 0 or n % m ~= 0) then return false; end
	if schema.maximum and not (n <= schema.maximum) then return false; end
	if schema.exclusiveMaximum and not (n < schema.exclusiveMaximum) then return false; end
	if schema.minimum and not (n >= schema.minimum) then return false; end
	if schema.exclusiveMinimum and not (n > schema.exclusiveMinimum) then return false; end
	return true;
end
-- luacheck: pop

local function check_table(schema, data, root)
	if schema.maxItems and #data > schema.maxItems then return false; end
	if schema.minItems and #data < schema.minItems then return false; end
	if schema.required then
		for _, key in ipairs(schema.required) do
			if data[key] == nil then return false; end
		end
	end
	if schema.propertyNames ~= nil then
		for key in pairs(data) do
			if not validate(schema.propertyNames, key, root) then return false; end
		end
	end
	local properties = schema.properties;
	if properties then
		for key, sub in pairs(properties) do
			if data[key] ~= nil and not validate(sub, data[key], root) then return false; end
		end
	end
	if schema.additionalProperties ~= nil then
		for key, value in pairs(data) do
			if (properties == nil or properties[key] == nil)
			and not validate(schema.additionalProperties, value, root) then
				return false;
			end
		end
	end
	if schema.uniqueItems then
		local seen = {};
		for _, value in pairs(data) do
			if seen[value] then return false; end
			seen[value] = true;
		end
	end
	local checked = 0;
	if schema.prefixItems ~= nil then
		for i, sub in ipairs(schema.prefixItems) do
			if data[i] == nil then break; end
			if not validate(sub, data[i], root) then return false; end
			checked = i;
		end
	end
	if schema.items ~= nil then
		for i = checked + 1, #data do
			if not validate(schema.items, data[i], root) then return false; end
		end
	end
	if schema.contains ~= nil then
		local found = false;
		for i = 1, #data do
			if validate(schema.contains, data[i], root) then found = true; break; end
		end
		if not found then return false; end
	end
	return true;
end

local function validate_object(schema, data, root)
	root = root or schema;

	local ref = schema["$ref"];
	if ref and ref:sub(1, 1) == "#" then
		local target = pointer.resolve(root, ref:sub(2));
		if target ~= nil and target ~= root and target ~= schema and not validate(target, data, root) then
			return false;
		end
	end

	if not has_type(schema.type, data) then return false; end
	if type(data) == "table" then
		if schema.type == "object" then
			for key in pairs(data) do
				if type(key) ~= "string" then return false; end
			end
		end
		if schema.type == "array" then
			for key in pairs(data) do
				if not is_integer(key) then return false; end
			end
		end
	end

	if schema.enum ~= nil then
		local found = false;
		for _, value in ipairs(schema.enum) do
			if value == data then found = true; break; end
		end
		if not found then return false; end
	end

	if type(data) == "string" then
		if schema.maxLength and #data > schema.maxLength then return false; end
		if schema.minLength and #data < schema.minLength then return false; end
	elseif type(data) == "number" and not check_number(schema, data) then
		return false;
	end

	if schema.allOf and not all_valid(schema.allOf, data, root) then return false; end
	if schema.oneOf and count_valid(schema.oneOf, data, root) ~= 1 then return false; end
	if schema.anyOf and count_valid(schema.anyOf, data, root, 1) == 0 then return false; end
	if schema["not"] and validate(schema["not"], data, root) then return false; end

	if schema["if"] ~= nil then
		local branch;
		if validate(schema["if"], data, root) then
			branch = schema["then"];
		else
			branch = schema["else"];
		end
		if branch then
			return validate(branch, data, root);
		end
	end

	if schema.const ~= nil and schema.const ~= data then return false; end

	if type(data) == "table" then
		return check_table(schema, data, root);
	end
	return true;
end

function validate(schema, data, root)
	if type(schema) == "boolean" then
		return schema;
	end
	return validate_object(schema, data, root);
end

return {
	validate = validate;
	xml_t = {};
};
