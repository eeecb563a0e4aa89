local queue = require "util.queue";

local function contents(q)
	local out = {};
	for _, item in q:items() do out[#out + 1] = item; end
	return table.concat(out, ",");
end

describe("util.queue", function ()
	it("starts empty", function ()
		local q = queue.new(3);
		assert.equal(0, q:count());
		assert.equal(3, q.size);
		assert.is_nil(q:pop());
		assert.is_nil(q:peek());
		assert.equal("", contents(q));
	end);

	it("pops in the order pushed", function ()
		local q = queue.new(3);
		assert.is_true(q:push("a"));
		assert.is_true(q:push("b"));
		assert.equal(2, q:count());
		assert.equal("a", q:peek());
		assert.equal("a", q:pop());
		assert.equal("b", q:pop());
		assert.is_nil(q:pop());
		assert.equal(0, q:count());
	end);

	it("refuses to push when full", function ()
		local q = queue.new(2);
		q:push(1); q:push(2);
		local ok, err = q:push(3);
		assert.is_nil(ok);
		assert.equal("queue full", err);
		assert.equal("1,2", contents(q));
	end);

	it("overwrites the oldest item when full and wrapping is allowed", function ()
		local q = queue.new(2, true);
		q:push(1); q:push(2);
		assert.is_true(q:push(3));
		assert.equal(2, q:count());
		assert.equal("2,3", contents(q));
		assert.equal(2, q:pop());
	end);

	it("keeps order across the end of the buffer", function ()
		local q = queue.new(3);
		for round = 1, 5 do
			q:push(round .. "a"); q:push(round .. "b");
			assert.equal(round .. "a," .. round .. "b", contents(q));
			assert.equal(round .. "a", q:pop());
			assert.equal(round .. "b", q:pop());
		end
		q:push(1); q:push(2); q:pop(); q:push(3); q:push(4);
		assert.equal("2,3,4", contents(q));
	end);

	it("iterates positions and items without removing them", function ()
		local q = queue.new(3);
		q:push("x"); q:push("y");
		local positions = {};
		for pos, item in q:items() do positions[#positions + 1] = pos .. "=" .. item; end
		assert.same({ "1=x", "2=y" }, positions);
		assert.equal(2, q:count());
	end);

	it("consumes every item in order", function ()
		local q = queue.new(4);
		q:push(1); q:push(2); q:push(3);
		local seen = {};
		for item in q:consume() do seen[#seen + 1] = item; end
		assert.same({ 1, 2, 3 }, seen);
		assert.equal(0, q:count());
	end);

	describe("replace", function ()
		it("replaces the oldest item", function ()
			local q = queue.new(3);
			q:push("a"); q:push("b");
			assert.is_true(q:replace("A"));
			assert.equal("A,b", contents(q));
		end);

		it("pushes into an empty queue", function ()
			local q = queue.new(3);
			assert.is_true(q:replace("a"));
			assert.equal(1, q:count());
			assert.equal("a", q:peek());
		end);
	end);
end);
