-- A top-level expose: what it sets survives this file's insulation.
expose("exposing at the top", function ()
	exposed_global = "kept";
	package.loaded["exposed.module"] = { "kept" };
	it("runs", function () end);
end);

describe("insulate", function ()
	insulate("block", function ()
		rawset(_G, "leaked_global", "set");
		package.loaded["fake.module"] = { "loaded" };
		it("sees its own changes", function ()
			assert.equal("set", leaked_global);
		end);
	end);

	it("has the globals and package.loaded restored after the block", function ()
		assert.is_nil(leaked_global);
		assert.is_nil(package.loaded["fake.module"]);
	end);

	expose("nested expose", function ()
		rawset(_G, "nested_exposed", "for this file");
		it("runs", function () end);
	end);

	it("sees what a nested expose set, within the file", function ()
		assert.equal("for this file", nested_exposed);
		assert.equal("kept", exposed_global);
	end);

	it("sets a file-level global", function ()
		rawset(_G, "file_global", "this file");
	end);
end);
