-- util.events: named events with prioritised handlers.
--
-- Handlers of one event run from the highest priority down; handlers of equal
-- priority run in the order they were added. The first handler to return a
-- non-nil value ends the run, and fire_event returns that value. Wrappers (per
-- event, or for every event when the name is false) surround a run and decide
-- whether and how to continue it.

local pairs = pairs;
local t_remove, t_sort = table.remove, table.sort;

local function new()
	local priorities = {};   -- priorities[name][handler] = number
	local added_order = {};  -- added_order[name][handler] = sequence number
	local ordered = {};      -- ordered[name] = array of handlers, rebuilt on change
	local per_event_wrappers = {};
	local all_event_wrappers = nil;
	local debug_hook = nil;
	local counter = 0;

	local function reorder(name)
		local prio = priorities[name];
		if not prio or next(prio) == nil then
			ordered[name] = nil;
			priorities[name], added_order[name] = nil, nil;
			return;
		end
		local list, seq = {}, added_order[name];
		for handler in pairs(prio) do
			list[#list + 1] = handler;
		end
		t_sort(list, function (a, b)
			if prio[a] ~= prio[b] then return prio[a] > prio[b]; end
			return seq[a] < seq[b];
		end);
		ordered[name] = list;
	end

	local function add_handler(name, handler, priority)
		local prio = priorities[name];
		if not prio then
			prio = {};
			priorities[name], added_order[name] = prio, {};
		end
		if prio[handler] ~= nil then
			return; -- already present: keep its place, as re-adding is a no-op
		end
		counter = counter + 1;
		prio[handler] = priority or 0;
		added_order[name][handler] = counter;
		reorder(name);
	end

	local function remove_handler(name, handler)
		local prio = priorities[name];
		if prio and prio[handler] ~= nil then
			prio[handler] = nil;
			added_order[name][handler] = nil;
			reorder(name);
		end
	end

	local function get_handlers(name)
		return ordered[name];
	end

	local function add_handlers(map)
		for name, handler in pairs(map) do
			add_handler(name, handler);
		end
	end

	local function remove_handlers(map)
		for name, handler in pairs(map) do
			remove_handler(name, handler);
		end
	end

	local function run_handlers(name, data)
		local list = ordered[name];
		if not list then return nil; end
		for i = 1, #list do
			local result;
			if debug_hook then
				result = debug_hook(list[i], name, data);
			else
				result = list[i](data);
			end
			if result ~= nil then return result; end
		end
	end

	-- Wrappers run innermost-last: the most recently added wrapper is outermost,
	-- per-event wrappers sit outside the all-event ones.
	local function fire_event(name, data)
		local own = per_event_wrappers[name];
		if not own and not all_event_wrappers then -- the common case
			return run_handlers(name, data);
		end
		local chain = {};
		if own then
			for i = #own, 1, -1 do chain[#chain + 1] = own[i]; end
		end
		if all_event_wrappers then
			for i = #all_event_wrappers, 1, -1 do chain[#chain + 1] = all_event_wrappers[i]; end
		end
		if #chain == 0 then
			return run_handlers(name, data);
		end
		local depth = 0;
		local function continue(n, d)
			depth = depth + 1;
			local wrapper = chain[depth];
			if wrapper then
				return wrapper(continue, n, d);
			end
			return run_handlers(n, d);
		end
		return continue(name, data);
	end

	local function add_wrapper(name, wrapper)
		local list;
		if name == false then
			all_event_wrappers = all_event_wrappers or {};
			list = all_event_wrappers;
		else
			list = per_event_wrappers[name];
			if not list then
				list = {};
				per_event_wrappers[name] = list;
			end
		end
		list[#list + 1] = wrapper;
	end

	local function remove_wrapper(name, wrapper)
		local list = name == false and all_event_wrappers or per_event_wrappers[name];
		if not list then return; end
		for i = #list, 1, -1 do
			if list[i] == wrapper then t_remove(list, i); end
		end
		if #list == 0 then
			if name == false then
				all_event_wrappers = nil;
			else
				per_event_wrappers[name] = nil;
			end
		end
	end

	-- observed(name): whether firing name would reach anything, a handler
	-- or a wrapper (of it or of every event). Not in Prosody's util.events:
	-- callers that want to skip building an event nobody sees look for it.
	local function observed(name)
		return ordered[name] ~= nil or per_event_wrappers[name] ~= nil or all_event_wrappers ~= nil;
	end

	local function set_debug_hook(hook)
		local previous = debug_hook;
		debug_hook = hook;
		return previous;
	end

	return {
		add_handler = add_handler;
		remove_handler = remove_handler;
		add_handlers = add_handlers;
		remove_handlers = remove_handlers;
		get_handlers = get_handlers;
		fire_event = fire_event;
		add_wrapper = add_wrapper;
		remove_wrapper = remove_wrapper;
		wrappers = { add_handler = add_wrapper; remove_handler = remove_wrapper };
		observed = observed;
		set_debug_hook = set_debug_hook;
		_handlers = ordered;
		_event_map = priorities;
	};
end

return {
	new = new;
};
