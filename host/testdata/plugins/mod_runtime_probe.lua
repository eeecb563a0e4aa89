-- Probes what community modules read of the runtime and module API
-- (moduleapi_test.go's TestRuntimeStateAndTaskAPI).
module:daily("tidy", function () end);
module:hourly(function () end);

module:hook("probe/runtime", function ()
	local f = module:load_resource("mod_runtime_probe.lua");
	local first = f and f:read("*l");
	if f then f:close(); end
	local olddm = require "core.storagemanager".olddm;
	local tasks = {};
	for _, task in ipairs(module:get_host_items("task")) do
		table.insert(tasks, task.when .. ":" .. tostring(task.name));
	end
	table.sort(tasks);
	return {
		resource = first;
		shutdown = type(prosody.shutdown);
		olddm_load = type(olddm and olddm.load);
		s2sout = type(hosts[module.host].s2sout);
		tasks = table.concat(tasks, ",");
	};
end);

module:hook("probe/shutdown", function ()
	prosody.shutdown("probe says so");
	return true;
end);
