local async = require "util.async";

-- Prosody's util.async, as a spec sees it: no server startup has set a
-- next_tick or a schedule function, the last done() resumes the waiting
-- runner inside the call, and a spec's body runs outside any coroutine.
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
			assert.same({ "before a", "after a", "before b" }, log);
			assert.equal("waiting", r.state);

			done_fn();
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
			assert.is_false(finished);
			dones();
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
			assert.equal(1, #errors);
			assert.matches("late failure", tostring(errors[1]));
			assert.equal("ready", r.state);
		end);

		it("resumes the waiting runner inside done(), and is ready when done() returns", function ()
			local log, done_fn = {}, nil;
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done_fn = done;
				wait();
				table.insert(log, "resumed");
			end);
			r:run(true);
			assert.same({}, log);
			done_fn();
			assert.same({ "resumed" }, log);
			assert.equal("ready", r.state);
		end);

		it("calls the error watcher, then the ready watcher, for an error raised after a wait", function ()
			local order, done_fn = {}, nil;
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done_fn = done;
				wait();
				error({ code = "after" });
			end, {
				waiting = function () table.insert(order, "waiting"); end;
				ready = function () table.insert(order, "ready"); end;
				error = function (_, err) table.insert(order, "error " .. err.code); end;
			});
			r:run(true);
			done_fn();
			assert.same({ "waiting", "error after", "ready" }, order);
		end);

		it("does not call the watchers when done() comes before wait()", function ()
			local calls = 0;
			local count = function () calls = calls + 1; end;
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done();
				wait();
			end, { ready = count, waiting = count, error = count });
			r:run(true);
			assert.equal(0, calls);
		end);

		it("keeps waiting runners apart: done() of one leaves the other waiting", function ()
			local dones = {};
			local function waiting_runner(name)
				return async.runner(function ()
					local wait, done = async.waiter();
					dones[name] = done;
					wait();
				end);
			end
			local a, b = waiting_runner("a"), waiting_runner("b");
			a:run(true);
			b:run(true);
			dones.b();
			assert.equal("waiting", a.state);
			assert.equal("ready", b.state);
			dones.a();
			assert.equal("ready", a.state);
		end);

		it("raises from done() called once too often, once the runner has gone on", function ()
			local done_fn;
			local r = async.runner(function ()
				local wait, done = async.waiter(2);
				done_fn = done;
				wait();
			end);
			r:run(true);
			done_fn();
			assert.equal("waiting", r.state);
			done_fn();
			assert.equal("ready", r.state);
			assert.has_error(done_fn);
		end);

		it("raises from waiter() outside any coroutine", function ()
			assert.has_error(function () async.waiter(); end);
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

		it("is false in a spec's body, which runs outside any coroutine", function ()
			assert.is_false(async.ready());
		end);
	end);

	describe("wait_for", function ()
		it("returns the value a promise resolves with", function ()
			local p, got = manual_promise(), nil;
			async.runner(function () got = { async.wait_for(p) }; end):run(true);
			assert.is_nil(got);
			p:settle(true, "value");
			assert.same({ "value" }, got);
		end);

		it("returns nil and the reason when the promise is rejected", function ()
			local p, got = manual_promise(), nil;
			async.runner(function () got = { async.wait_for(p) }; end):run(true);
			p:settle(false, "no way");
			assert.same({ nil, "no way" }, got);
		end);
	end);

	describe("sleep", function ()
		after_each(function () async.set_schedule_function(nil); end);

		it("fails without a schedule function, as nothing could wake it", function ()
			local errors = {};
			local r = async.runner(function () async.sleep(1); end, {
				error = function (_, err) table.insert(errors, err); end;
			});
			r:run(true);
			assert.equal(1, #errors);
			assert.equal("ready", r.state);
		end);

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
			assert.is_true(woke);
		end);
	end);

	describe("set_nexttick", function ()
		-- The library's default is a plain call; Prosody's set_nexttick(nil)
		-- leaves no next_tick at all, so put a plain call back explicitly.
		after_each(function () async.set_nexttick(function (f) f(); end); end);

		it("defers a resumed runner's return to ready to the next tick", function ()
			local ticks, done_fn, finished = {}, nil, false;
			async.set_nexttick(function (f) table.insert(ticks, f); end);
			local r = async.runner(function ()
				local wait, done = async.waiter();
				done_fn = done;
				wait();
				finished = true;
			end);
			r:run(true);
			assert.equal(0, #ticks);
			done_fn();
			assert.is_true(finished);
			assert.equal("waiting", r.state);
			assert.equal(1, #ticks);
			ticks[1]();
			assert.equal("ready", r.state);
		end);

		it("is not used by a runner that never waited", function ()
			local ticks = 0;
			async.set_nexttick(function (f) ticks = ticks + 1; f(); end);
			async.runner(function () end):run(true);
			assert.equal(0, ticks);
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
			assert.same({ "a in", "a out", "b in" }, log);
			release.b();
			assert.same({ "a in", "a out", "b in", "b out" }, log);
		end);
	end);
end);
