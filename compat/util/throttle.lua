-- util.throttle: a token bucket, as Prosody 0.12's util.throttle.
--
-- create(max, period) gives a bucket holding up to max tokens, full at the
-- start and refilled at max/period tokens a second (util.time.now's clock).
-- peek(cost) says whether cost tokens (default 1) are there; poll(cost[,
-- split]) takes them when they are (true), or returns false, the balance and
-- how many tokens are missing, emptying the bucket first when split is set.
-- update() refills by the time passed and returns the balance.

local now = require "util.time".now;
local setmetatable = setmetatable;

local bucket = {};
local bucket_mt = { __index = bucket };

function bucket:update()
	local t = now();
	local refill = (t - self.t) * self.rate;
	self.t = t;
	self.balance = self.balance + refill;
	if self.balance > self.max then self.balance = self.max; end
	return self.balance;
end

function bucket:peek(cost)
	cost = cost or 1;
	if self.balance >= cost then return true; end
	return self:update() >= cost;
end

function bucket:poll(cost, split)
	if self:peek(cost) then
		self.balance = self.balance - cost;
		return true;
	end
	local balance = self.balance;
	if split then self.balance = 0; end
	return false, balance, cost - balance;
end

local function create(max, period)
	return setmetatable({ max = max, rate = max / period, balance = max, t = now() }, bucket_mt);
end

return { create = create };
