-- Spec functions that wait say so: wrapped by modhost.busted's async, they
-- run in a util.async runner while the loop goes on.
local async = require "util.async";
local loop = require "modhost.loop";
local waits = require "modhost.busted".async;

describe("a test body that waits", function ()
	local log = {};

	before_each(waits(function ()
		-- Hooks may wait too.
		local wait, done = async.waiter();
		loop.post(done);
		wait();
		table.insert(log, "before_each waited");
	end));

	it("continues after work posted to the loop completes", waits(function ()
		local wait, done = async.waiter(2);
		loop.post(function () table.insert(log, "first"); done(); end);
		loop.post(function () table.insert(log, "second"); done(); end);
		wait();
		assert.same({ "before_each waited", "first", "second" }, log);
	end));

	it("fails with the spec line when the assertion after the wait fails", waits(function ()
		local wait, done = async.waiter();
		loop.post(done);
		wait();
		assert.equal("expected", "actual");
	end));

	it("waits on a promise-like through wait_for", waits(function ()
		local p = {};
		function p:next(ok) loop.post(function () ok("resolved"); self.after(); end); return self; end
		function p:finally(f) self.after = f; return self; end
		assert.equal("resolved", async.wait_for(p));
	end));
end);
