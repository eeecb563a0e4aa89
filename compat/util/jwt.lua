-- util.jwt: HS256 JSON Web Tokens, as Prosody 0.12's util.jwt (which has
-- no other algorithm).
--
-- sign(key, payload) gives header.payload.signature, base64url without
-- padding, the header always {"alg":"HS256","typ":"JWT"} and the payload
-- util.json's encoding. verify(key, token) gives true and the decoded
-- payload, or nil and "invalid-encoding" (not three base64url parts),
-- "invalid-header" (not a JSON object), "unsupported-algorithm" (alg other
-- than HS256) or "json-decode-error" (payload), or false and
-- "signature-mismatch".

local json = require "util.json";
local hashes = require "util.hashes";
local base64 = require "util.encodings".base64;

local to_url = { ["+"] = "-", ["/"] = "_", ["="] = "" };
local from_url = { ["-"] = "+", ["_"] = "/" };

local function b64url(data)
	return (base64.encode(data):gsub("[+/=]", to_url));
end

local function unb64url(text)
	return base64.decode(text:gsub("[-_]", from_url) .. "==");
end

local header = b64url('{"alg":"HS256","typ":"JWT"}');

local function sign(key, payload)
	local signed = header .. "." .. b64url(json.encode(payload));
	return signed .. "." .. b64url(hashes.hmac_sha256(key, signed));
end

local part = "[%w_-]+";
local token_pattern = "^((" .. part .. ")%.(" .. part .. "))%.(" .. part .. ")$";

local function verify(key, token)
	local signed, head, body, signature = token:match(token_pattern);
	if not signed then return nil, "invalid-encoding"; end
	local decoded_head = json.decode(unb64url(head));
	if type(decoded_head) ~= "table" then return nil, "invalid-header"; end
	if decoded_head.alg ~= "HS256" then return nil, "unsupported-algorithm"; end
	if not hashes.equals(b64url(hashes.hmac_sha256(key, signed)), signature) then
		return false, "signature-mismatch";
	end
	local payload, err = json.decode(unb64url(body));
	if err ~= nil then return nil, "json-decode-error"; end
	return true, payload;
end

return { sign = sign, verify = verify };
