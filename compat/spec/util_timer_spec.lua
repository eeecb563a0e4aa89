-- Timers fire from the host's event loop, which does not turn while a spec
-- runs, so this pins only the API's shape; firing, rescheduling by return
-- value and stop are pinned by compat/util_timer_test.go on a running loop.

-- Prosody's util.timer refuses to load outside a configured Prosody.
if not rawget(_G, "prosody") then
	_G.prosody = { config_loaded = true; events = require "util.events".new() };
end

local timer = require "util.timer";

describe("util.timer", function ()
	local function never() error("a timer fired during a spec"); end

	it("returns a distinct id for each task", function ()
		local a = timer.add_task(3600, never);
		local b = timer.add_task(3600, never, "param");
		assert.is_not_nil(a);
		assert.not_equal(a, b);
		timer.stop(a);
		timer.stop(b);
	end);

	it("stops a task, and ignores stopping it again", function ()
		local id = timer.add_task(3600, never);
		assert.has_no_error(function ()
			timer.stop(id);
			timer.stop(id);
		end);
	end);

	it("reschedules a pending task", function ()
		local id = timer.add_task(3600, never);
		assert.has_no_error(function () timer.reschedule(id, 7200); end);
		timer.stop(id);
	end);
end);
