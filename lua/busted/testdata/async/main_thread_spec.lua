-- Without async(), spec functions run as under busted: on the main thread,
-- where util.async cannot wait.
local async = require "util.async";

describe("a plain spec function", function ()
	local in_describe = async.ready();

	before_each(function ()
		assert.is_false(async.ready());
	end);

	it("runs outside any coroutine", function ()
		assert.is_false(in_describe);
		assert.is_false(async.ready());
		assert.is_nil((coroutine.running()));
	end);

	it("cannot wait", function ()
		assert.has_error(function () async.waiter(); end);
	end);
end);
