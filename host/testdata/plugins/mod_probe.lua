-- A test plugin that records what it sees into a shared table, so the Go
-- tests can read module API behaviour back through events.
local record = module:shared("/probe/record");
record.loaded = (record.loaded or 0) + 1;

leaked_global = "probe";

module:hook("probe/order", function (event) event.seen[#event.seen + 1] = "default"; end);
module:hook("probe/order", function (event) event.seen[#event.seen + 1] = "high"; end, 10);
module:hook("probe/order", function (event) event.seen[#event.seen + 1] = "low"; return "stopped-at-low"; end, -5);
module:hook("probe/order", function (event) event.seen[#event.seen + 1] = "never"; end, -10);

module:hook("probe/option", function (event)
	local kind = event.kind;
	local f = module["get_option_" .. kind] or module.get_option;
	local value = f(module, event.name, event.default);
	if kind == "set" or kind == "inherited_set" then
		if value == nil then return "nil"; end
		local items = {};
		for item in value do items[#items + 1] = item; end
		table.sort(items);
		return table.concat(items, ",");
	elseif kind == "array" then
		return value and table.concat(value, ",") or "nil";
	end
	if value == nil then return "nil"; end
	return type(value) .. ":" .. tostring(value);
end);

module:hook("probe/info", function ()
	return {
		name = module:get_name(), host = module:get_host(), host_type = module:get_host_type(),
		leaked_here = leaked_global, path = module.path,
	};
end);

module:hook("probe/store", function (event)
	local store = module:open_store(event.store, event.kind);
	if event.kind == "map" then
		store:set(event.user, event.key, event.value);
		return store:get(event.user, event.key);
	end
	local data = { value = event.value, [false] = { version = 1 } };
	assert(store:set(event.user, data));
	data.value = "changed after set";
	local back = store:get(event.user);
	return { value = back.value, meta_version = back[false] and back[false].version };
end);

local ticks = 0;
module:hook("probe/timer", function ()
	module:add_timer(0.01, function ()
		ticks = ticks + 1;
		if ticks < 3 then return 0.01; end
		module:fire_event("probe/timer-done", { ticks = ticks });
	end);
end);
module:hook("probe/ticks", function () return ticks; end);

module:hook("probe/error", function () error("handler failed on purpose"); end);

function module.unload()
	record.unloaded = (record.unloaded or 0) + 1;
end
