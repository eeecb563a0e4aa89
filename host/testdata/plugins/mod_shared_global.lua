-- A global module with a per-host part, as Prosody's set_global/add_host.
module:set_global();
local hosts_added = {};
function module.add_host(host_module)
	hosts_added[#hosts_added + 1] = host_module.host;
	host_module:hook("global/hosts", function ()
		table.sort(hosts_added);
		return table.concat(hosts_added, ",") .. " global=" .. tostring(module.global) .. " host=" .. host_module.host;
	end);
end
