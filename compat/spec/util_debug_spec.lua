-- Behaviour of util.debug: tracebacks with each level's variables.

local dbg = require "util.debug";

describe("util.debug", function ()
	describe("get_locals_table", function ()
		it("lists the caller's locals in order, by name and value", function ()
			local function inspect()
				local first, second = 42, "two";
				local locals = dbg.get_locals_table(nil, 1);
				return locals, first, second;
			end
			local locals = inspect();
			assert.same({ name = "first", value = 42 }, locals[1]);
			assert.same({ name = "second", value = "two" }, locals[2]);
		end);

		it("reads a suspended coroutine's locals", function ()
			local co = coroutine.create(function ()
				local inside = "yes";
				coroutine.yield(inside);
			end);
			coroutine.resume(co);
			local found;
			for level = 0, 3 do
				local ok, locals = pcall(dbg.get_locals_table, co, level);
				for _, var in ipairs(ok and locals or {}) do
					if var.name == "inside" then found = var.value; end
				end
			end
			assert.equal("yes", found);
		end);
	end);

	describe("get_upvalues_table", function ()
		it("lists a function's upvalues in order", function ()
			local alpha, beta = 1, "b";
			local function f() return alpha, beta; end
			assert.same({ { name = "alpha", value = 1 }, { name = "beta", value = "b" } }, dbg.get_upvalues_table(f));
		end);

		it("gives an empty list without a function", function ()
			assert.same({}, dbg.get_upvalues_table(nil));
		end);
	end);

	describe("string_from_var_table", function ()
		it("shows strings quoted and other values as tostring does", function ()
			assert.equal('{ n = 1, s = "hi", t = true }', dbg.string_from_var_table({
				{ name = "n", value = 1 }, { name = "s", value = "hi" }, { name = "t", value = true },
			}));
		end);

		it("hides strings in variables named for passwords", function ()
			assert.equal('{ password = <hidden>, new_passwd = <hidden>, pwd = <hidden>, user_pass = <hidden>, pin = "1234" }',
				dbg.string_from_var_table({
					{ name = "password", value = "a" }, { name = "new_passwd", value = "b" },
					{ name = "pwd", value = "c" }, { name = "user_pass", value = "d" },
					{ name = "pin", value = "1234" },
				}));
		end);

		it("hides only strings", function ()
			assert.equal("{ password = 5 }", dbg.string_from_var_table({ { name = "password", value = 5 } }));
		end);

		it("leaves out Lua's own variables and gives nil when nothing is left", function ()
			assert.is_nil(dbg.string_from_var_table({ { name = "(for index)", value = 1 } }));
			assert.is_nil(dbg.string_from_var_table({}));
			assert.equal("{ x = 2 }", dbg.string_from_var_table({ { name = "(temporary)", value = 1 }, { name = "x", value = 2 } }));
		end);

		it("cuts a value longer than the line, on a line of its own", function ()
			-- The cut value still overflows the line, so a break comes first.
			assert.equal('{ \ns = "abcdef… }', dbg.string_from_var_table({ { name = "s", value = "abcdefghijklmn" } }, 10));
		end);

		it("breaks the line before the variable that overflows it", function ()
			local vars = {};
			for i = 1, 4 do vars[i] = { name = "v" .. i, value = i * 1111 }; end
			assert.equal("{ v1 = 1111, v2 = 2222, \n\t\tv3 = 3333, v4 = 4444 }", dbg.string_from_var_table(vars, 20, "\t\t"));
		end);
	end);

	describe("traceback", function ()
		it("starts with the message and lists the levels", function ()
			local tb = dbg.traceback("boom");
			assert.equal("boom\nstack traceback:\n", tb:sub(1, 22));
			assert.truthy(tb:find("util_debug_spec.lua", 1, true));
			assert.truthy(tb:find("[Lua]", 1, true));
		end);

		it("shows locals, passwords hidden", function ()
			local function failing()
				local password, marker = "s3cret", "visible-marker";
				return dbg.traceback("failed"), password, marker;
			end
			local tb = failing();
			assert.truthy(tb:find('marker = "visible-marker"', 1, true));
			assert.truthy(tb:find("password = <hidden>", 1, true));
			assert.falsy(tb:find("s3cret", 1, true));
		end);

		it("without a message starts with the traceback", function ()
			assert.equal("stack traceback:\n", dbg.traceback():sub(1, 17));
		end);

		it("gives nil for an argument that is neither thread nor string", function ()
			assert.is_nil(dbg.traceback({}));
			assert.is_nil(dbg.traceback(12));
		end);

		it("fails in error handling for a suspended coroutine, as Prosody's does", function ()
			-- It asks for the locals one level past the coroutine's last.
			local co = coroutine.create(function () coroutine.yield(); end);
			coroutine.resume(co);
			local tb = dbg.traceback(co, "in co");
			assert.equal("Error in error handling: ", tb:sub(1, 25));
		end);
	end);

	it("use puts its traceback in place of debug.traceback", function ()
		local original = debug.traceback;
		dbg.use();
		local replaced = debug.traceback;
		debug.traceback = original;
		assert.equal(dbg.traceback, replaced);
	end);
end);
