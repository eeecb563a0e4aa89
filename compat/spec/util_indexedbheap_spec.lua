-- Behaviour of util.indexedbheap, the indexed priority heap.

local ibh = require "util.indexedbheap";

local function drain(h)
	local out = {};
	while true do
		local priority, item, id = h:pop();
		if priority == nil then break; end
		out[#out + 1] = { priority, item, id };
	end
	return out;
end

describe("util.indexedbheap", function ()
	it("pops in priority order", function ()
		local h = ibh.create();
		local prios = { 5, 3, 9, 1, 7, 2, 8, 6, 4, 10 };
		for _, p in ipairs(prios) do h:insert("item" .. p, p); end
		assert.equal(1, h:peek());
		local order = {};
		for _, e in ipairs(drain(h)) do
			order[#order + 1] = e[1];
			assert.equal("item" .. e[1], e[2]);
		end
		assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, order);
		assert.is_nil(h:peek());
		assert.same({}, { h:pop() });
	end);

	it("makes up ids that do not clash with integer ones", function ()
		local h = ibh.create();
		assert.equal(1.5, h:insert("a", 1));
		assert.equal(2.5, h:insert("b", 2));
		assert.equal(7, h:insert("c", 3, 7));
		assert.equal(3.5, h:insert("d", 4));
		assert.same({ { 1, "a", 1.5 }, { 2, "b", 2.5 }, { 3, "c", 7 }, { 4, "d", 3.5 } }, drain(h));
	end);

	it("removes by id", function ()
		local h = ibh.create();
		local ids = {};
		for p = 1, 8 do ids[p] = h:insert("i" .. p, p); end
		assert.same({ 4, "i4", ids[4] }, { h:remove(ids[4]) });
		assert.same({ 1, "i1", ids[1] }, { h:remove(ids[1]) });
		assert.same({ 8, "i8", ids[8] }, { h:remove(ids[8]) });
		assert.same({}, { h:remove(ids[4]) });
		assert.same({}, { h:remove("never") });
		local left = {};
		for _, e in ipairs(drain(h)) do left[#left + 1] = e[1]; end
		assert.same({ 2, 3, 5, 6, 7 }, left);
		assert.is_nil(h.items[ids[2]]);
		assert.is_nil(h.index[ids[2]]);
	end);

	it("reprioritizes", function ()
		local h = ibh.create();
		local a = h:insert("a", 10);
		h:insert("b", 20);
		local c = h:insert("c", 30);
		h:reprioritize(c, 5);
		assert.equal(5, h:peek());
		h:reprioritize(c, 25);
		h:reprioritize(a, 40);
		h:reprioritize("missing", 1);
		local order = {};
		for _, e in ipairs(drain(h)) do order[#order + 1] = e[2]; end
		assert.same({ "b", "c", "a" }, order);
	end);

	it("remove_index takes the entry at a heap position", function ()
		local h = ibh.create();
		h:insert("x", 1);
		h:insert("y", 2);
		assert.same({ 1, "x", 1.5 }, { h:remove_index(1) });
		assert.same({}, { h:remove_index(5) });
		assert.equal(2, h:peek());
	end);

	it("keeps its order through mixed operations", function ()
		local h = ibh.create();
		local live = {};
		local seed = 12345;
		local function rand(n)
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed % n + 1;
		end
		for step = 1, 300 do
			local op = rand(4);
			if op <= 2 then
				local p = rand(1000);
				local id = h:insert(step, p);
				live[id] = p;
			elseif op == 3 then
				local priority, _, id = h:pop();
				if priority then
					for _, p in pairs(live) do assert.truthy(priority <= p); end
					live[id] = nil;
				end
			else
				local id = next(live);
				if id then
					local p = rand(1000);
					h:reprioritize(id, p);
					live[id] = p;
				end
			end
		end
		local last = -1;
		for _, e in ipairs(drain(h)) do
			assert.truthy(e[1] >= last);
			last = e[1];
			assert.equal(live[e[3]], e[1]);
			live[e[3]] = nil;
		end
		assert.is_nil(next(live));
	end);
end);
