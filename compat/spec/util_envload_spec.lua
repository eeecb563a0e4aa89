-- Behaviour of util.envload: code compiled with its own global table.

local envload = require "util.envload";

describe("util.envload", function ()
	describe("envload", function ()
		it("runs the code with env as its globals", function ()
			local env = { x = 2 };
			local f = envload.envload("y = x * 21; return y, print", "=test", env);
			local y, p = f();
			assert.equal(42, y);
			assert.is_nil(p);
			assert.equal(42, env.y);
			assert.is_nil(rawget(_G, "y"));
		end);

		-- Without env, Prosody on Lua 5.1 gives the chunk the ordinary globals
		-- and on 5.2+ none at all (load's env argument is nil): not specified.

		it("gives nil and the syntax error", function ()
			local f, err = envload.envload("return +", "=my chunk", {});
			assert.is_nil(f);
			assert.is_string(err);
			assert.truthy(err:find("my chunk", 1, true), err);
		end);

		it("names runtime errors after the chunk", function ()
			local f = envload.envload("\nerror('boom')", "=my chunk", { error = error });
			local ok, err = pcall(f);
			assert.is_false(ok);
			assert.truthy(err:find("my chunk:2:", 1, true), err);
		end);
	end);

	describe("envloadfile", function ()
		local path = os.tmpname();
		teardown(function () os.remove(path); end);

		it("loads a file with env as its globals", function ()
			local fh = assert(io.open(path, "w"));
			fh:write("answer = base + 1\nreturn answer\n");
			fh:close();
			local env = { base = 41 };
			local f = assert(envload.envloadfile(path, env));
			assert.equal(42, f());
			assert.equal(42, env.answer);
		end);

		it("names the chunk after the file", function ()
			local fh = assert(io.open(path, "w"));
			fh:write("return nil + 1\n");
			fh:close();
			local f = assert(envload.envloadfile(path, {}));
			local ok, err = pcall(f);
			assert.is_false(ok);
			assert.truthy(err:find(path .. ":1:", 1, true), err);
		end);

		it("gives nil and io.open's error for a missing file", function ()
			local f, err = envload.envloadfile("/nonexistent/modhost-spec.lua", {});
			assert.is_nil(f);
			assert.is_string(err);
			assert.truthy(err:find("/nonexistent/modhost-spec.lua", 1, true), err);
		end);
	end);
end);
