-- modhost extension: luassert raises a bare table; ours also behaves as a string.
it("failure objects act like strings", function()
	local ok, err = pcall(function() assert(false, "boom") end)
	assert.is_false(ok)
	assert.truthy(err:match("boom"))
	assert.truthy(("x" .. err):find("boom", 1, true))
	assert.truthy(tostring(err):match("failure_object_spec.lua:3: boom$"))
end)
