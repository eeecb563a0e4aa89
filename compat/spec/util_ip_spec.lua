-- Behaviour of util.ip: parsing, canonical forms, prefixes and RFC 6724
-- properties of IPv4 and IPv6 addresses.

local ip = require "util.ip";
local new_ip = ip.new_ip;

describe("util.ip", function ()
	describe("new_ip", function ()
		it("parses IPv4", function ()
			local a = new_ip("192.0.2.1");
			assert.equal("192.0.2.1", a.addr);
			assert.equal("IPv4", a.proto);
			assert.equal("\192\0\2\1", a.packed);
			assert.is_nil(a.zone);
			assert.equal("192.0.2.1", tostring(a));
		end);

		it("parses IPv6 and keeps the text as given", function ()
			local a = new_ip("2001:DB8:0:0:1:0:0:1");
			assert.equal("IPv6", a.proto);
			assert.equal(16, #a.packed);
			assert.equal("2001:DB8:0:0:1:0:0:1", a.addr);
			assert.equal("2001:db8::1:0:0:1", a.normal);
		end);

		it("splits off a zone", function ()
			local a = new_ip("fe80::1%eth0");
			assert.equal("fe80::1", a.addr);
			assert.equal("eth0", a.zone);
			assert.is_nil(new_ip("fe80::1%eth0", "IPv4"));
		end);

		it("refuses what inet_pton refuses", function ()
			for _, bad in ipairs({ "", "abc", "1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.04", " 1.2.3.4",
				"1.2.3.4 ", ":1::", "1:::2", "12345::", "1.2.3.4::", "::1.2.3", "1:2:3:4:5:6:7:8:9",
				"1:2:3:4::5:6:7:8", ":", "::1::", "1:", "g::", "::ffff:1.2.3.256" }) do
				local a, err = new_ip(bad);
				assert.is_nil(a, bad);
				assert.equal("Invalid argument", err, bad);
			end
		end);

		it("accepts the forms inet_pton accepts", function ()
			for text, normal in pairs({
				["::"] = "::", ["::1"] = "::1", ["1::"] = "1::", ["1:2:3:4:5:6:7::"] = "1:2:3:4:5:6:7:0",
				["::2:3:4:5:6:7:8"] = "0:2:3:4:5:6:7:8", ["1::2:3:4:5:6:7"] = "1:0:2:3:4:5:6:7",
				["0:0:0:0:0:0:0:0"] = "::", ["1:0:0:2:0:0:0:3"] = "1:0:0:2::3",
				["1:0:0:1:0:0:1:0"] = "1::1:0:0:1:0", ["::1:0:0:0:0:0:0"] = "0:1::",
				["2001:0db8:0000:0000:0000:ff00:0042:8329"] = "2001:db8::ff00:42:8329",
				["1:2:3:4:5:6:1.2.3.4"] = "1:2:3:4:5:6:102:304", ["0.0.0.0"] = "0.0.0.0",
				["::ffff:1.2.3.4"] = "::ffff:1.2.3.4", ["0:0:0:0:0:ffff:102:304"] = "::ffff:1.2.3.4",
				["::ffff:0:0"] = "::ffff:0.0.0.0", ["::ffff:1:2"] = "::ffff:0.1.0.2",
				["::1.2.3.4"] = "::1.2.3.4", ["::1:2"] = "::0.1.0.2", ["::0.0.0.1"] = "::1", ["::2"] = "::2",
			}) do
				local a = new_ip(text);
				assert.is_not_nil(a, text);
				assert.equal(normal, a.normal, text);
			end
		end);

		it("checks a requested protocol", function ()
			assert.same({ nil, "invalid-ipv6" }, { new_ip("1.2.3.4", "IPv6") });
			assert.same({ nil, "invalid-ipv4" }, { new_ip("::1", "IPv4") });
			assert.same({ nil, "invalid protocol" }, { new_ip("::1", "IPv5") });
			assert.equal("IPv4", new_ip("1.2.3.4", "IPv4").proto);
		end);
	end);

	it("compares by address bytes", function ()
		assert.truthy(new_ip("1.2.3.4") == new_ip("1.2.3.4"));
		assert.truthy(new_ip("::1") == new_ip("0:0::1"));
		assert.falsy(new_ip("::ffff:1.2.3.4") == new_ip("1.2.3.4"));
		assert.falsy(new_ip("::1") == new_ip("::2"));
	end);

	it("gives the bits", function ()
		assert.equal("00000001000000100000001100000100", new_ip("1.2.3.4").bits);
		assert.equal(string.rep("0", 80) .. string.rep("1", 16) .. "00000001000000100000001100000100",
			new_ip("1.2.3.4").bits_full);
		assert.equal(string.rep("0", 127) .. "1", new_ip("::1").bits);
		assert.equal(new_ip("::1").bits, new_ip("::1").bits_full);
	end);

	it("maps IPv4 into IPv6", function ()
		local m = new_ip("1.2.3.4").toV4mapped;
		assert.equal("::ffff:1.2.3.4", m.addr);
		assert.equal("IPv6", m.proto);
		assert.is_nil(new_ip("::1").toV4mapped);
	end);

	it("keeps computed fields", function ()
		local a = new_ip("10.0.0.1");
		assert.is_nil(rawget(a, "normal"));
		local _ = a.normal;
		assert.equal("10.0.0.1", rawget(a, "normal"));
		assert.is_nil(a.no_such_field);
	end);

	describe("scope, private, label, precedence", function ()
		local expected = {
			-- address: scope, private, label, precedence
			["127.0.0.1"] = { 2, true, 4, 35 }, ["169.254.1.1"] = { 2, true, 4, 35 },
			["10.1.1.1"] = { 14, true, 4, 35 }, ["172.16.5.4"] = { 14, true, 4, 35 },
			["172.32.0.1"] = { 14, false, 4, 35 }, ["192.168.1.1"] = { 14, true, 4, 35 },
			["100.64.0.1"] = { 14, true, 4, 35 }, ["8.8.8.8"] = { 14, false, 4, 35 },
			["::1"] = { 2, true, 0, 50 }, ["::"] = { 14, false, 3, 1 },
			["fe80::1"] = { 2, true, 1, 40 }, ["fec0::1"] = { 5, true, 11, 1 },
			["fc00::1"] = { 14, false, 13, 3 }, ["ff02::1"] = { 2, true, 1, 40 },
			["ff05::1"] = { 5, true, 1, 40 }, ["2002::1"] = { 14, false, 2, 30 },
			["2001::1"] = { 14, false, 5, 5 }, ["3ffe::1"] = { 14, false, 12, 1 },
			["::2"] = { 14, false, 3, 1 }, ["2001:db8::1"] = { 14, false, 1, 40 },
			["::ffff:1.2.3.4"] = { 14, false, 4, 35 }, ["::1.2.3.4"] = { 14, false, 3, 1 },
		};
		for text, want in pairs(expected) do
			it(text, function ()
				local a = new_ip(text);
				assert.same(want, { a.scope, a.private, a.label, a.precedence });
			end);
		end
	end);

	describe("match", function ()
		it("compares a prefix of the bits", function ()
			assert.is_true(ip.match(new_ip("10.1.2.3"), new_ip("10.0.0.0"), 8));
			assert.is_false(ip.match(new_ip("11.1.2.3"), new_ip("10.0.0.0"), 8));
			assert.is_true(ip.match(new_ip("2001:db8::1"), new_ip("2001:db8::"), 32));
			assert.is_false(ip.match(new_ip("2001:db9::1"), new_ip("2001:db8::"), 32));
		end);

		it("is equality without bits or with all of them", function ()
			assert.is_true(ip.match(new_ip("1.2.3.4"), new_ip("1.2.3.4")));
			assert.is_false(ip.match(new_ip("1.2.3.4"), new_ip("1.2.3.5"), 32));
			assert.is_true(ip.match(new_ip("::1"), new_ip("::1"), 128));
		end);

		it("matches anything with no bits", function ()
			assert.is_true(ip.match(new_ip("1.2.3.4"), new_ip("5.6.7.8"), 0));
		end);

		it("crosses protocols through IPv4-mapped addresses", function ()
			assert.is_true(ip.match(new_ip("::ffff:10.1.2.3"), new_ip("10.0.0.0"), 8));
			assert.is_true(ip.match(new_ip("10.1.2.3"), new_ip("::ffff:10.0.0.0"), 104));
			assert.is_false(ip.match(new_ip("11.1.2.3"), new_ip("::ffff:10.0.0.0"), 104));
		end);
	end);

	describe("parse_cidr", function ()
		it("splits address and bits", function ()
			local net, bits = ip.parse_cidr("10.0.0.0/8");
			assert.equal("10.0.0.0", net.addr);
			assert.equal(8, bits);
			net, bits = ip.parse_cidr("2001:db8::/32");
			assert.equal("IPv6", net.proto);
			assert.equal(32, bits);
		end);

		it("has no bits without a slash", function ()
			local net, bits = ip.parse_cidr("10.0.0.1");
			assert.equal("10.0.0.1", net.addr);
			assert.is_nil(bits);
		end);

		it("gives nil for a bad address, still with the bits", function ()
			local net, bits = ip.parse_cidr("bad/8");
			assert.is_nil(net);
			assert.equal(8, bits);
		end);

		it("feeds match", function ()
			assert.is_true(ip.match(new_ip("192.168.7.1"), ip.parse_cidr("192.168.0.0/16")));
		end);
	end);

	it("commonPrefixLength counts shared leading bits", function ()
		assert.equal(120, ip.commonPrefixLength(new_ip("2001:db8::1"), new_ip("2001:db8::ff")));
		assert.equal(127, ip.commonPrefixLength(new_ip("1.2.3.4"), new_ip("1.2.3.5")));
		assert.equal(128, ip.commonPrefixLength(new_ip("::1"), new_ip("::1")));
		assert.equal(0, ip.commonPrefixLength(new_ip("8000::"), new_ip("::")));
	end);
end);
