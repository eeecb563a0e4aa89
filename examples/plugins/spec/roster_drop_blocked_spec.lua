-- mod_roster_drop_blocked, loaded by test.cfg.lua with mod_http_roster_admin.
local testing = require "modhost.testing";
local http = require "net.http";
local timer = require "util.timer";

-- Stands in for the web application: stubs net.http.request, which
-- mod_http_roster_admin calls to fetch a roster, to answer body (JSON) with
-- status 200 a moment later, as a real response would. revert() the stub.
local function serve_roster(body)
	return stub(http, "request").invokes(function (url, options, callback)
		timer.add_task(0, function () callback(body, 200, { headers = {} }); end);
		return {};
	end);
end

local function item() return { groups = {}, subscription = "both" }; end

describe("mod_roster_drop_blocked", function ()
	local module_log;
	before_each(function ()
		module_log = spy.on(hosts["example.com"].modules.roster_drop_blocked.module, "log");
	end);
	after_each(function () module_log:revert(); end);

	local function fetched(roster, entries)
		local event = { username = "alice", host = "example.com", roster = roster, entries = entries };
		local verdict = hosts["example.com"].events.fire_event("roster-admin/fetched", event);
		return event.roster, verdict;
	end

	it("drops contacts whose entry says blocked = true, and logs each at info", function ()
		local roster, verdict = fetched(
			{ ["bob@example.org"] = item(), ["eve@example.net"] = item(), ["mallory@example.net"] = item() },
			{ ["bob@example.org"] = {}, ["eve@example.net"] = { blocked = true }, ["mallory@example.net"] = { blocked = true } });
		assert.is_nil(verdict);
		assert.is_table(roster["bob@example.org"]);
		assert.is_nil(roster["eve@example.net"]);
		assert.is_nil(roster["mallory@example.net"]);
		assert.spy(module_log).was.called(2);
		assert.spy(module_log).was.called_with(match._, "info", match.is_string(), "eve@example.net", "alice");
		assert.spy(module_log).was.called_with(match._, "info", match.is_string(), "mallory@example.net", "alice");
	end);

	it("keeps contacts whose blocked field is anything but true", function ()
		local roster = fetched(
			{ ["a@example.org"] = item(), ["b@example.org"] = item(), ["c@example.org"] = item() },
			{ ["a@example.org"] = { blocked = false }, ["b@example.org"] = { blocked = "yes" }, ["c@example.org"] = {} });
		assert.is_table(roster["a@example.org"]);
		assert.is_table(roster["b@example.org"]);
		assert.is_table(roster["c@example.org"]);
		assert.spy(module_log).was_not.called();
	end);

	it("does nothing when the event carries no entries", function ()
		local roster = fetched({ ["bob@example.org"] = item() }, nil);
		assert.is_table(roster["bob@example.org"]);
	end);

	it("runs before other fetched handlers, so they never see a blocked contact", function ()
		local seen = {};
		local function later(event)
			for contact in pairs(event.roster) do seen[contact] = true; end
		end
		hosts["example.com"].events.add_handler("roster-admin/fetched", later);
		finally(function () hosts["example.com"].events.remove_handler("roster-admin/fetched", later); end);
		fetched({ ["bob@example.org"] = item(), ["eve@example.net"] = item() },
			{ ["eve@example.net"] = { blocked = true } });
		assert.same({ ["bob@example.org"] = true }, seen);
	end);

	it("keeps blocked contacts out of what a user sees at login", testing.async(function ()
		local backend = serve_roster([[{
			"bob@example.org": { "groups": ["Friends"] },
			"eve@example.net": { "name": "Eve", "blocked": true }
		}]]);
		finally(function () backend:revert(); end);
		local alice = testing.login("example.com", "guarded", "laptop");
		local items = alice:roster();
		alice:logout();
		assert.same({
			["bob@example.org"] = { subscription = "both", groups = { Friends = true } },
		}, items);
		assert.spy(module_log).was.called_with(match._, "info", match.is_string(), "eve@example.net", "guarded");
	end));
end);
