-- Behaviour of util.hashring, consistent hashing.

local hashring = require "util.hashring";
local hashes = require "util.hashes";

local function sha256(s) return hashes.sha256(s, true); end

describe("util.hashring", function ()
	it("maps keys onto the node at the next point of the ring", function ()
		local ring = hashring.new(8, sha256);
		ring:add_nodes({ "a", "b", "c" });
		-- the expected node, worked out from the ring's definition
		local function expected(key)
			local points, owner = {}, {};
			for _, node in ipairs({ "a", "b", "c" }) do
				for i = 1, 8 do
					local p = sha256(node .. ":" .. i);
					points[#points + 1] = p;
					owner[p] = node;
				end
			end
			table.sort(points);
			local h = sha256(key);
			for _, p in ipairs(points) do
				if h < p then return owner[p]; end
			end
			return owner[points[1]];
		end
		for i = 1, 50 do
			local key = "user" .. i .. "@example.com";
			assert.equal(expected(key), ring:get_node(key), key);
		end
		assert.equal(24, #ring.ring);
	end);

	it("moves only the removed node's keys", function ()
		local ring = hashring.new(16, sha256);
		ring:add_nodes({ "a", "b", "c", "d" });
		local before = {};
		for i = 1, 100 do before[i] = ring:get_node("k" .. i); end
		assert.is_true(ring:remove_node("b"));
		assert.is_false(ring:remove_node("b"));
		for i = 1, 100 do
			local now = ring:get_node("k" .. i);
			assert.not_equal("b", now);
			if before[i] ~= "b" then assert.equal(before[i], now); end
		end
	end);

	it("add_node, add_nodes and remove_nodes keep the node list", function ()
		local ring = hashring.new(2, sha256);
		assert.is_true(ring:add_node("x"));
		assert.is_true(ring:add_nodes({ "x", "y", "z" }));
		assert.same({ "x", "y", "z" }, { ring.nodes[1], ring.nodes[2], ring.nodes[3], ring.nodes[4] });
		ring:remove_nodes({ "x", "z", "missing" });
		assert.same({ "y" }, { ring.nodes[1], ring.nodes[2] });
		assert.equal("y", ring:get_node("anything"));
	end);

	it("clone copies the nodes and settings", function ()
		local ring = hashring.new(4, sha256);
		ring:add_nodes({ "a", "b" });
		local copy = ring:clone();
		assert.equal(4, copy.num_replicas);
		assert.same({ "a", "b" }, { copy.nodes[1], copy.nodes[2] });
		for i = 1, 20 do
			assert.equal(ring:get_node("k" .. i), copy:get_node("k" .. i));
		end
		copy:remove_node("a");
		assert.equal(2, #ring.nodes);
	end);

	it("gives nil without nodes", function ()
		assert.is_nil(hashring.new(4, sha256):get_node("key"));
	end);
end);
