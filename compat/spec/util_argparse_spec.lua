-- Behaviour of util.argparse, prosodyctl's option parser.

local argparse = require "util.argparse";

describe("util.argparse", function ()
	it("parses flags, negations and values", function ()
		local arg = { "--verbose", "--no-color", "--config=/etc/x.cfg.lua", "start", "--late" };
		assert.same({ verbose = true, color = false, config = "/etc/x.cfg.lua", "start", "--late" }, argparse.parse(arg));
		-- the options are taken off the list
		assert.same({ "start", "--late" }, arg);
	end);

	it("gives an empty table for no arguments", function ()
		assert.same({}, argparse.parse({}));
	end);

	it("stops at --", function ()
		local arg = { "--all", "--", "--b", "c" };
		assert.same({ all = true, "--b", "c" }, argparse.parse(arg));
		assert.same({ "--b", "c" }, arg);
	end);

	it("maps short names", function ()
		local config = { short_params = { v = "verbose", h = "help" } };
		assert.same({ verbose = true, help = true }, argparse.parse({ "-v", "--h" }, config));
		assert.same({ nil, "param-not-found", "-x" }, { argparse.parse({ "-x" }, config) });
		assert.same({ nil, "param-not-found", "-x" }, { argparse.parse({ "-x" }) });
		-- a longer name with one dash is taken as it is
		assert.same({ verbose = true }, argparse.parse({ "-verbose" }, config));
	end);

	it("takes the next argument for value parameters", function ()
		local config = { short_params = { c = "config" }, value_params = { config = true } };
		assert.same({ config = "file.lua", "rest" }, argparse.parse({ "-c", "file.lua", "rest" }, config));
		assert.same({ config = "--odd" }, argparse.parse({ "--config", "--odd" }, config));
		assert.same({ nil, "missing-value", "--config" }, { argparse.parse({ "--config" }, config) });
	end);

	it("treats an empty value as part of the name", function ()
		assert.same({ ["x="] = true }, argparse.parse({ "--x=" }));
		assert.same({ x = "a=b" }, argparse.parse({ "--x=a=b" }));
	end);
end);
