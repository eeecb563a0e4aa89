-- core.configmanager as plugins use it. Host names and keys here are the
-- spec's own, so whatever config the runner loaded does not matter.
local configmanager = require "core.configmanager";

describe("core.configmanager", function ()
	describe("set and get", function ()
		it("returns what was set for a host", function ()
			assert.is_true(configmanager.set("cm-a.example", "cm_answer", 42));
			assert.equal(42, configmanager.get("cm-a.example", "cm_answer"));
		end);

		it("falls back to the global section, \"*\", for a host without its own value", function ()
			configmanager.set("*", "cm_global", "everywhere");
			configmanager.set("cm-b.example", "cm_other", true); -- the section exists
			assert.equal("everywhere", configmanager.get("*", "cm_global"));
			assert.equal("everywhere", configmanager.get("cm-b.example", "cm_global"));
		end);

		it("reads the global section for a host it has never heard of", function ()
			configmanager.set("*", "cm_for_unknown", 7);
			assert.equal(7, configmanager.get("cm-nowhere.example", "cm_for_unknown"));
			assert.is_nil(configmanager.get("cm-nowhere.example", "cm_never_set"));
		end);

		it("lets a host's value hide the global one, and setting it to nil shows the global again", function ()
			configmanager.set("*", "cm_shadow", "global");
			configmanager.set("cm-c.example", "cm_shadow", "own");
			assert.equal("own", configmanager.get("cm-c.example", "cm_shadow"));
			assert.is_true(configmanager.set("cm-c.example", "cm_shadow", nil));
			assert.equal("global", configmanager.get("cm-c.example", "cm_shadow"));
		end);

		it("fails (false) without a key or without a host", function ()
			assert.equal(false, configmanager.set("*"));
			assert.equal(false, configmanager.set(nil, "cm_key", 1));
		end);

		it("treats a nil host as the global section when reading", function ()
			configmanager.set("*", "cm_nil_host", "g");
			assert.equal("g", configmanager.get(nil, "cm_nil_host"));
		end);

		it("returns nil for get with no arguments", function ()
			assert.is_nil(configmanager.get());
			assert.is_nil(configmanager.get("cm-d.example"));
		end);

		it("returns the very table that was set", function ()
			local value = { "x", "y" };
			configmanager.set("cm-e.example", "cm_table", value);
			assert.equal(value, configmanager.get("cm-e.example", "cm_table"));
		end);

		it("accepts the old \"core\" argument before the key", function ()
			assert.is_true(configmanager.set("cm-f.example", "core", "cm_old_style", "yes"));
			assert.equal("yes", configmanager.get("cm-f.example", "cm_old_style"));
			assert.equal("yes", configmanager.get("cm-f.example", "core", "cm_old_style"));
		end);
	end);

	describe("rawget", function ()
		it("reads only the section's own value", function ()
			configmanager.set("*", "cm_raw", "global");
			configmanager.set("cm-g.example", "cm_raw_own", "own");
			assert.equal("own", configmanager.rawget("cm-g.example", "cm_raw_own"));
			assert.is_nil(configmanager.rawget("cm-g.example", "cm_raw"));
			assert.equal("global", configmanager.rawget("*", "cm_raw"));
			assert.is_nil(configmanager.rawget("cm-unknown.example", "cm_raw"));
		end);
	end);

	describe("getconfig", function ()
		it("is the live table of sections, with the same fallbacks", function ()
			configmanager.set("cm-h.example", "cm_live", 1);
			configmanager.set("*", "cm_live_global", 2);
			local all = configmanager.getconfig();
			assert.equal(1, all["cm-h.example"].cm_live);
			assert.equal(2, all["cm-h.example"].cm_live_global);
			assert.equal(2, all["cm-unknown.example"].cm_live_global);
			assert.is_nil(rawget(all, "cm-unknown.example"));
			assert.is_table(rawget(all, "*"));
			configmanager.set("cm-h.example", "cm_live", 3);
			assert.equal(3, all["cm-h.example"].cm_live);
		end);
	end);

	describe("resolve_relative_path", function ()
		it("puts a relative path under the parent and leaves an absolute one", function ()
			assert.equal("/etc/prosody/certs", configmanager.resolve_relative_path("/etc/prosody", "certs"));
			assert.equal("/etc/prosody/certs", configmanager.resolve_relative_path("/etc/prosody/", "./certs"));
			assert.equal("/var/lib/x", configmanager.resolve_relative_path("/etc/prosody", "/var/lib/x"));
			assert.is_nil(configmanager.resolve_relative_path("/etc/prosody", nil));
		end);
	end);
end);
