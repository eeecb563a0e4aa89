-- util.sasl: server-side SASL, as Prosody 0.12's util.sasl.
--
-- A profile is a table of backends an authentication provider offers
-- (plain = function(sasl, username, realm) return password, state end;
-- plain_test = function(sasl, username, password, realm) return ok, state end;
-- scram_sha_1 / scram_sha_256 = function(sasl, username, realm) return
-- stored_key, server_key, iterations, salt, state end; anonymous; external),
-- optionally with channel-binding handlers in profile.cb and a nodeprep
-- function (false to skip nodeprep). new(realm, profile) gives a session
-- offering every mechanism one of the profile's backends supports;
-- :mechanisms() is the set of them on offer (the -PLUS ones only with a
-- matching channel binding), :select(name) picks one (once), and
-- :process(message) runs a step: "success" [, data], "challenge", data, or
-- "failure", condition [, text].
--
-- Mechanisms built in: PLAIN, ANONYMOUS, EXTERNAL, SCRAM-SHA-1(-PLUS) and
-- SCRAM-SHA-256(-PLUS) (the latter from util.sasl.scram). Plugins add more
-- with registerMechanism(name, backends, handler, channel_bindings).

local encodings = require "util.encodings";
local saslprep = encodings.stringprep.saslprep;
local nodeprep = encodings.stringprep.nodeprep;
local new_id = require "util.id".medium;

local assert, type, pairs, ipairs, setmetatable = assert, type, pairs, ipairs, setmetatable;

local handlers = {}; -- mechanism name → function (sasl, message)
local by_backend = {}; -- backend name → list of mechanism names
local channel_bindings = {}; -- mechanism name → set of binding types it needs

local function registerMechanism(name, backends, handler, cb_types)
	assert(type(name) == "string", "Parameter name MUST be a string.");
	assert(type(backends) == "string" or type(backends) == "table", "Parameter backends MUST be either a string or a table.");
	assert(type(handler) == "function", "Parameter f MUST be a function.");
	if cb_types then assert(type(cb_types) == "table"); end
	handlers[name] = handler;
	if cb_types then
		local needed = {};
		for _, cb in ipairs(cb_types) do needed[cb] = true; end
		channel_bindings[name] = needed;
	end
	-- (Prosody takes a single backend given as a string, but registers it
	-- under no backend; so does this.)
	if type(backends) == "table" then
		for _, backend in ipairs(backends) do
			local list = by_backend[backend];
			if not list then list = {}; by_backend[backend] = list; end
			list[#list + 1] = name;
		end
	end
end

local session = {};
session.__index = session;

local function new(realm, profile)
	local mechs = profile.mechanisms;
	if not mechs then
		mechs = {};
		for backend in pairs(profile) do
			for _, name in ipairs(by_backend[backend] or {}) do
				mechs[name] = true;
			end
		end
		-- remembered in the profile, as Prosody does
		profile.mechanisms = mechs;
	end
	return setmetatable({ profile = profile, realm = realm, mechs = mechs }, session);
end

function session:add_cb_handler(name, handler)
	if type(self.profile.cb) ~= "table" then
		self.profile.cb = {};
	end
	self.profile.cb[name] = handler;
	return self;
end

function session:clean_clone()
	return new(self.realm, self.profile);
end

function session:mechanisms()
	local offered = {};
	local cb = self.profile.cb;
	for name in pairs(self.mechs) do
		local needs = channel_bindings[name];
		if not needs then
			offered[name] = true;
		elseif cb then
			for cb_type in pairs(cb) do
				if needs[cb_type] then offered[name] = true; end
			end
		end
	end
	return offered;
end

function session:select(name)
	if not self.selected and self.mechs[name] then
		self.selected = name;
		return true;
	end
end

function session:process(message)
	return handlers[self.selected](self, message);
end

-- PLAIN (RFC 4616): authzid NUL authcid NUL password.
local function plain(self, message)
	if not message then
		return "failure", "malformed-request";
	end
	local authzid, username, password = message:match("^([^%z]*)%z([^%z]+)%z([^%z]+)");
	if not authzid then
		return "failure", "malformed-request";
	end
	username, password = saslprep(username), saslprep(password);
	if not username or username == "" or not password or password == "" then
		return "failure", "malformed-request", "Invalid username or password.";
	end
	local prep = self.profile.nodeprep;
	if prep ~= false then
		username = (prep or nodeprep)(username);
		if not username or username == "" then
			return "failure", "malformed-request", "Invalid username or password.";
		end
	end
	self.username = username;

	local correct, state = false, false;
	local profile = self.profile;
	if profile.plain then
		local stored;
		stored, state = profile.plain(self, username, self.realm);
		correct = saslprep(stored) == password;
	elseif profile.plain_test then
		correct, state = profile.plain_test(self, username, password, self.realm);
	end
	if state == false then
		return "failure", "account-disabled";
	elseif state == nil or not correct then
		return "failure", "not-authorized", "Unable to authorize you with the authentication credentials you've sent.";
	end
	return "success";
end

-- ANONYMOUS: a random lower-case username the profile accepts.
local function anonymous(self)
	local username;
	repeat
		username = new_id():lower();
	until self.profile.anonymous(self, username, self.realm);
	self.username = username;
	return "success";
end

-- EXTERNAL: the profile decides from the (saslprep'd) authzid.
local function external(self, message)
	local state;
	self.username, state = self.profile.external(saslprep(message));
	if state == false then
		return "failure", "account-disabled";
	elseif state == nil then
		return "failure", "not-authorized";
	elseif state == "expired" then
		-- (sic: Prosody 0.12 answers "false" here, not "failure")
		return "false", "credentials-expired";
	end
	return "success";
end

registerMechanism("PLAIN", { "plain", "plain_test" }, plain);
registerMechanism("ANONYMOUS", { "anonymous" }, anonymous);
require "util.sasl.scram".init(registerMechanism);
registerMechanism("EXTERNAL", { "external" }, external);

return {
	registerMechanism = registerMechanism;
	new = new;
};
