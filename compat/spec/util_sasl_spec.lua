-- Behaviour of util.sasl (and util.sasl.scram): choosing mechanisms from a
-- profile's backends, and PLAIN, ANONYMOUS, EXTERNAL and SCRAM exchanges,
-- with the SCRAM client side computed here.

local sasl = require "util.sasl";
local scram = require "util.sasl.scram";
local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;

local function keys(t)
	local out = {};
	for k in pairs(t) do out[#out + 1] = k; end
	table.sort(out);
	return out;
end

-- Byte-wise XOR without bit operators, for Lua 5.1 and 5.4 alike.
local function xor(a, b)
	local out = {};
	for i = 1, #a do
		local x, y, r, bit = a:byte(i), b:byte(i), 0, 1;
		for _ = 1, 8 do
			if x % 2 ~= y % 2 then r = r + bit; end
			x, y, bit = math.floor(x / 2), math.floor(y / 2), bit * 2;
		end
		out[i] = string.char(r);
	end
	return table.concat(out);
end

local function first3(a, b, c) return { a, b, c }; end

local algorithms = {
	["SHA-1"] = { H = hashes.sha1, HMAC = hashes.hmac_sha1, Hi = hashes.pbkdf2_hmac_sha1 },
	["SHA-256"] = { H = hashes.sha256, HMAC = hashes.hmac_sha256, Hi = hashes.pbkdf2_hmac_sha256 },
};

-- Runs a SCRAM exchange as a client would: the results of both steps.
local function scram_login(session, hash, username, password, opts)
	opts = opts or {};
	local alg = algorithms[hash];
	local gs2 = opts.gs2 or "n,,";
	local bare = "n=" .. username .. ",r=clientnonce";
	local status, server_first = session:process(gs2 .. bare);
	if status ~= "challenge" then return status, server_first; end
	local nonce, salt, iterations = server_first:match("^r=([^,]*),s=([^,]*),i=(%d+)$");
	local salted = alg.Hi(password, base64.decode(salt), tonumber(iterations));
	local client_key = alg.HMAC(salted, "Client Key");
	local binding = gs2 .. (opts.cb_data or "");
	local without_proof = "c=" .. base64.encode(binding) .. ",r=" .. (opts.nonce or nonce);
	local auth_message = bare .. "," .. server_first .. "," .. without_proof;
	local proof = xor(client_key, alg.HMAC(alg.H(client_key), auth_message));
	local s2, data, text = session:process(without_proof .. ",p=" .. base64.encode(proof));
	local expected = "v=" .. base64.encode(alg.HMAC(alg.HMAC(salted, "Server Key"), auth_message));
	return s2, data, text, expected, server_first;
end

describe("util.sasl", function ()
	local passwords = { romeo = "secret", juliet = "pass\194\160word" };
	local plain_profile = {
		plain = function (_, username)
			if username == "disabled" then return "x", false; end
			local pw = passwords[username];
			if pw then return pw, true; end
			return "", nil;
		end;
	};

	describe("mechanisms", function ()
		it("offers what the profile's backends support", function ()
			local s = sasl.new("example.com", { plain = function () end });
			assert.same({ "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { plain_test = function () end });
			assert.same({ "PLAIN" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { scram_sha_1 = function () end });
			assert.same({ "SCRAM-SHA-1" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { anonymous = function () end });
			assert.same({ "ANONYMOUS" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { external = function () end });
			assert.same({ "EXTERNAL" }, keys(s:mechanisms()));
		end);

		it("offers -PLUS only with a tls-unique channel binding", function ()
			local s = sasl.new("example.com", { plain = function () end, cb = { ["tls-unique"] = function () return "x"; end } });
			assert.same({ "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { plain = function () end, cb = { ["tls-exporter"] = function () end } });
			assert.same({ "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256" }, keys(s:mechanisms()));
			s = sasl.new("example.com", { plain = function () end });
			s:add_cb_handler("tls-unique", function () return "x"; end);
			assert.truthy(s:mechanisms()["SCRAM-SHA-1-PLUS"]);
		end);

		it("takes an explicit mechanism list, and remembers the computed one in the profile", function ()
			local profile = { plain = function () end, mechanisms = { PLAIN = true } };
			assert.same({ "PLAIN" }, keys(sasl.new("example.com", profile):mechanisms()));
			profile = { plain = function () end };
			sasl.new("example.com", profile);
			assert.same({ "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS" }, keys(profile.mechanisms));
		end);

		it("selects an offered mechanism once", function ()
			local s = sasl.new("example.com", plain_profile);
			assert.is_nil(s:select("DIGEST-MD5"));
			assert.is_true(s:select("PLAIN"));
			assert.is_nil(s:select("SCRAM-SHA-1"));
			assert.equal("PLAIN", s.selected);
		end);

		it("keeps realm and profile, and clean_clone starts afresh", function ()
			local s = sasl.new("example.com", plain_profile);
			assert.equal("example.com", s.realm);
			assert.equal(plain_profile, s.profile);
			s:select("PLAIN");
			local c = s:clean_clone();
			assert.is_nil(c.selected);
			assert.equal("example.com", c.realm);
			assert.is_true(c:select("SCRAM-SHA-1"));
		end);

		it("registers plugins' mechanisms", function ()
			sasl.registerMechanism("X-SPEC-TEST", { "x_spec_test" }, function (self, message)
				self.username = message;
				return "success", "welcome";
			end);
			local s = sasl.new("example.com", { x_spec_test = true });
			assert.same({ "X-SPEC-TEST" }, keys(s:mechanisms()));
			s:select("X-SPEC-TEST");
			assert.same({ "success", "welcome" }, { s:process("who") });
			assert.equal("who", s.username);
			assert.has_error(function () sasl.registerMechanism(1, {}, print); end);
			assert.has_error(function () sasl.registerMechanism("X", 1, print); end);
			assert.has_error(function () sasl.registerMechanism("X", {}, 1); end);
		end);
	end);

	describe("PLAIN", function ()
		local function plain(message, profile)
			local s = sasl.new("example.com", profile or plain_profile);
			assert.is_true(s:select("PLAIN"));
			return { s:process(message) }, s;
		end

		it("accepts the right password", function ()
			local result, s = plain("\0romeo\0secret");
			assert.same({ "success" }, result);
			assert.equal("romeo", s.username);
			assert.same({ "success" }, plain("romeo@example.com\0romeo\0secret"));
		end);

		it("applies SASLprep and nodeprep", function ()
			local result, s = plain("\0ROMEO\0secret");
			assert.same({ "success" }, result);
			assert.equal("romeo", s.username);
			-- U+00A0 maps to a space in SASLprep, on both sides
			assert.same({ "success" }, plain("\0juliet\0pass\194\160word"));
			assert.same({ "success" }, plain("\0juliet\0pass word"));
		end);

		it("can skip nodeprep", function ()
			local seen;
			local result = plain("\0ROMEO\0secret", { nodeprep = false, plain = function (_, u) seen = u; return "secret", true; end });
			assert.same({ "success" }, result);
			assert.equal("ROMEO", seen);
		end);

		it("refuses wrong passwords, unknown and disabled users", function ()
			local no = { "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent." };
			assert.same(no, plain("\0romeo\0wrong"));
			assert.same(no, plain("\0nobody\0secret"));
			assert.same({ "failure", "account-disabled" }, plain("\0disabled\0x"));
		end);

		it("refuses malformed messages", function ()
			assert.same({ "failure", "malformed-request" }, plain(nil));
			assert.same({ "failure", "malformed-request" }, plain("romeo"));
			assert.same({ "failure", "malformed-request" }, plain("\0\0secret"));
			assert.same({ "failure", "malformed-request" }, plain("\0romeo\0"));
			assert.same({ "failure", "malformed-request", "Invalid username or password." }, plain("\0romeo\0\7"));
			assert.same({ "failure", "malformed-request", "Invalid username or password." }, plain("\0a@b\0secret"));
		end);

		it("uses plain_test when there is no plain backend", function ()
			local args;
			local profile = { plain_test = function (_, u, p, realm) args = { u, p, realm }; return p == "ok", true; end };
			assert.same({ "success" }, plain("\0romeo\0ok", profile));
			assert.same({ "romeo", "ok", "example.com" }, args);
			assert.same({ "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent." }, plain("\0romeo\0no", profile));
		end);
	end);

	describe("ANONYMOUS", function ()
		it("makes up a lower-case username the profile accepts", function ()
			local tries = 0;
			local s = sasl.new("example.com", { anonymous = function (_, _, realm)
				assert.equal("example.com", realm);
				tries = tries + 1;
				return tries == 2;
			end });
			s:select("ANONYMOUS");
			assert.same({ "success" }, { s:process("") });
			assert.equal(2, tries);
			assert.is_string(s.username);
			assert.equal(s.username:lower(), s.username);
		end);
	end);

	describe("EXTERNAL", function ()
		local function external(state)
			local s = sasl.new("example.com", { external = function (authzid) return authzid, state; end });
			s:select("EXTERNAL");
			return { s:process("romeo") }, s;
		end

		it("lets the profile decide", function ()
			local result, s = external(true);
			assert.same({ "success" }, result);
			assert.equal("romeo", s.username);
			assert.same({ "failure", "account-disabled" }, external(false));
			assert.same({ "failure", "not-authorized" }, external(nil));
			assert.same({ "false", "credentials-expired" }, external("expired"));
		end);
	end);

	describe("SCRAM", function ()
		for _, hash in ipairs({ "SHA-1", "SHA-256" }) do
			describe(hash, function ()
				it("logs in from a plain password", function ()
					local s = sasl.new("example.com", plain_profile);
					assert.is_true(s:select("SCRAM-" .. hash));
					local status, data, _, expected, server_first = scram_login(s, hash, "romeo", "secret");
					assert.equal("success", status);
					assert.equal(expected, data);
					assert.equal("romeo", s.username);
					assert.truthy(server_first:match("^r=clientnonce[^,]+,s=[^,]+,i=10000$"));
				end);

				it("logs in from stored credentials", function ()
					local salt = "some salt";
					local ok, stored, server = scram.hashers[hash]("secret", salt, 4096);
					assert.is_true(ok);
					local backend = "scram_" .. hash:lower():gsub("-", "_");
					local s = sasl.new("example.com", { [backend] = function (_, username, realm)
						assert.equal("example.com", realm);
						if username == "romeo" then return stored, server, 4096, salt, true; end
						if username == "disabled" then return nil, nil, nil, nil, false; end
					end });
					assert.is_true(s:select("SCRAM-" .. hash));
					local status, data, _, expected, server_first = scram_login(s, hash, "romeo", "secret");
					assert.equal("success", status);
					assert.equal(expected, data);
					assert.equal("i=4096", server_first:match("i=%d+$"));
					assert.equal(base64.encode(salt), server_first:match(",s=([^,]+),"));

					s = s:clean_clone();
					s:select("SCRAM-" .. hash);
					assert.same({ "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated." },
						first3(scram_login(s, hash, "romeo", "wrong")));
					s = s:clean_clone();
					s:select("SCRAM-" .. hash);
					assert.same({ "failure", "not-authorized" }, first3(scram_login(s, hash, "nobody", "x")));
					s = s:clean_clone();
					s:select("SCRAM-" .. hash);
					assert.same({ "failure", "account-disabled" }, first3(scram_login(s, hash, "disabled", "x")));
				end);
			end);
		end

		local function session(profile)
			local s = sasl.new("example.com", profile or plain_profile);
			s:select("SCRAM-SHA-1");
			return s;
		end

		it("refuses wrong passwords", function ()
			local status, condition, text = scram_login(session(), "SHA-1", "romeo", "wrong");
			assert.equal("failure", status);
			assert.equal("not-authorized", condition);
			assert.equal("The response provided by the client doesn't match the one we calculated.", text);
		end);

		it("refuses unknown and disabled users", function ()
			assert.same({ "failure", "not-authorized" }, { session():process("n,,n=nobody,r=abc") });
			assert.same({ "failure", "account-disabled" }, { session():process("n,,n=disabled,r=abc") });
		end);

		it("refuses malformed client-first messages", function ()
			assert.same({ "failure", "malformed-request" }, { session():process("") });
			assert.same({ "failure", "malformed-request" }, { session():process(nil) });
			assert.same({ "failure", "malformed-request" }, { session():process("x,,n=romeo,r=abc") });
			assert.same({ "failure", "malformed-request" }, { session():process("n,,r=abc") });
			assert.same({ "failure", "malformed-request", "Invalid username." }, { session():process("n,,n=ro=41meo,r=abc") });
			assert.same({ "failure", "malformed-request", "Invalid username." }, { session():process("n,,n=,r=abc") });
		end);

		it("unescapes =2C and =3D in usernames", function ()
			local seen;
			local s = session({ nodeprep = false, plain = function (_, username) seen = username; return "pw", true; end });
			assert.equal("challenge", (s:process("n,,n=a=2Cb=3Dc,r=abc")));
			assert.equal("a,b=c", seen);
			assert.equal("a,b=c", s.username);
		end);

		it("checks the nonce and the channel binding header", function ()
			local status, condition, text = scram_login(session(), "SHA-1", "romeo", "secret", { nonce = "other" });
			assert.same({ "failure", "malformed-request", "Wrong nonce in client-final-message." }, { status, condition, text });
			status, condition, text = scram_login(session(), "SHA-1", "romeo", "secret", { cb_data = "junk" });
			assert.same({ "failure", "malformed-request", "Invalid channel binding value." }, { status, condition, text });
			local s = session();
			s:process("n,,n=romeo,r=abc");
			assert.same({ "failure", "malformed-request", "Missing an attribute(p, r or c) in SASL message." }, { s:process("c=biws,r=abc") });
		end);

		it("binds to the channel with -PLUS", function ()
			local profile = { plain = plain_profile.plain, cb = { ["tls-unique"] = function () return "channel-data"; end } };
			local s = sasl.new("example.com", profile);
			assert.is_true(s:select("SCRAM-SHA-1-PLUS"));
			local status, data, _, expected = scram_login(s, "SHA-1", "romeo", "secret", { gs2 = "p=tls-unique,,", cb_data = "channel-data" });
			assert.equal("success", status);
			assert.equal(expected, data);

			s = sasl.new("example.com", profile);
			s:select("SCRAM-SHA-1-PLUS");
			assert.same({ "failure", "malformed-request", "Invalid channel binding value." },
				first3(scram_login(s, "SHA-1", "romeo", "secret", { gs2 = "p=tls-unique,,", cb_data = "other-data" })));

			s = sasl.new("example.com", profile);
			s:select("SCRAM-SHA-1");
			assert.same({ "failure", "malformed-request", "Proposed channel binding type isn't supported." },
				{ s:process("p=tls-exporter,,n=romeo,r=abc") });
			-- "y": the client could bind but thinks we cannot; we can
			s = sasl.new("example.com", profile);
			s:select("SCRAM-SHA-1");
			assert.same({ "failure", "malformed-request" }, { s:process("y,,n=romeo,r=abc") });
			-- without binding support on our side, "y" is fine
			s = session();
			assert.equal("challenge", (s:process("y,,n=romeo,r=abc")));
		end);
	end);

	describe("util.sasl.scram", function ()
		it("derives stored credentials", function ()
			-- RFC 5802's example: user "user", password "pencil"
			local salt = base64.decode("QSXCR+Q6sek8bf92");
			local ok, stored, server = scram.hashers["SHA-1"]("pencil", salt, 4096);
			assert.is_true(ok);
			local salted = hashes.pbkdf2_hmac_sha1("pencil", salt, 4096);
			assert.equal(hashes.sha1(hashes.hmac_sha1(salted, "Client Key")), stored);
			assert.equal(hashes.hmac_sha1(salted, "Server Key"), server);
			assert.equal(20, #stored);
			assert.same({ true, stored, server }, { scram.getAuthenticationDatabaseSHA1("pencil", salt, 4096) });
			local ok256, stored256 = scram.hashers["SHA-256"]("pencil", salt, 4096);
			assert.is_true(ok256);
			assert.equal(32, #stored256);
		end);

		it("get_hash builds a deriver from hash functions", function ()
			local derive = scram.get_hash(hashes.sha256, hashes.hmac_sha256, hashes.pbkdf2_hmac_sha256);
			assert.same({ scram.hashers["SHA-256"]("pw", "salt", 4096) }, { derive("pw", "salt", 4096) });
		end);

		it("refuses bad arguments and passwords SASLprep rejects", function ()
			assert.same({ false, "inappropriate argument types" }, { scram.hashers["SHA-1"]("pw", "salt", "4096") });
			assert.same({ false, "inappropriate argument types" }, { scram.hashers["SHA-1"](nil, "salt", 4096) });
			assert.same({ false, "password fails SASLprep" }, { scram.hashers["SHA-1"]("\7", "salt", 4096) });
		end);
	end);
end);
