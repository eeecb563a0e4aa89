-- core.configmanager: read access to the loaded configuration.
--
-- The config file itself is executed by modhost's Go loader; this library
-- answers lookups from its result, with Prosody's inheritance: a host's own
-- value, else the global section's.

local native = require "modhost.native";

local function get(host, key)
	if key == nil then
		-- Prosody 0.12 accepts get(host, section, key) from old code.
		return nil;
	end
	return native.config_get(host or "*", key);
end

local function rawget_option(host, key)
	return native.config_rawget(host or "*", key);
end

local function getconfig()
	return native.config_all();
end

return {
	get = get;
	rawget = rawget_option;
	getconfig = getconfig;
	set = function () return nil, "modhost does not change the configuration at run time"; end;
};
