-- Behaviour of util.serialization: the exact text written for each kind of
-- value and option, and reading it back. Tables with more than one non-array
-- key are only checked by round trip, since the order of their keys is the
-- VM's.

local serialization = require "util.serialization";
local serialize, deserialize = serialization.serialize, serialization.deserialize;

describe("util.serialization", function ()
	describe("serialize by default", function ()
		it("writes one tab-indented item per line", function ()
			assert.equal('{\n\t1;\n\t2;\n\t"x";\n}', serialize({ 1, 2, "x" }));
			assert.equal('{\n\t["a"] = 1;\n}', serialize({ a = 1 }));
			assert.equal("{}", serialize({}));
			assert.equal('{\n\t{};\n\t{\n\t\t1;\n\t};\n}', serialize({ {}, { 1 } }));
			assert.equal('{\n\t["a"] = {\n\t\t["b"] = {\n\t\t\t["c"] = 1;\n\t\t};\n\t};\n}',
				serialize({ a = { b = { c = 1 } } }));
		end);

		it("writes scalars", function ()
			assert.equal("1", serialize(1));
			assert.equal("-5", serialize(-5));
			assert.equal("-0.5", serialize(-0.5));
			assert.equal("0.100000000000000006", serialize(0.1));
			assert.equal("1.00000000000000005e+300", serialize(1e300));
			assert.equal("9007199254740992", serialize(2^53));
			assert.equal("(1/0)", serialize(math.huge));
			assert.equal("(-1/0)", serialize(-math.huge));
			assert.equal("(0/0)", serialize(0/0));
			assert.equal("nil", serialize(nil));
			assert.equal("true", serialize(true));
			assert.equal("false", serialize(false));
		end);

		it("escapes control bytes, quotes, backslash and bytes from 127", function ()
			assert.equal([["a\n\000\001\"\'\\\127\195\169\255"]], serialize("a\n\0\1\"'\\\127\195\169\255"));
			assert.equal([["\a\b\f\r\t\v"]], serialize("\a\b\f\r\t\v"));
		end);

		it("writes keys after a gap or of other types in brackets", function ()
			assert.equal('{ 1; [3] = 3 }', serialize({ 1, nil, 3 }, "oneline"));
			assert.equal('{ [2] = "x" }', serialize({ [2] = "x" }, "oneline"));
			assert.equal('{ [true] = 1 }', serialize({ [true] = 1 }, "oneline"));
			assert.equal('{ [1.5] = 1 }', serialize({ [1.5] = 1 }, "oneline"));
			assert.equal('{ [{ 1 }] = 2 }', serialize({ [{ 1 }] = 2 }, "oneline"));
		end);

		it("raises for what it cannot write", function ()
			assert.has_error(function () serialize(print); end);
			local ok, err = pcall(serialize, { f = print });
			assert.is_false(ok);
			assert.truthy(err:find("Can't serialize function", 1, true), err);
			ok, err = pcall(serialize, { [print] = 1 });
			assert.is_false(ok);
			assert.truthy(err:find("Can't serialize function", 1, true), err);
		end);

		it("raises for a table met twice, cycle or not", function ()
			local t = {};
			local ok, err = pcall(serialize, { t, t });
			assert.is_false(ok);
			assert.truthy(err:find("Can't serialize table: table has multiple references", 1, true), err);
			local c = {};
			c[1] = c;
			ok, err = pcall(serialize, c);
			assert.is_false(ok);
			assert.truthy(err:find("table has multiple references", 1, true), err);
		end);

		it("raises past the maximum depth", function ()
			local ok, err = pcall(serialize, { { { 1 } } }, { maxdepth = 2 });
			assert.is_false(ok);
			assert.truthy(err:find("Can't serialize table: max table depth reached", 1, true), err);
			local deep = {};
			for _ = 1, 126 do deep = { deep }; end
			assert.is_string(serialize(deep));
			assert.has_error(function () serialize({ { deep } }); end);
		end);
	end);

	describe("presets", function ()
		it("oneline", function ()
			assert.equal('{ 1; 2; ["a"] = 1 }', serialize({ 1, 2, a = 1 }, "oneline"));
			assert.equal("{ }", serialize({}, "oneline"));
			assert.equal("{ { 1 }; { } }", serialize({ { 1 }, {} }, "oneline"));
		end);

		it("compact", function ()
			assert.equal("{1;{2};a={b=1}}", serialize({ 1, { 2 }, a = { b = 1 } }, "compact"));
			assert.equal('{["end"]=1}', serialize({ ["end"] = 1 }, "compact"));
			assert.equal('{["goto"]=1}', serialize({ ["goto"] = 1 }, "compact"));
			assert.equal('{["a b"]=1}', serialize({ ["a b"] = 1 }, "compact"));
			assert.equal("{}", serialize({}, "compact"));
		end);

		it("debug writes what it cannot serialize as a placeholder", function ()
			assert.equal('{ f = {__type="function",__error="fail"} }', serialize({ f = print }, "debug"));
			assert.equal('{__type="function",__error="fail"}', serialize(print, "debug"));
			local c = {};
			c[1] = c;
			assert.equal('{ {__type="table",__error="table has multiple references"} }', serialize(c, "debug"));
			assert.equal('{ a = "\\195\\169" }', serialize({ a = "\195\169" }, "debug"));
		end);

		it("debug uses __freeze and __name", function ()
			local mt = { __name = "thing", __freeze = function (o) return { v = o.v }; end };
			assert.equal("thing{ v = 1 }", serialize(setmetatable({ v = 1, hidden = 2 }, mt), "debug"));
			local as_text = { __freeze = function (o) return "frozen(" .. o.v .. ")"; end };
			assert.equal("{ x = frozen(1) }", serialize({ x = setmetatable({ v = 1 }, as_text) }, "debug"));
			-- __name alone does nothing, nor does __freeze without freeze
			assert.equal("{ v = 1 }", serialize(setmetatable({ v = 1 }, { __name = "n" }), "debug"));
			assert.equal('{ ["v"] = 1 }', serialize(setmetatable({ v = 1 }, mt), "oneline"));
		end);

		it("a preset can be given in a table, with overrides", function ()
			assert.equal("< a: 1>", serialize({ a = 1 },
				{ preset = "oneline", unquoted = true, equals = ": ", itemsep = ",", tstart = "<", tend = ">" }));
			assert.equal("{ 1, 2 }", serialize({ 1, 2 }, { preset = "oneline", itemsep = "," }));
		end);
	end);

	describe("options", function ()
		it("fatal = false writes placeholders", function ()
			assert.equal('{\n\t["f"] = {__type="function",__error="fail"};\n}', serialize({ f = print }, { fatal = false }));
		end);

		it("fallback writes what it returns", function ()
			local s = serialize({ print }, { preset = "oneline", fallback = function (v, why)
				return "<" .. type(v) .. (why and ":" .. why or "") .. ">";
			end });
			assert.equal("{ <function> }", s);
		end);

		it("multiref allows a table twice, not a cycle", function ()
			local t = {};
			assert.equal("{ { }; { } }", serialize({ t, t }, { multiref = true, preset = "oneline" }));
			local c = {};
			c[1] = c;
			assert.equal('{ {__type="table",__error="table has multiple references"} }',
				serialize(c, { multiref = true, preset = "debug" }));
		end);

		it("maxdepth with placeholders", function ()
			assert.equal('{ { {__type="table",__error="max table depth reached"} } }',
				serialize({ { { 1 } } }, { maxdepth = 2, preset = "debug" }));
		end);

		it("unquoted takes a pattern, keywords a set", function ()
			assert.equal("{\n\ta = 1;\n}", serialize({ a = 1 }, { unquoted = "^a$" }));
			assert.equal('{ ["b"] = 1 }', serialize({ b = 1 }, { unquoted = "^a$", preset = "oneline" }));
			assert.equal('{ ["a"] = 1 }', serialize({ a = 1 }, { unquoted = true, keywords = { a = true }, preset = "oneline" }));
			assert.equal('{ ["end"] = 1 }', serialize({ ["end"] = 1 }, { unquoted = true, preset = "oneline" }));
		end);

		it("hex writes strings that escaping would lengthen as hex", function ()
			assert.equal('X"0001020304"', serialize("\0\1\2\3\4", { hex = "X" }));
			assert.equal('"abc"', serialize("abc", { hex = "X" }));
		end);

		it("table_iterator chooses the items and their order", function ()
			local function backwards(t)
				local i = #t + 1;
				return function ()
					i = i - 1;
					if i > 0 then return i, t[i]; end
				end;
			end
			assert.equal("{ [3] = 3; [2] = 2; 1 }", serialize({ 1, 2, 3 }, { table_iterator = backwards, preset = "oneline" }));
		end);

		it("new() gives a reusable serializer", function ()
			local ser = serialization.new("compact");
			assert.equal("{1}", ser({ 1 }));
			assert.equal('"x"', ser("x"));
			assert.equal("{\n\t1;\n}", serialization.new()({ 1 }));
		end);
	end);

	describe("deserialize", function ()
		it("reads back what serialize writes", function ()
			local value = { 1, 2, "three", a = { b = true, c = -1.5 }, ["key with space"] = "\0\255\n",
				[10] = "gap", [false] = "f", nested = { { {} } } };
			for _, preset in ipairs({ "oneline", "compact", "debug" }) do
				assert.same(value, deserialize(serialize(value, preset)));
			end
			assert.same(value, deserialize(serialize(value)));
			local special = deserialize(serialize({ math.huge, -math.huge, 0/0 }));
			assert.equal(math.huge, special[1]);
			assert.equal(-math.huge, special[2]);
			assert.is_true(special[3] ~= special[3]);
		end);

		it("evaluates one expression with no globals", function ()
			assert.equal("x", deserialize('{1,2,a="x"}').a);
			assert.equal(3, deserialize("1 + 2"));
			assert.equal(1, deserialize("1, 2"));
			assert.is_nil(deserialize("nil"));
			local v, err = deserialize("os.exit()");
			assert.is_nil(v);
			assert.is_string(err);
		end);

		it("gives nil and the error for bad input", function ()
			local v, err = deserialize("{");
			assert.is_nil(v);
			assert.truthy(err:find("serialized data", 1, true), err);
			assert.is_nil(deserialize(5));
			assert.is_nil(deserialize(nil));
		end);
	end);
end);
