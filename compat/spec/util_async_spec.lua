local async = require "util.async";

-- Under modhost, done() posts the wake of a waiting runner to the Lua loop;
-- Prosody resumes it at once. settle() lets posted wakes run, so the same
-- assertions hold in both: it is a no-op without modhost's loop.
local has_loop, modhost_loop = pcall(require, "modhost.loop");
local function settle()
	if not has_loop then return; end
	local wait, done = async.waiter();
	modhost_loop.post(done);
	wait();
end

-- A stand-in promise with just what wait_for uses, settled by hand.
local function manual_promise()
	local p = { handlers = {} };
	function p:next(on_resolved, on_rejected)
		local chained = manual_promise();
		table.insert(self.handlers, function (ok, value)
			if ok then on_resolved(value); else on_rejected(value); end
			chained:settle(true);
		end);
		return chained;
	end
	function p:finally(f)
		table.insert(self.handlers, function () f(); end);
		return self;
	end
	function p:settle(ok, value)
		for _, h in ipairs(self.handlers) do h(ok, value); end
	end
	return p;
end

describe("util.async", function ()
	describe("runner", function ()
		it("processes queued items in order", function ()
			local seen = {};
			local r = async.runner(function (item) table.insert(seen, item); end);
			r:run("a");
			r:run("b");
			assert.same({ "a", "b" }, seen);
			assert.equal("ready", r.state);
		end);

		it("enqueue holds items until the next run", function ()
			local seen = {};
			local r = async.runner(function (item) table.insert(seen, item); end);
			r:enqueue("a"):enqueue("b");
			assert.same({}, seen);
			r:run();
			assert.same({ "a", "b" }, seen);
		end);

		it("keeps the runner's data", function ()
			local r = async.runner(function () end, nil, { answer = 42 });
			assert.equal(42, r.data.answer);
		end);

		it("waits, queues new items meanwhile and resumes when done is called", function ()
			local log, states, done_fn = {}, {}, nil;
			local r = async.runner(function (item)
				local wait, done = async.waiter();
				done_fn = done;
				table.insert(log, "before " .. item);
				wait();
				table.insert(log, "after " .. item);
			end, {
				ready = function () table.insert(states, "ready"); end;
				waiting = function () table.insert(states, "waiting"); end;
			});
			r:run("a");
			assert.equal("waiting", r.state);
			assert.same({ "before a" }, log);
			local ok, state, queued = r:run("b");
			assert.is_true(ok);
			assert.equal("waiting", state);
			assert.equal(1, queued);

			done_fn();
			settle();
			assert.same({ "before a", "after a", "before b" }, log);
			assert.equal("waiting", r.state);

			done_fn();
			settle();
			assert.same({ "before a", "after a", "before b", "after b" }, log);
			assert.equal("ready", r.state);
			assert.same({ "waiting", "ready" }, states);
		end);

		it("does not block when done comes before wait", function ()
			local finished = false;
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done();
				wait();
				finished = true;
			end);
			r:run(true);
			assert.is_true(finished);
			assert.equal("ready", r.state);
		end);

		it("waiter(n) waits for n calls of done", function ()
			local dones, finished = nil, false;
			local r = async.runner(function ()
				local wait, done = async.waiter(3);
				dones = done;
				wait();
				finished = true;
			end);
			r:run(true);
			dones();
			dones();
			settle();
			assert.is_false(finished);
			dones();
			settle();
			assert.is_true(finished);
		end);

		it("calling done too often is an error unless allowed", function ()
			local strict_ok, lenient_ok;
			local r = async.runner(function ()
				local _, done = async.waiter(1);
				done();
				strict_ok = pcall(done);
				local _, many = async.waiter(1, true);
				many();
				lenient_ok = pcall(many);
			end);
			r:run(true);
			assert.is_false(strict_ok);
			assert.is_true(lenient_ok);
		end);

		it("hands an error to the error watcher and goes on with the queue", function ()
			local errors, seen = {}, {};
			local r = async.runner(function (item)
				if item == "bad" then error("oops in " .. item); end
				table.insert(seen, item);
			end, {
				error = function (runner, err)
					assert.is_table(runner);
					table.insert(errors, err);
				end;
			});
			r:enqueue("bad"):enqueue("good");
			r:run();
			assert.same({ "good" }, seen);
			assert.equal(1, #errors);
			assert.matches("oops in bad", tostring(errors[1]));
			r:run("later");
			assert.same({ "good", "later" }, seen);
		end);

		it("hands an error raised after a wait to the error watcher", function ()
			local errors, done_fn = {}, nil;
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done_fn = done;
				wait();
				error("late failure");
			end, {
				error = function (_, err) table.insert(errors, err); end;
			});
			r:run(true);
			assert.equal("waiting", r.state);
			done_fn();
			settle();
			assert.equal(1, #errors);
			assert.matches("late failure", tostring(errors[1]));
			assert.equal("ready", r.state);
		end);

		it("re-raises errors when no error watcher is set", function ()
			local r = async.runner(function () error("unwatched"); end);
			assert.has_error(function () r:run(true); end);
		end);

		it("sets watchers with onready, onwaiting and onerror", function ()
			local r = async.runner(function () end);
			local f = function () end;
			assert.equal(r, r:onready(f));
			assert.equal(r, r:onwaiting(f));
			assert.equal(r, r:onerror(f));
			assert.equal(f, r.watchers.ready);
		end);
	end);

	describe("ready", function ()
		it("is true inside a runner", function ()
			local inside;
			async.runner(function () inside = async.ready(); end):run(true);
			assert.is_true(inside);
		end);

		-- modhost runs each test body inside a runner of its own, so only
		-- under plain busted is a test body outside any runner.
		it("is false outside any runner #prosody_only", function ()
			assert.is_false(async.ready());
		end);
	end);

	describe("wait_for", function ()
		it("returns the value a promise resolves with", function ()
			local p, got = manual_promise(), nil;
			async.runner(function () got = { async.wait_for(p) }; end):run(true);
			assert.is_nil(got);
			p:settle(true, "value");
			settle();
			assert.same({ "value" }, got);
		end);

		it("returns nil and the reason when the promise is rejected", function ()
			local p, got = manual_promise(), nil;
			async.runner(function () got = { async.wait_for(p) }; end):run(true);
			p:settle(false, "no way");
			settle();
			assert.same({ nil, "no way" }, got);
		end);
	end);

	describe("sleep", function ()
		after_each(function () async.set_schedule_function(nil); end);

		it("waits through the schedule function", function ()
			local scheduled, woke = {}, false;
			async.set_schedule_function(function (seconds, callback)
				table.insert(scheduled, { seconds = seconds, callback = callback });
			end);
			async.runner(function () async.sleep(2); woke = true; end):run(true);
			assert.equal(1, #scheduled);
			assert.equal(2, scheduled[1].seconds);
			assert.is_false(woke);
			scheduled[1].callback();
			settle();
			assert.is_true(woke);
		end);
	end);

	describe("once", function ()
		-- async.once arrived after Prosody 0.12; modhost offers it already.
		it("runs a function that may wait in a runner of its own #modhost_only", function ()
			local done_fn, finished = nil, false;
			async.once(function ()
				local wait, done = async.waiter();
				done_fn = done;
				wait();
				finished = true;
			end);
			assert.is_false(finished);
			done_fn();
			settle();
			assert.is_true(finished);
		end);
	end);

	describe("guarder", function ()
		it("lets one runner at a time through a guard", function ()
			local guard = async.guarder();
			local log, release = {}, {};
			local function worker(name)
				return async.runner(function ()
					local exit = guard("key");
					table.insert(log, name .. " in");
					local wait, done = async.waiter();
					release[name] = done;
					wait();
					table.insert(log, name .. " out");
					exit();
				end);
			end
			worker("a"):run(true);
			worker("b"):run(true);
			assert.same({ "a in" }, log);
			release.a();
			settle();
			settle();
			assert.same({ "a in", "a out", "b in" }, log);
			release.b();
			settle();
			assert.same({ "a in", "a out", "b in", "b out" }, log);
		end);
	end);
end);
