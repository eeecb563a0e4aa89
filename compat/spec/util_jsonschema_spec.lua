-- Behaviour of util.jsonschema on decoded JSON.

local js = require "util.jsonschema";
local json = require "util.json";

local function valid(schema, data)
	return js.validate(schema, data);
end

describe("util.jsonschema", function ()
	it("takes boolean schemas", function ()
		assert.is_true(valid(true, 1));
		assert.is_false(valid(false, 1));
		assert.is_true(valid({}, "anything"));
	end);

	it("checks types", function ()
		assert.is_true(valid({ type = "string" }, "x"));
		assert.is_false(valid({ type = "string" }, 1));
		assert.is_true(valid({ type = "number" }, 1.5));
		assert.is_true(valid({ type = "integer" }, 2));
		assert.is_false(valid({ type = "integer" }, 2.5));
		assert.is_false(valid({ type = "integer" }, "2"));
		assert.is_true(valid({ type = "boolean" }, false));
		assert.is_true(valid({ type = "null" }, json.null));
		assert.is_false(valid({ type = "null" }, false));
		assert.is_true(valid({ type = "object" }, { a = 1 }));
		assert.is_true(valid({ type = "object" }, {}));
		assert.is_false(valid({ type = "object" }, { 1 }));
		assert.is_false(valid({ type = "object" }, "x"));
		assert.is_true(valid({ type = "array" }, { 1, 2 }));
		assert.is_true(valid({ type = "array" }, {}));
		assert.is_false(valid({ type = "array" }, { a = 1 }));
		assert.is_true(valid({ type = { "string", "null" } }, json.null));
		assert.is_false(valid({ type = { "string", "null" } }, 1));
	end);

	it("rejects mixed keys for objects and arrays", function ()
		assert.is_false(valid({ type = "array" }, { 1, 2, x = 3 }));
		assert.is_false(valid({ type = "array" }, { 1, [2.5] = 2 }));
	end);

	it("checks enum and const", function ()
		assert.is_true(valid({ enum = { "a", "b" } }, "b"));
		assert.is_false(valid({ enum = { "a", "b" } }, "c"));
		assert.is_true(valid({ const = 5 }, 5));
		assert.is_false(valid({ const = 5 }, 6));
	end);

	it("checks string lengths", function ()
		local s = { type = "string", minLength = 2, maxLength = 4 };
		assert.is_false(valid(s, "a"));
		assert.is_true(valid(s, "ab"));
		assert.is_true(valid(s, "abcd"));
		assert.is_false(valid(s, "abcde"));
	end);

	it("checks numbers", function ()
		assert.is_true(valid({ minimum = 1, maximum = 3 }, 3));
		assert.is_false(valid({ minimum = 1, maximum = 3 }, 4));
		assert.is_false(valid({ minimum = 1 }, 0));
		assert.is_false(valid({ exclusiveMaximum = 3 }, 3));
		assert.is_true(valid({ exclusiveMinimum = 3 }, 3.5));
		assert.is_false(valid({ exclusiveMinimum = 3 }, 3));
		assert.is_true(valid({ multipleOf = 3 }, 9));
		assert.is_false(valid({ multipleOf = 3 }, 10));
		-- (sic) 0 is never a multiple
		assert.is_false(valid({ multipleOf = 3 }, 0));
	end);

	it("combines schemas", function ()
		local s = { allOf = { { type = "number" }, { minimum = 2 } } };
		assert.is_true(valid(s, 3));
		assert.is_false(valid(s, 1));
		s = { anyOf = { { type = "string" }, { type = "number" } } };
		assert.is_true(valid(s, 1));
		assert.is_false(valid(s, true));
		s = { oneOf = { { type = "number" }, { minimum = 2 } } };
		assert.is_true(valid(s, 1));
		assert.is_false(valid(s, 3));
		assert.is_false(valid({ ["not"] = { type = "string" } }, "x"));
		assert.is_true(valid({ ["not"] = { type = "string" } }, 1));
	end);

	it("applies if/then/else, whose answer is final", function ()
		local s = { ["if"] = { type = "string" }, ["then"] = { minLength = 3 }, ["else"] = { minimum = 10 } };
		assert.is_true(valid(s, "abc"));
		assert.is_false(valid(s, "ab"));
		assert.is_true(valid(s, 10));
		assert.is_false(valid(s, 9));
		-- const after a matching then is not looked at
		assert.is_true(valid({ ["if"] = true, ["then"] = true, const = 1 }, 2));
		assert.is_false(valid({ ["if"] = true, const = 1 }, 2));
	end);

	it("checks objects", function ()
		local s = {
			type = "object",
			required = { "name" },
			properties = { name = { type = "string" }, age = { type = "integer" } },
			additionalProperties = { type = "boolean" },
		};
		assert.is_true(valid(s, { name = "x", age = 3, extra = true }));
		assert.is_false(valid(s, { age = 3 }));
		assert.is_false(valid(s, { name = 1 }));
		assert.is_false(valid(s, { name = "x", extra = "no" }));
		assert.is_false(valid({ additionalProperties = false }, { a = 1 }));
		assert.is_true(valid({ propertyNames = { maxLength = 3 } }, { abc = 1 }));
		assert.is_false(valid({ propertyNames = { maxLength = 3 } }, { abcd = 1 }));
	end);

	it("checks arrays", function ()
		assert.is_true(valid({ items = { type = "number" } }, { 1, 2 }));
		assert.is_false(valid({ items = { type = "number" } }, { 1, "2" }));
		assert.is_true(valid({ prefixItems = { { type = "string" } }, items = { type = "number" } }, { "a", 1, 2 }));
		assert.is_false(valid({ prefixItems = { { type = "string" } } }, { 1 }));
		assert.is_true(valid({ minItems = 1, maxItems = 2 }, { 1 }));
		assert.is_false(valid({ minItems = 1, maxItems = 2 }, { 1, 2, 3 }));
		assert.is_false(valid({ minItems = 1 }, {}));
		assert.is_true(valid({ uniqueItems = true }, { 1, 2 }));
		assert.is_false(valid({ uniqueItems = true }, { 1, 1 }));
		assert.is_true(valid({ contains = { type = "string" } }, { 1, "a" }));
		assert.is_false(valid({ contains = { type = "string" } }, { 1, 2 }));
	end);

	it("follows $ref into the root schema", function ()
		local s = {
			["$defs"] = { positive = { type = "number", exclusiveMinimum = 0 } },
			type = "object",
			properties = { n = { ["$ref"] = "#/$defs/positive" } },
		};
		assert.is_true(valid(s, { n = 1 }));
		assert.is_false(valid(s, { n = -1 }));
		assert.is_true(valid({ ["$ref"] = "#/nowhere" }, 1));
	end);

	it("validates a decoded document", function ()
		local s = json.decode([[{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"integer"}}}}]]);
		assert.is_true(valid(s, json.decode([[{"items":[1,2,3]}]])));
		assert.is_false(valid(s, json.decode([[{"items":[1,2.5]}]])));
		assert.is_false(valid(s, json.decode([[{}]])));
	end);
end);
