-- util.sasl.scram: the SCRAM mechanisms (RFC 5802, RFC 7677) of Prosody
-- 0.12's util.sasl, and the helpers authentication providers use to derive
-- stored credentials.
--
-- hashers["SHA-1"] / hashers["SHA-256"] (and get_hash(H, HMAC, Hi) for
-- another hash) derive credentials: f(password, salt, iterations) →
-- true, stored_key, server_key, or false and why. init(register) registers
-- SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants with util.sasl (the
-- same exchange, offered only when the profile has a tls-unique binding). A profile backs them with either `plain` (the password, from
-- which credentials are derived on the fly with a fresh salt and 10000
-- iterations) or scram_sha_1 / scram_sha_256 (stored credentials).
--
-- Unlike Prosody's, `hashers` is filled when this module loads, not only
-- once util.sasl has called init.

local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;
local stringprep = require "util.encodings".stringprep;
local new_uuid = require "util.uuid".generate;
local bxor = require "util.bitcompat".bxor;

local type, ipairs, s_byte, s_char, t_concat = type, ipairs, string.byte, string.char, table.concat;
local saslprep, nodeprep = stringprep.saslprep, stringprep.nodeprep;

local DEFAULT_ITERATIONS = 10000;

-- a XOR b, byte by byte over a, b repeating (as util.strbitop.sxor).
local function xor_strings(a, b)
	local nb = #b;
	if nb == 0 then return ""; end
	local out = {};
	for i = 1, #a do
		out[i] = s_char(bxor(s_byte(a, i), s_byte(b, (i - 1) % nb + 1)));
	end
	return t_concat(out);
end

local function get_hash(H, HMAC, Hi)
	return function (password, salt, iterations)
		if type(password) ~= "string" or type(salt) ~= "string" or type(iterations) ~= "number" then
			return false, "inappropriate argument types";
		end
		password = saslprep(password);
		if not password then
			return false, "password fails SASLprep";
		end
		local salted = Hi(password, salt, iterations);
		return true, H(HMAC(salted, "Client Key")), HMAC(salted, "Server Key");
	end
end

-- The username of a client-first-message: only =2C and =3D may be escaped;
-- then SASLprep and (unless the profile says nodeprep = false) nodeprep.
local function prep_username(name, prep)
	for escape in name:gmatch("=(.?.?)") do
		if escape ~= "2C" and escape ~= "3D" then return false; end
	end
	name = saslprep((name:gsub("=2C", ","):gsub("=3D", "=")));
	if name and prep ~= false then
		name = (prep or nodeprep)(name);
	end
	return name and #name > 0 and name;
end

local function mechanism(backend, H, HMAC, derive)
	local function first(self, message)
		local profile = self.profile;
		local cb = profile.cb ~= nil;
		-- gs2-header (flag [=cb-name] , [authzid] ,) then the bare message
		local gs2_header, flag, cb_name, _, bare, username, client_nonce =
			message:match("^(([pny])=?([^,]*),([^,]*),)(m?=?[^,]*,?n=([^,]*),r=([^,]*),?.*)$");
		if not flag then
			return "failure", "malformed-request";
		end
		if cb and flag == "y" then
			-- the client thinks we do not support binding, but we do
			return "failure", "malformed-request";
		end
		if flag == "n" then cb = false; end
		if cb and flag == "p" then
			if not profile.cb[cb_name] then
				return "failure", "malformed-request", "Proposed channel binding type isn't supported.";
			end
		else
			cb_name = nil;
		end
		username = prep_username(username, profile.nodeprep);
		if not username then
			return "failure", "malformed-request", "Invalid username.";
		end
		self.username = username;

		local stored_key, server_key, iterations, salt, status;
		if profile.plain then
			local password;
			password, status = profile.plain(self, username, self.realm);
			if status == nil then return "failure", "not-authorized";
			elseif status == false then return "failure", "account-disabled"; end
			password = saslprep(password);
			if not password then
				return "failure", "not-authorized", "Invalid password.";
			end
			salt, iterations = new_uuid(), DEFAULT_ITERATIONS;
			local ok;
			ok, stored_key, server_key = derive(password, salt, iterations);
			if not ok then
				return "failure", "temporary-auth-failure";
			end
		elseif profile[backend] then
			stored_key, server_key, iterations, salt, status = profile[backend](self, username, self.realm);
			if status == nil then return "failure", "not-authorized";
			elseif status == false then return "failure", "account-disabled"; end
		end

		local nonce = client_nonce .. new_uuid();
		local server_first = ("r=%s,s=%s,i=%d"):format(nonce, base64.encode(salt), iterations);
		self.state = {
			gs2_header = gs2_header;
			gs2_cbind_name = cb_name;
			username = self.username;
			nonce = nonce;
			server_key = server_key;
			stored_key = stored_key;
			client_first_message_bare = bare;
			server_first_message = server_first;
		};
		return "challenge", server_first;
	end

	local function final(self, state, message)
		local without_proof, binding, nonce, proof = message:match("(c=([^,]*),r=([^,]*),?.-),p=(.*)$");
		if not (proof and nonce and binding) then
			return "failure", "malformed-request", "Missing an attribute(p, r or c) in SASL message.";
		end
		local expected = state.gs2_header;
		if state.gs2_cbind_name then
			expected = expected .. self.profile.cb[state.gs2_cbind_name](self);
		end
		if base64.decode(binding) ~= expected then
			return "failure", "malformed-request", "Invalid channel binding value.";
		end
		if nonce ~= state.nonce then
			return "failure", "malformed-request", "Wrong nonce in client-final-message.";
		end
		local auth_message = state.client_first_message_bare .. "," .. state.server_first_message .. "," .. without_proof;
		local client_key = xor_strings(HMAC(state.stored_key, auth_message), base64.decode(proof));
		if H(client_key) ~= state.stored_key then
			return "failure", "not-authorized", "The response provided by the client doesn't match the one we calculated.";
		end
		return "success", "v=" .. base64.encode(HMAC(state.server_key, auth_message));
	end

	return function (self, message)
		if type(message) ~= "string" or #message == 0 then
			return "failure", "malformed-request";
		end
		local state = self.state;
		if state then
			return final(self, state, message);
		end
		return first(self, message);
	end
end

local algorithms = {
	{ "SHA-1", hashes.sha1, hashes.hmac_sha1, hashes.pbkdf2_hmac_sha1 },
	{ "SHA-256", hashes.sha256, hashes.hmac_sha256, hashes.pbkdf2_hmac_sha256 },
};

local hashers = {};
for _, a in ipairs(algorithms) do
	hashers[a[1]] = get_hash(a[2], a[3], a[4]);
end

local function init(register)
	for _, a in ipairs(algorithms) do
		local name, H, HMAC = a[1], a[2], a[3];
		local derive = hashers[name];
		local backend = "scram_" .. name:lower():gsub("-", "_");
		register("SCRAM-" .. name, { "plain", backend }, mechanism(backend, H, HMAC, derive));
		register("SCRAM-" .. name .. "-PLUS", { "plain", backend }, mechanism(backend, H, HMAC, derive), { "tls-unique" });
	end
end

return {
	get_hash = get_hash;
	hashers = hashers;
	getAuthenticationDatabaseSHA1 = hashers["SHA-1"];
	init = init;
};
