local async = require "util.async";

describe("timeout", function ()
	it("never finishes", require "modhost.busted".async(function ()
		local wait = async.waiter();
		wait();
	end));

	it("runs after the timed-out test", function ()
		assert.is_true(true);
	end);
end);
