-- util.queue: a fixed-size FIFO ring buffer, as Prosody 0.12's. When full,
-- push refuses ("queue full") unless the queue was made with
-- allow_wrapping, in which case the oldest item is overwritten.

local function new(size, allow_wrapping)
	local slots = {};
	local first = 1; -- slot of the oldest item
	local count = 0;

	-- slot holding the n-th oldest item (n from 0)
	local function slot(n)
		return (first - 1 + n) % size + 1;
	end

	local queue = { _items = slots; size = size };

	function queue:count()
		return count;
	end

	function queue:push(item)
		if count >= size then
			if not allow_wrapping then
				return nil, "queue full";
			end
			first = slot(1);
			count = count - 1;
		end
		slots[slot(count)] = item;
		count = count + 1;
		return true;
	end

	function queue:pop()
		if count == 0 then
			return nil;
		end
		local item = slots[first];
		-- keep the slot occupied so the array part of the table stays put
		slots[first] = 0;
		first = slot(1);
		count = count - 1;
		return item;
	end

	function queue:peek()
		if count == 0 then
			return nil;
		end
		return slots[first];
	end

	-- Replaces the oldest item (pushes into an empty queue).
	function queue:replace(item)
		if count == 0 then
			return self:push(item);
		end
		slots[first] = item;
		return true;
	end

	-- Iterates oldest to newest as position, item without removing anything.
	function queue:items()
		return function (_, n)
			if n >= count then
				return nil;
			end
			return n + 1, slots[slot(n)];
		end, self, 0;
	end

	-- Iterates oldest to newest, removing each item as it goes.
	function queue:consume()
		return self.pop, self;
	end

	return queue;
end

return {
	new = new;
}
