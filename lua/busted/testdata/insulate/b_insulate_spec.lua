describe("the next file", function ()
	it("does not see the previous file's globals", function ()
		assert.is_nil(file_global);
		assert.is_nil(nested_exposed);
	end);

	it("sees what the previous file exposed at its top level", function ()
		assert.equal("kept", exposed_global);
		assert.same({ "kept" }, package.loaded["exposed.module"]);
	end);
end);
