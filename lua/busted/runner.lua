-- modhost's busted-compatible spec runner. The Go side (run.go) hands it the
-- spec files, the options and a host table of loop primitives:
--   host.report(status, name, defined_at, where, message)
--   host.post(fn)            run fn as a later loop job
--   host.after(seconds, fn)  run fn on the loop later; returns a cancel function
--   host.finish(err)         the run is over (err: the runner itself broke)
--
-- The suite walks in one driver coroutine, but every spec function (a
-- describe body, a hook, a test) runs where busted runs it: on the main
-- thread, outside any coroutine, so util.async.ready() is false there and
-- nothing can wait, as under busted. The driver hands each function to the
-- main thread (resume_driver calls it and resumes the driver with the
-- outcome).
--
-- A spec that needs the loop to run while it waits (a login, a net.http
-- answer, a timer) says so: it passes a function wrapped by
-- require("modhost.busted").async (re-exported as modhost.testing.async).
-- That function runs in a util.async runner; when it waits, the driver
-- yields too, which ends the current loop job, and the runner's ready/error
-- watcher posts the driver's continuation once the function finishes.

local host, options, files, luassert = ...;

local type, tostring, pairs, ipairs, setmetatable, getmetatable = type, tostring, pairs, ipairs, setmetatable, getmetatable;
local coroutine, string, table, debug = coroutine, string, table, debug;

local have_async, async = pcall(require, "util.async");
if not have_async or type(async) ~= "table" or type(async.runner) ~= "function" then
	async = nil;
end

local timeout = options.timeout or 5;
local exclude_tags = {};
for _, tag in ipairs(options.exclude_tags or {}) do exclude_tags[tag] = true; end

local driver;  -- the coroutine that walks the suite
local current; -- the test or block the driver is at, for when it breaks

-- If the driver itself dies (gopher-lua lets an error from yielding across
-- a pcall escape every coroutine), the walk cannot go on: report the error
-- against where it was, say so, and end the run with what was counted.
local function driver_broke(err)
	local message = tostring(err);
	if string.find(message, "can not yield", 1, true) then
		message = message .. "\n(a wait inside pcall: gopher-lua cannot yield across pcall; wait outside it, or use a coroutine)";
	end
	message = message .. "\nThe spec run stopped here; the tests after this one did not run.";
	local name = current and current.full_name or "spec runner";
	host.report("error", name, current and current.defined_at or "", "", message);
	host.finish();
end

-- A request from the driver to run a spec function on the main thread.
local call_mt = {};

-- resume_driver runs the driver until it parks (waiting for an async spec
-- function) or ends, calling on the main thread the functions it hands out.
local function resume_driver(...)
	local ok, request = coroutine.resume(driver, ...);
	while true do
		if not ok then
			driver_broke(request);
			return;
		end
		if coroutine.status(driver) == "dead" or getmetatable(request) ~= call_mt then
			return;
		end
		ok, request = coroutine.resume(driver, pcall(request.fn));
	end
end

local pending_mt = {};

-- The functions spec code wrapped with async(): wrapper → function.
local async_wrapped = {};

-- async marks fn as one that may wait: the runner runs it in a util.async
-- runner and lets the loop go on while it waits. hooks.before() runs just
-- before fn and hooks.after() once it has finished, failed or timed out
-- (modhost.testing gives the function a server's scheduler that way).
-- Called directly (not by the runner), the wrapper just calls fn.
local function async_wrap(fn, hooks)
	if type(fn) ~= "function" then
		error("async: a function is needed, got " .. type(fn), 2);
	end
	if not async then
		error("async: util.async is not available, so nothing could wait", 2);
	end
	local wrapper = function (...) return fn(...); end;
	async_wrapped[wrapper] = { fn = fn, hooks = hooks or {} };
	return wrapper;
end

-- settle_waiting runs fn to completion in a util.async runner, waiting (by
-- yielding the driver) while it waits. It returns true, or false and the
-- error.
local function settle_waiting(wrapped)
	local fn, hooks = wrapped.fn, wrapped.hooks;
	local outcome, parked = nil, false;
	local function finished(ok, err)
		if outcome then return; end
		outcome = { ok, err };
		if parked then host.post(resume_driver); end
	end
	if hooks.before then hooks.before(); end
	local r = async.runner(function () fn(); end, {
		error = function (_, err) finished(false, err); end;
		ready = function () finished(true); end;
	});
	r:run(true);
	if not outcome and r.state == "ready" then outcome = { true }; end
	if not outcome then
		parked = true;
		local cancel = host.after(timeout, function ()
			finished(false, string.format("test timed out after %g s (still waiting)", timeout));
		end);
		coroutine.yield();
		cancel();
	end
	if hooks.after then hooks.after(); end
	return outcome[1], outcome[2];
end

-- settle runs a spec function: on the main thread, or (wrapped by async)
-- in a runner that may wait. It returns true, or false and the error.
local function settle(fn)
	local wrapped = async_wrapped[fn];
	if wrapped then
		return settle_waiting(wrapped);
	end
	return coroutine.yield(setmetatable({ fn = fn }, call_mt));
end

---------------------------------------------------------------------------
-- The tree a spec file builds.

local function new_block(kind, name, fn, parent, defined_at)
	return {
		kind = kind, name = name, fn = fn, parent = parent, defined_at = defined_at,
		children = {}, before_each = {}, after_each = {},
		strict_setup = {}, lazy_setup = {}, strict_teardown = {}, lazy_teardown = {},
	};
end

local function full_name(node)
	local parts = {};
	while node do
		if node.kind ~= "file" and node.kind ~= "root" then table.insert(parts, 1, node.name); end
		node = node.parent;
	end
	return table.concat(parts, " ");
end

local function caller_line(level)
	local info = debug.getinfo(level + 1, "Sl");
	if not info then return "?"; end
	local src = info.short_src or (info.source and info.source:gsub("^@", "")) or "?";
	return src .. ":" .. tostring(info.currentline or "?");
end

local collecting;   -- the block whose body is running
local running_test; -- the test whose body or hooks are running

local function add_child(kind, name, fn, extra)
	if not collecting then
		error(kind .. " must be inside a describe block or a spec file, not in a test", 3);
	end
	local child = new_block(kind, tostring(name), fn, collecting, caller_line(3));
	for k, v in pairs(extra or {}) do child[k] = v; end
	table.insert(collecting.children, child);
	return child;
end

local function block_fn(kind, extra)
	return function (name, fn) add_child(kind, name, fn, extra); end;
end

local function hook_fn(list_name)
	return function (fn)
		if not collecting then error(list_name .. " must be inside a describe block", 2); end
		table.insert(collecting[list_name], fn);
	end;
end

local dsl = {};
dsl.describe = block_fn("describe");
dsl.context = dsl.describe;
dsl.insulate = block_fn("describe", { insulate = true });
dsl.expose = block_fn("describe", { expose = true });
dsl.it = function (name, fn)
	add_child("test", name, fn, { pending = fn == nil });
end;
dsl.spec, dsl.test = dsl.it, dsl.it;
dsl.pending = function (name)
	if running_test and not collecting then
		-- pending() inside a test body marks that test pending.
		error(setmetatable({ message = tostring(name or "pending") }, pending_mt), 0);
	end
	add_child("test", name, nil, { pending = true });
end;
dsl.setup = hook_fn("strict_setup");
dsl.strict_setup = dsl.setup;
dsl.lazy_setup = hook_fn("lazy_setup");
dsl.teardown = hook_fn("strict_teardown");
dsl.strict_teardown = dsl.teardown;
dsl.lazy_teardown = hook_fn("lazy_teardown");
dsl.before_each = hook_fn("before_each");
dsl.after_each = hook_fn("after_each");
dsl.finally = function (fn)
	if not running_test then error("finally must be called inside a test", 2); end
	table.insert(running_test.finally, fn);
end;
-- busted's randomize(bool) turns shuffling on or off for a block; this
-- runner always runs tests in the order they are declared (busted's
-- default), so it has nothing to do.
dsl.randomize = function () end;
dsl.assert = luassert.assert;
dsl.spy = luassert.spy;
dsl.stub = luassert.stub;
dsl.mock = luassert.mock;
dsl.match = luassert.match;

---------------------------------------------------------------------------
-- Insulation: a snapshot of the globals and package.loaded, restored after
-- the block. Keys an expose block changed are kept by its parent's.
--
-- Unlike busted, specs share one global table: busted gives every block and
-- test an environment of its own, so a global assigned in one test is not
-- seen by the next there. Specs must not rely on either behaviour.

local function snapshot()
	local globals, loaded = {}, {};
	for k, v in pairs(_G) do globals[k] = v; end
	for k, v in pairs(package.loaded) do loaded[k] = v; end
	return { globals = globals, loaded = loaded };
end

local function restore_table(live, saved, keep)
	for k in pairs(live) do
		if saved[k] == nil and not keep[k] then live[k] = nil; end
	end
	for k, v in pairs(saved) do
		if not keep[k] then live[k] = v; end
	end
end

local function changed_keys(live, saved, into)
	for k, v in pairs(live) do
		if saved[k] ~= v then into[k] = true; end
	end
	for k in pairs(saved) do
		if live[k] == nil then into[k] = true; end
	end
end

---------------------------------------------------------------------------
-- Reporting.

local failure_mt = luassert.failure_mt;

-- outcome classifies an error value: status, where (file:line), message.
local function outcome_of(err)
	if getmetatable(err) == pending_mt then
		return "pending", "", err.message;
	end
	if getmetatable(err) == failure_mt then
		return "failure", err.where or "", tostring(err.message);
	end
	local message = tostring(err);
	if type(err) == "table" and getmetatable(err) == nil then
		local parts = {};
		for k, v in pairs(err) do parts[#parts + 1] = tostring(k) .. " = " .. tostring(v); end
		message = "{ " .. table.concat(parts, ", ") .. " }";
	end
	local file, line = string.match(message, "^([^\n]-):(%d+): ");
	local where = file and (file .. ":" .. line) or "";
	return "error", where, message;
end

local function report_error(name, defined_at, err)
	local status, where, message = outcome_of(err);
	if status == "failure" then status = "error"; message = where .. ": " .. message; end
	if not defined_at or defined_at == "" then defined_at = where; end
	host.report(status, name, defined_at, where, message);
end

---------------------------------------------------------------------------
-- Selection: --filter, --filter-out and excluded #tags.

local function selected(name)
	for tag in string.gmatch(name, "#([%w_%-]+)") do
		if exclude_tags[tag] then return false; end
	end
	if options.filter and options.filter ~= "" and not string.find(name, options.filter) then
		return false;
	end
	if options.filter_out and options.filter_out ~= "" and string.find(name, options.filter_out) then
		return false;
	end
	return true;
end

---------------------------------------------------------------------------
-- Walking the tree.

local run_block;

local function run_hooks(list, reverse)
	local first = #list;
	local from, to, step = 1, first, 1;
	if reverse then from, to, step = first, 1, -1; end
	for i = from, to, step do
		local ok, err = settle(list[i]);
		if not ok then return false, err; end
	end
	return true;
end

-- ensure_lazy_setup runs the lazy_setup hooks of block and its ancestors
-- (outermost first) before the first test that needs them.
local function ensure_lazy_setup(block)
	if not block then return true; end
	local ok, err = ensure_lazy_setup(block.parent);
	if not ok then return false, err; end
	if block.setup_error then return false, block.setup_error; end
	if not block.lazy_done then
		block.lazy_done = true;
		local ok2, err2 = run_hooks(block.lazy_setup);
		if not ok2 then
			block.setup_error = err2;
			report_error(full_name(block), block.defined_at, err2);
			return false, err2;
		end
	end
	return true;
end

local function ancestors(node)
	local chain = {};
	local block = node.parent;
	while block do
		table.insert(chain, 1, block);
		block = block.parent;
	end
	return chain;
end

local function run_test(test)
	local name = full_name(test);
	if not selected(name) then return; end
	current = { full_name = name, defined_at = test.defined_at };
	if test.pending then
		host.report("pending", name, test.defined_at, "", "");
		return;
	end
	if not ensure_lazy_setup(test.parent) then return; end
	test.finally = {};
	running_test = test;
	local chain = ancestors(test);
	local err_value, failed = nil, false;
	for _, block in ipairs(chain) do
		local ok, err = run_hooks(block.before_each);
		if not ok then failed, err_value = true, err; break; end
	end
	if not failed then
		local ok, err = settle(test.fn);
		if not ok then failed, err_value = true, err; end
	end
	for _, fn in ipairs(test.finally) do
		local ok, err = settle(fn);
		if not ok and not failed then failed, err_value = true, err; end
	end
	for i = #chain, 1, -1 do
		local ok, err = run_hooks(chain[i].after_each, true);
		if not ok and not failed then failed, err_value = true, err; end
	end
	running_test = nil;
	if not failed then
		host.report("success", name, test.defined_at, "", "");
		return;
	end
	local status, where, message = outcome_of(err_value);
	host.report(status, name, test.defined_at, where, message);
end

function run_block(block)
	current = { full_name = full_name(block) ~= "" and full_name(block) or block.name, defined_at = block.defined_at };
	if block.insulate then block.snapshot = snapshot(); end
	if block.expose then block.expose_start = snapshot(); end
	-- Collect the block's children by running its body.
	local outer = collecting;
	collecting = block;
	local ok, err = settle(block.fn);
	collecting = outer;
	if not ok then
		-- A file that breaks while running is reported where it broke.
		local declared = block.kind ~= "file" and block.defined_at or nil;
		report_error(full_name(block) ~= "" and full_name(block) or block.name, declared, err);
	else
		local setup_ok, setup_err = run_hooks(block.strict_setup);
		if not setup_ok then
			block.setup_error = setup_err;
			report_error(full_name(block) ~= "" and full_name(block) or block.name, block.defined_at, setup_err);
		else
			for _, child in ipairs(block.children) do
				if child.kind == "test" then
					run_test(child);
				else
					run_block(child);
				end
			end
		end
		if block.lazy_done and not block.setup_error then
			local td_ok, td_err = run_hooks(block.lazy_teardown);
			if not td_ok then report_error(full_name(block), block.defined_at, td_err); end
		end
		if setup_ok then
			local td_ok, td_err = run_hooks(block.strict_teardown);
			if not td_ok then report_error(full_name(block), block.defined_at, td_err); end
		end
	end
	if block.expose and block.parent and block.parent.snapshot then
		-- What an expose block changed survives its parent's insulation
		-- (for a file's top-level expose: the next files see it), one level
		-- only, as in busted.
		local parent = block.parent;
		parent.keep_globals = parent.keep_globals or {};
		parent.keep_loaded = parent.keep_loaded or {};
		changed_keys(_G, block.expose_start.globals, parent.keep_globals);
		changed_keys(package.loaded, block.expose_start.loaded, parent.keep_loaded);
	end
	if block.snapshot then
		restore_table(_G, block.snapshot.globals, block.keep_globals or {});
		restore_table(package.loaded, block.snapshot.loaded, block.keep_loaded or {});
	end
	-- Done with the block: let its tree go.
	block.children = {};
end

local function run_all()
	-- The outermost snapshot puts the globals back as they were before the
	-- run (assert, describe, …), so the loop can be reused.
	local saved = snapshot();
	for name, value in pairs(dsl) do _G[name] = value; end
	local root = new_block("root", "", nil, nil, nil);
	root.snapshot = snapshot();
	for _, path in ipairs(files) do
		local chunk, load_err = loadfile(path);
		if not chunk then
			-- gopher-lua says "FILE line:N(column:M) near ...": make it FILE:N.
			local message = tostring(load_err);
			local file, line, rest = string.match(message, "^(.-) line:(%d+)%(column:%d+%)%s*(.*)$");
			if file then
				message = file .. ":" .. line .. ": " .. (string.gsub(string.gsub(rest, "%s+", " "), " $", ""));
			end
			local where = string.match(message, "^([^\n]-:%d+): ") or path;
			host.report("error", path, where, where, message);
		else
			-- busted insulates every file, so one file's globals and loaded
			-- modules do not leak into the next.
			local file_block = new_block("file", path, chunk, root, path);
			file_block.insulate = true;
			run_block(file_block);
		end
	end
	restore_table(_G, saved.globals, {});
	restore_table(package.loaded, saved.loaded, {});
	host.finish();
end

-- Spec code reaches async() as require "modhost.busted" (and through
-- modhost.testing.async). Set before the run's snapshot, so it survives
-- every file's insulation.
package.loaded["modhost.busted"] = { async = async_wrap };

driver = coroutine.create(run_all);
resume_driver();
