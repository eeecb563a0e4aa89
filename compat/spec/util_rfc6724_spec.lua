-- Behaviour of util.rfc6724, RFC 6724 address selection, with examples
-- from RFC 6724 section 10. It needs util.ip; without one the tests are
-- pending.

local has_ip, ip = pcall(require, "util.ip");
local rfc6724 = require "util.rfc6724";

local function addresses(list)
	local out = {};
	for i, a in ipairs(list) do out[i] = ip.new_ip(a); end
	return out;
end

local function texts(list)
	local out = {};
	for i, a in ipairs(list) do out[i] = a.addr; end
	return out;
end

describe("util.rfc6724", function ()
	if not has_ip then
		pending("util.ip is not available");
		return;
	end

	it("picks source addresses", function ()
		local function pick(dest, candidates)
			return rfc6724.source(ip.new_ip(dest), addresses(candidates)).addr;
		end
		assert.equal("2001:db8:1::1", pick("2001:db8:1::1", { "2001:db8:3::1", "2001:db8:1::1" }));
		assert.equal("fe80::1", pick("fe80::1", { "2001:db8:1::1", "fe80::1" }));
		assert.equal("2001:db8:1::2", pick("2001:db8:1::1", { "2001:db8:1::2", "2001:db8:3::2" }));
		assert.equal("fe80::2", pick("ff01::1", { "2001:db8:1::2", "fe80::2" }));
	end);

	it("orders destination addresses", function ()
		local function order(dests, sources)
			return texts(rfc6724.destination(addresses(dests), addresses(sources)));
		end
		assert.same({ "2001:db8:1::1", "198.51.100.121" },
			order({ "2001:db8:1::1", "198.51.100.121" }, { "2001:db8:1::2", "fe80::1", "169.254.13.78" }));
		assert.same({ "198.51.100.121", "2001:db8:1::1" },
			order({ "2001:db8:1::1", "198.51.100.121" }, { "fe80::1", "198.51.100.117" }));
		-- the smaller scope first
		assert.same({ "fe80::1", "2001:db8:1::1" },
			order({ "2001:db8:1::1", "fe80::1" }, { "2001:db8:1::2", "fe80::2" }));
	end);
end);
