module:hook("probe/leak", function ()
	return tostring(leaked_global);
end);
