-- Behaviour of util.smqueue, the stream management queue.

local smqueue = require "util.smqueue";

describe("util.smqueue", function ()
	it("counts pushed and acknowledged stanzas", function ()
		local q = smqueue.new(10);
		assert.equal(0, q:count_unacked());
		assert.equal(0, q:count_acked());
		for i = 1, 5 do q:push("s" .. i); end
		assert.equal(5, q:count_unacked());
		assert.is_true(q:resumable());
		assert.same({ "s1", "s2" }, q:ack(2));
		assert.equal(3, q:count_unacked());
		assert.equal(2, q:count_acked());
		assert.same({}, q:ack(2));
		assert.same({ "s3", "s4", "s5" }, q:ack(5));
		assert.equal(0, q:count_unacked());
	end);

	it("refuses acknowledgements out of range", function ()
		local q = smqueue.new(10);
		q:push(1); q:push(2); q:push(3);
		q:ack(2);
		assert.same({ nil, "tail" }, { q:ack(1) });
		assert.same({ nil, "head" }, { q:ack(4) });
		assert.equal(1, q:count_unacked());
	end);

	it("drops the oldest when full, and is then not resumable", function ()
		local q = smqueue.new(3);
		for i = 1, 5 do q:push("s" .. i); end
		assert.equal(5, q:count_unacked());
		assert.is_false(q:resumable());
		assert.same({ "s3", "s4", "s5" }, q:table());
		assert.same({}, q:ack(1));
		assert.same({ "s3" }, q:ack(3));
		assert.is_true(q:resumable());
		assert.same({ "s4", "s5" }, q:table());
	end);

	it("iterates with resume (keeping) and consume (removing)", function ()
		local q = smqueue.new(5);
		q:push("a"); q:push("b");
		local seen = {};
		for i, v in q:resume() do seen[i] = v; end
		assert.same({ "a", "b" }, seen);
		assert.same({ "a", "b" }, q:table());
		seen = {};
		for v in q:consume() do seen[#seen + 1] = v; end
		assert.same({ "a", "b" }, seen);
		assert.same({}, q:table());
		-- consuming does not change the counts
		assert.equal(2, q:count_unacked());
	end);

	it("needs a positive size", function ()
		assert.has_error(function () smqueue.new(0); end);
	end);

	it("has # as count_unacked #prosody_only", function ()
		-- Lua 5.1 (modhost) does not consult __len for tables
		local q = smqueue.new(5);
		q:push(1); q:push(2);
		assert.equal(2, #q);
	end);
end);
