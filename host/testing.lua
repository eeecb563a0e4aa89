-- modhost.testing: standalone client sessions for specs run by `modhost test`.
--
--   local testing = require "modhost.testing";
--   local session = testing.login("example.com", "alice", "laptop");
--   local items = session:roster();   -- items[jid] = { name, subscription, ask, groups = { [g] = true } }
--   session:send(st.message({ to = "bob@example.com" }));
--   session.sent                      -- every stanza the host sent this client, in order
--   session:logout();
--
-- login, roster, wait_for and logout wait (util.async) for the host to
-- finish, as a client would. A spec runs where busted runs it, on the main
-- thread, where nothing can wait; a test or hook that waits says so by
-- wrapping its function in testing.async:
--
--   it("logs in", testing.async(function ()
--       local alice = testing.login("example.com", "alice");
--       …
--   end));
--
-- testing.async(fn) runs fn in a util.async runner while the loop goes on
-- (net.http answers, util.timer tasks, logins), bounded by `modhost test
-- --timeout`; util.async's waiter and wait_for work inside it too.
--
-- Sessions go through host/sessions.lua, the same code the Go embedding API
-- (Runtime.Login) uses, so plugins see a real login.

local sessions = ...;
local async = require "util.async";
local st = require "util.stanza";
local new_id = require "util.id".short;
local timer = require "util.timer";

local testing = {};

local session_methods = {};
session_methods.__index = session_methods;

local function must_wait(what)
	if not async.ready() then
		error("modhost.testing." .. what .. " waits: call it inside a function wrapped by modhost.testing.async (it(\"…\", testing.async(function () … end)))", 3);
	end
end

-- async(fn) marks a spec function (a test body, a hook) as one that waits:
-- `modhost test` runs it in a util.async runner and lets the loop run
-- meanwhile. While it runs, util.async.sleep waits on util.timer, as in a
-- server (outside, as under busted, sleep has no schedule function). Only
-- under `modhost test`.
local server_scheduler = {
	before = function () async.set_schedule_function(timer.add_task); end;
	after = function () async.set_schedule_function(nil); end;
};

function testing.async(fn)
	local ok, spec_runner = pcall(require, "modhost.busted");
	if not ok or type(spec_runner) ~= "table" then
		error("modhost.testing.async: only under `modhost test`", 2);
	end
	return spec_runner.async(fn, server_scheduler);
end

-- Called for every stanza the host sends to the client.
local function deliver(client, stanza)
	if st.is_stanza(stanza) then
		stanza = st.clone(stanza); -- a sender may reuse its stanza afterwards
	end
	table.insert(client.sent, stanza);
	local wake = client.on_arrival;
	client.on_arrival = nil;
	if wake then wake(); end
end

-- Waits for the first stanza at index from or later that match accepts.
local function next_matching(client, from, match)
	while true do
		for i = from, #client.sent do
			if match(client.sent[i]) then return client.sent[i], i; end
		end
		from = #client.sent + 1;
		local wait, done = async.waiter();
		client.on_arrival = done;
		wait();
	end
end

-- login binds user@host/resource: the roster is loaded (roster-load
-- handlers may fetch it) and resource-bind fires. Returns the client, or
-- raises the reason the login failed.
function testing.login(host, username, resource)
	must_wait("login");
	local client = setmetatable({ sent = {} }, session_methods);
	local wait, done = async.waiter();
	local result, failure;
	sessions.login(host, username, resource or "test", function (stanza)
		deliver(client, stanza);
	end, function (session, err)
		result, failure = session, err;
		done();
	end);
	wait();
	if not result then
		error("login failed: " .. tostring(failure), 2);
	end
	client.session = result;
	client.full_jid = result.full_jid;
	return client;
end

-- send hands the host a stanza from this client, as Prosody's c2s would
-- (from is set to the full JID).
function session_methods:send(stanza)
	sessions.incoming(self.session, stanza);
end

-- roster asks for the roster as a client does (the session becomes
-- interested in pushes) and returns its items by JID, and the reply.
function session_methods:roster()
	must_wait("roster");
	local id = "roster-" .. new_id();
	local from = #self.sent + 1;
	self:send(st.iq({ type = "get", id = id }):tag("query", { xmlns = "jabber:iq:roster" }));
	local reply = next_matching(self, from, function (stanza)
		return st.is_stanza(stanza) and stanza.name == "iq" and stanza.attr.id == id;
	end);
	if reply.attr.type ~= "result" then
		error("roster query refused: " .. tostring(reply), 2);
	end
	local items = {};
	for item in reply:get_child("query", "jabber:iq:roster"):childtags("item") do
		local groups = {};
		for group in item:childtags("group") do groups[group:get_text()] = true; end
		items[item.attr.jid] = {
			name = item.attr.name, subscription = item.attr.subscription,
			ask = item.attr.ask, groups = groups,
		};
	end
	return items, reply;
end

-- wait_for waits for a stanza sent to this client after index from
-- (default: any so far) that match(stanza) accepts; returns it and its index.
function session_methods:wait_for(match, from)
	must_wait("wait_for");
	return next_matching(self, from or 1, match);
end

-- logout unbinds the resource (unavailable presence if it had sent any).
function session_methods:logout()
	must_wait("logout");
	local wait, done = async.waiter();
	sessions.logout(self.session, nil, done);
	wait();
end

return testing;
