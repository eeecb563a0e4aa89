-- Behaviour of util.jwt (HS256 only, as in Prosody 0.12).

local jwt = require "util.jwt";
local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;

local function b64url(s)
	return (base64.encode(s):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }));
end

-- A token over any header and payload text, signed with key.
local function forge(key, header, payload)
	local signed = b64url(header) .. "." .. b64url(payload);
	return signed .. "." .. b64url(hashes.hmac_sha256(key, signed));
end

describe("util.jwt", function ()
	it("signs with a fixed HS256 header", function ()
		assert.equal("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9."
			.. "c3brGQkxoiCgrl5LGiV0go9qgN0MtrdnDBCCfJ45f_Q", jwt.sign("secret", { sub = "alice" }));
	end);

	it("writes base64url without padding", function ()
		local token = jwt.sign("k", { data = "\255\254\253?>" });
		assert.falsy(token:find("[+/=]"));
		assert.equal(2, select(2, token:gsub("%.", ".")));
	end);

	it("verifies what it signed and returns the payload", function ()
		local payload = { sub = "alice", n = 42, list = { 1, 2 }, nested = { ok = true } };
		local ok, got = jwt.verify("secret", jwt.sign("secret", payload));
		assert.is_true(ok);
		assert.same(payload, got);
	end);

	it("refuses another key's signature", function ()
		local ok, err = jwt.verify("other", jwt.sign("secret", { sub = "alice" }));
		assert.is_false(ok);
		assert.equal("signature-mismatch", err);
	end);

	it("refuses a changed payload", function ()
		local token = jwt.sign("secret", { admin = false });
		local head, _, sig = token:match("^([^.]+)%.([^.]+)%.([^.]+)$");
		local ok, err = jwt.verify("secret", head .. "." .. b64url('{"admin":true}') .. "." .. sig);
		assert.is_false(ok);
		assert.equal("signature-mismatch", err);
	end);

	it("refuses what is not three base64url parts", function ()
		for _, bad in ipairs({ "", "a.b", "a.b.c.d", "a..c", "a.b.c=", "a.b+.c", "a b.c.d" }) do
			local ok, err = jwt.verify("secret", bad);
			assert.is_nil(ok, bad);
			assert.equal("invalid-encoding", err, bad);
		end
	end);

	it("refuses a header that is not a JSON object", function ()
		local ok, err = jwt.verify("secret", b64url("notjson") .. ".e30.sig");
		assert.is_nil(ok);
		assert.equal("invalid-header", err);
		ok, err = jwt.verify("secret", b64url("123") .. ".e30.sig");
		assert.is_nil(ok);
		assert.equal("invalid-header", err);
	end);

	it("refuses other algorithms before checking the signature", function ()
		local ok, err = jwt.verify("secret", b64url('{"alg":"none"}') .. ".e30.sig");
		assert.is_nil(ok);
		assert.equal("unsupported-algorithm", err);
		ok, err = jwt.verify("secret", forge("secret", '{"alg":"HS512"}', "{}"));
		assert.is_nil(ok);
		assert.equal("unsupported-algorithm", err);
	end);

	it("accepts any header with alg HS256", function ()
		local ok, payload = jwt.verify("k", forge("k", '{"alg":"HS256"}', '{"x":1}'));
		assert.is_true(ok);
		assert.same({ x = 1 }, payload);
	end);

	it("reports a correctly signed payload that is not JSON", function ()
		local ok, err = jwt.verify("k", forge("k", '{"alg":"HS256","typ":"JWT"}', "notjson"));
		assert.is_nil(ok);
		assert.equal("json-decode-error", err);
	end);
end);
