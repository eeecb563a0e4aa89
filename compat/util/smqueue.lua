-- util.smqueue: the XEP-0198 (stream management) outgoing queue, as
-- Prosody 0.12's util.smqueue.
--
-- new(size) holds up to size unacknowledged stanzas; pushing more drops the
-- oldest (the session is then no longer resumable). It counts every stanza
-- pushed (the "h" the peer acknowledges against): ack(h) removes and
-- returns, oldest first, the stanzas h newly acknowledges, or nil and
-- "tail" (h below what was already acknowledged) or "head" (h above what
-- was sent). count_unacked(), count_acked(), resumable(), resume() (iterate
-- what is held, without removing), consume() (iterate, removing), table().
-- Under Lua 5.4 #q is count_unacked(); under modhost's Lua 5.1 use the
-- method.

local queue = require "util.queue";

local assert, setmetatable = assert, setmetatable;

local smqueue = {};

function smqueue:push(item)
	self._head = self._head + 1;
	assert(self._queue:push(item));
end

function smqueue:ack(h)
	if h < self._tail then
		return nil, "tail";
	elseif h > self._head then
		return nil, "head";
	end
	self._tail = h;
	local acked = {};
	-- whatever is held beyond the still-unacknowledged count is acknowledged
	local keep = self._head - h;
	while self._queue:count() > keep do
		local item = self._queue:pop();
		if item == nil then return nil, "pop"; end
		acked[#acked + 1] = item;
	end
	return acked;
end

function smqueue:count_unacked() return self._head - self._tail; end
function smqueue:count_acked() return self._tail; end
function smqueue:resumable() return self._queue:count() >= self._head - self._tail; end
function smqueue:resume() return self._queue:items(); end
function smqueue:consume() return self._queue:consume(); end

function smqueue:table()
	local t = {};
	for i, item in self:resume() do t[i] = item; end
	return t;
end

local smqueue_mt = {
	__name = "smqueue";
	__index = smqueue;
	__len = smqueue.count_unacked;
	__freeze = function (q) return { head = q._head; tail = q._tail }; end;
};

local function new(size)
	assert(size > 0);
	return setmetatable({ _head = 0; _tail = 0; _queue = queue.new(size, true) }, smqueue_mt);
end

return { new = new; smqueue = smqueue };
