-- util.async: run functions that may wait (for a network reply, a timer, a
-- promise) as coroutines, as Prosody 0.12's util.async does.
--
-- A runner has a queue of work items and, while it has work, a coroutine;
-- each item is handed to the runner's function in turn. Inside it, waiter()
-- returns a wait/done pair: wait() suspends the runner until done() has been
-- called as many times as asked for. Watchers (ready, waiting, error) hear about state changes.
--
-- As in Prosody, the last done() resumes the waiting coroutine at once,
-- inside done()'s caller. When the work item then finishes, putting the
-- runner back to "ready" and going on with its queue goes through next_tick:
-- a plain call by default (as under busted), one loop turn later in a server
-- (Prosody's startup, and modhost's runtime, set_nexttick to a zero timer).
-- sleep() needs a schedule function the same way: without one it fails, as
-- Prosody's does; a server installs util.timer's add_task.

local coroutine, setmetatable, table = coroutine, setmetatable, table;
local pcall, error, type, tostring = pcall, error, type, tostring;

local function current_thread()
	local thread, is_main = coroutine.running();
	if not thread or is_main then
		error("not inside an async runner: util.async waits need a coroutine (see util.async.runner)", 3);
	end
	return thread;
end

-- The runner whose coroutine is running now, so a waiter knows whose queue
-- its wake carries on. Not a table keyed by coroutine: gopher-lua has no weak
-- tables and its tables keep every key they ever had, so such a table pinned
-- every coroutine ever created (one per HTTP request, tens of KiB each).
local running_runner;

-- resume runs r's coroutine with running_runner set to r.
local function resume(r, thread, ...)
	local outer = running_runner;
	running_runner = r;
	local ok, state = coroutine.resume(thread, ...);
	running_runner = outer;
	return ok, state;
end

-- owner_of_current is the runner whose coroutine thread is, if it is one.
local function owner_of_current(thread)
	local r = running_runner;
	if r and r.thread == thread then return r; end
end

local log_fn;
local function log(level, fmt, ...)
	if log_fn == nil then
		local ok, logger = pcall(require, "util.logger");
		log_fn = ok and type(logger) == "table" and logger.init and logger.init("util.async") or false;
	end
	if log_fn then
		return log_fn(level, fmt, ...);
	end
end

local function run_now(fn) fn(); end
local next_tick = run_now;
local schedule_task; -- set_schedule_function; sleep() fails without one

local runner_methods = {};
local runner_mt = { __index = runner_methods };

-- The body of every runner coroutine: take a runner and an item, process
-- the item, report back. A coroutine is not a runner's own: it serves one
-- runner while that runner has work (or waits inside an item), and is then
-- given back to a small pool for the next runner that has work. An idle
-- session (most of them, most of the time) holds no coroutine, and in
-- gopher-lua each one costs a registry and a call stack of its own (~5 KiB).
local function worker()
	while true do
		-- Locals of the loop's body: the call to yield is set up in their
		-- slots, so an idle coroutine pins neither the last runner nor item.
		local r, item = coroutine.yield("ready");
		r.func(item);
	end
end

local idle_threads, idle_count = {}, 0;
local idle_max = 16;

local function take_thread()
	if idle_count > 0 then
		local thread = idle_threads[idle_count];
		idle_threads[idle_count] = nil;
		idle_count = idle_count - 1;
		return thread;
	end
	local thread = coroutine.create(worker);
	coroutine.resume(thread); -- runs up to the first yield, waiting for work
	return thread;
end

-- give_back returns a runner's coroutine (suspended at its yield, between
-- items) to the pool, or lets the collector have it when the pool is full.
local function give_back(thread)
	if idle_count < idle_max and coroutine.status(thread) == "suspended" then
		idle_count = idle_count + 1;
		idle_threads[idle_count] = thread;
	end
end

-- A watcher called from a wake (not from run()) must not throw into done()'s
-- caller: its error is logged, as Prosody does.
local function call_watcher_logged(r, name, ...)
	local watcher = r.watchers[name];
	if not watcher then return; end
	local ok, err = pcall(watcher, r, ...);
	if not ok then
		r:log("error", "error in the %s watcher: %s", name, tostring(err));
	end
end

-- wake continues a coroutine whose waiter is done; r is the runner that
-- owns it, nil for a coroutine of no runner.
local function wake(thread, r)
	if coroutine.status(thread) ~= "suspended" then
		log("error", "async wake of a coroutine that is %s, not suspended", coroutine.status(thread));
		return;
	end
	local ok, state = resume(r, thread);
	if not r then
		if not ok then
			log("error", "error in a waiting coroutine that no runner owns: %s", tostring(state));
		end
		return;
	end
	if not ok then
		r.thread = nil;
		call_watcher_logged(r, "error", state);
		r.state = "ready";
		r:run();
	elseif state == "ready" then
		next_tick(function ()
			r.state = "ready";
			r:run();
		end);
	end
	-- state == "wait": waiting again, for something else.
end

local function waiter(count, allow_many)
	local thread = current_thread();
	local owner = owner_of_current(thread);
	local remaining = count or 1;
	local suspended = false;
	local function wait()
		if remaining == 0 then return; end
		suspended = true;
		coroutine.yield("wait");
	end
	local function done()
		remaining = remaining - 1;
		if remaining == 0 and suspended then
			wake(thread, owner);
		elseif remaining < 0 and not allow_many then
			error("done() called more often than the waiter was created for", 2);
		end
	end
	return wait, done;
end

local function guarder()
	local queues = {};
	local any = {};
	return function (id, func)
		id = id or any;
		local thread = current_thread();
		local queue = queues[id];
		if queue then
			table.insert(queue, { thread, owner_of_current(thread) });
			coroutine.yield("wait");
		else
			queues[id] = {};
		end
		local function leave()
			local q = queues[id];
			local following = q and table.remove(q, 1);
			if following then
				wake(following[1], following[2]);
			else
				queues[id] = nil;
			end
		end
		if func then
			func();
			leave();
			return;
		end
		return leave;
	end;
end

local function sleep(seconds)
	local schedule = schedule_task;
	if not schedule then
		error("util.async.sleep needs a schedule function (util.async.set_schedule_function); none is set", 2);
	end
	local wait, done = waiter();
	schedule(seconds, done);
	wait();
end

local function wait_for(promise)
	local wait, done = waiter();
	local value, err;
	promise:next(function (v) value = v; end, function (e) err = e; end):finally(done);
	wait();
	if value then
		return value;
	end
	return nil, err;
end

local function rethrow_watcher(r, err)
	r:log("error", "error in runner: %s", tostring(err));
	error(err, 0);
end

local function pass_through(item) item(); end

local runner_count = 0;
local function runner(func, watchers, data)
	runner_count = runner_count + 1;
	return setmetatable({
		func = func or pass_through;
		watchers = watchers or { error = rethrow_watcher };
		data = data;
		id = tostring(runner_count);
		queue = {};
		state = "ready";
		notified_state = "ready";
		thread = false;
	}, runner_mt);
end

-- run queues input (if any) and processes the queue until it is empty or the
-- runner has to wait. Returns true, the state and how many items are queued.
-- An item that raises goes to the error watcher (which is called directly:
-- the default one re-raises out of run), and the queue goes on.
function runner_methods:run(input)
	local queue = self.queue;
	if input ~= nil then
		table.insert(queue, input);
	end
	if self.state ~= "ready" then
		return true, self.state, #queue;
	end
	self.state = "running";
	local state, err = "ready", nil;
	while queue[1] ~= nil do
		local thread = self.thread;
		if not thread or coroutine.status(thread) == "dead" then
			thread = take_thread();
			self.thread = thread;
		end
		local item = table.remove(queue, 1);
		local ok, yielded = resume(self, thread, self, item);
		if not ok then
			self.thread = nil;
			err = yielded;
			break;
		elseif yielded == "wait" then
			state = "waiting";
			break;
		end
	end
	self.state = state;
	if state == "ready" and self.thread then
		give_back(self.thread); -- between items: no one's until there is work
		self.thread = false;
	end
	if err ~= nil then
		local watcher = self.watchers.error;
		if watcher then watcher(self, err); end
		if queue[1] ~= nil then
			return self:run();
		end
	elseif state ~= self.notified_state then
		self.notified_state = state;
		local watcher = self.watchers[state];
		if watcher then watcher(self); end
	end
	return true, self.state, #queue;
end

function runner_methods:enqueue(input)
	table.insert(self.queue, input);
	return self;
end

function runner_methods:log(level, fmt, ...)
	return log(level, "runner " .. self.id .. ": " .. fmt, ...);
end

function runner_methods:onready(f) self.watchers.ready = f; return self; end
function runner_methods:onwaiting(f) self.watchers.waiting = f; return self; end
function runner_methods:onerror(f) self.watchers.error = f; return self; end

-- ready is true inside a coroutine (a runner's), where waiting is possible.
local function ready()
	return (pcall(current_thread));
end

-- once runs func in a runner of its own (for one-off work that may wait).
-- Not in Prosody 0.12's util.async (it came later); modhost offers it.
local function once(func)
	local r = runner(function () func(); end);
	return r:run(true);
end

return {
	ready = ready;
	waiter = waiter;
	guarder = guarder;
	runner = runner;
	wait_for = wait_for;
	wait = wait_for; -- older name still used by some plugins
	sleep = sleep;
	once = once;
	-- nil puts the defaults back: next_tick a plain call, no schedule function.
	set_nexttick = function (f) next_tick = f or run_now; end;
	set_schedule_function = function (f) schedule_task = f; end;
};
