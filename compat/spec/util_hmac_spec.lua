-- Behaviour of util.hmac, the old name for util.hashes' HMAC functions
-- (RFC 4231 and RFC 2202 test vectors).

local hmac = require "util.hmac";
local hex = require "util.hex";

describe("util.hmac", function ()
	local key, data = string.rep("\11", 20), "Hi There";

	it("sha256", function ()
		assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", hex.encode(hmac.sha256(key, data)));
		assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", hmac.sha256(key, data, true));
	end);

	it("sha512", function ()
		assert.equal("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
			.. "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854", hmac.sha512(key, data, true));
	end);

	it("sha1", function ()
		assert.equal("b617318655057264e28bc0b6fb378c8ef146be00", hmac.sha1(key, data, true));
	end);

	it("md5", function ()
		assert.equal("9294727a3638bb1c13f48ef8158bfc9d", hmac.md5(string.rep("\11", 16), data, true));
	end);

	it("gives raw bytes without the hex flag", function ()
		assert.equal(32, #hmac.sha256("k", "m"));
		assert.equal(20, #hmac.sha1("k", "m"));
	end);

	it("takes keys longer than a block", function ()
		assert.equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
			hmac.sha256(string.rep("\170", 131), "Test Using Larger Than Block-Size Key - Hash Key First", true));
	end);
end);
