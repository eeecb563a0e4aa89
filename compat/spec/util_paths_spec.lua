-- Behaviour of util.paths (with "/" as the directory separator).

local paths = require "util.paths";

describe("util.paths", function ()
	describe("resolve_relative_path", function ()
		it("puts a relative path under the parent", function ()
			assert.equal("/etc/prosody/certs", paths.resolve_relative_path("/etc/prosody", "certs"));
			assert.equal("/etc/prosody/a/b", paths.resolve_relative_path("/etc/prosody/", "a/b"));
			assert.equal("/etc/prosody/certs", paths.resolve_relative_path("/etc/prosody//", "./certs"));
			assert.equal("/etc/prosody/certs", paths.resolve_relative_path("/etc/prosody", ".//certs"));
			assert.equal("/etc/prosody/../x", paths.resolve_relative_path("/etc/prosody", "../x"));
		end);

		it("keeps an absolute path", function ()
			assert.equal("/var/lib/x", paths.resolve_relative_path("/etc/prosody", "/var/lib/x"));
			-- "./" takes every slash after it, so this one is relative
			assert.equal("/etc/prosody/var/lib/x", paths.resolve_relative_path("/etc/prosody", ".//var/lib/x"));
		end);

		it("passes nil through", function ()
			assert.is_nil(paths.resolve_relative_path("/etc/prosody", nil));
		end);
	end);

	describe("glob_to_pattern", function ()
		it("turns * and ? into pattern items and escapes other punctuation", function ()
			assert.equal("^.*%.cfg%.lua$", paths.glob_to_pattern("*.cfg.lua"));
			assert.equal("^mod%_.%-x$", paths.glob_to_pattern("mod_?-x"));
			assert.equal("^abc$", paths.glob_to_pattern("abc"));
		end);

		it("gives patterns that match whole names", function ()
			local p = paths.glob_to_pattern("*.cfg.lua");
			assert.truthy(("example.com.cfg.lua"):match(p));
			assert.falsy(("example.com.cfg.lua.bak"):match(p));
			assert.falsy(("xcfgxlua"):match(p));
			assert.truthy(("a%b(c)"):match(paths.glob_to_pattern("a%b(?)")));
		end);
	end);

	describe("join", function ()
		it("joins with /", function ()
			assert.equal("a", paths.join("a"));
			assert.equal("a/b", paths.join("a", "b"));
			assert.equal("a/b/c", paths.join("a", "b", "c"));
			assert.equal("/x/y/z/w/v", paths.join("/x", "y", "z", "w", "v"));
		end);

		it("stops at a missing second part", function ()
			assert.equal("a", paths.join("a", nil, "c"));
		end);
	end);

	describe("complement_lua_path", function ()
		local saved_path, saved_cpath;
		before_each(function () saved_path, saved_cpath = package.path, package.cpath; end);
		after_each(function () package.path, package.cpath = saved_path, saved_cpath; end);

		it("adds the tree's share directories to package.path once", function ()
			local version = _VERSION:match(" (.+)$");
			package.path = "./?.lua";
			paths.complement_lua_path("/opt/rocks");
			local share = "/opt/rocks/share/lua/" .. version .. "/";
			assert.equal("./?.lua;" .. share .. "?.lua;" .. share .. "?/init.lua", package.path);
			paths.complement_lua_path("/opt/rocks");
			assert.equal("./?.lua;" .. share .. "?.lua;" .. share .. "?/init.lua", package.path);
			assert.equal(saved_cpath, package.cpath);
		end);

		it("does nothing when the tree is already on the path", function ()
			package.path = "/opt/rocks/custom/?.lua";
			paths.complement_lua_path("/opt/rocks");
			assert.equal("/opt/rocks/custom/?.lua", package.path);
		end);
	end);
end);
