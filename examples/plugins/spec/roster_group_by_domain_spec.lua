-- mod_roster_group_by_domain, loaded by test.cfg.lua on example.com (only
-- contacts without groups) and all.example.com (every contact).
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

-- Fires what mod_http_roster_admin fires with each fetched roster.
local function fetched(host, roster)
	local event = { username = "alice", host = host, roster = roster, entries = {} };
	local verdict = hosts[host].events.fire_event("roster-admin/fetched", event);
	return event.roster, verdict;
end

describe("mod_roster_group_by_domain", function ()
	it("puts contacts without groups into a group named after their domain", function ()
		local roster, verdict = fetched("example.com", {
			["bob@example.org"] = { groups = {}, subscription = "both" },
			["news.example.net"] = { name = "News", groups = {}, subscription = "both" },
		});
		assert.is_nil(verdict); -- the roster is not rejected
		assert.same({
			["bob@example.org"] = { groups = { ["example.org"] = true }, subscription = "both" },
			["news.example.net"] = { name = "News", groups = { ["news.example.net"] = true }, subscription = "both" },
		}, roster);
	end);

	it("leaves contacts that have groups alone by default", function ()
		local roster = fetched("example.com", {
			["carol@example.com"] = { groups = { Work = true }, subscription = "both" },
		});
		assert.same({ Work = true }, roster["carol@example.com"].groups);
	end);

	it("accepts items another handler added without a groups table", function ()
		local roster = fetched("example.com", { ["dave@example.org"] = { subscription = "both" } });
		assert.same({ ["example.org"] = true }, roster["dave@example.org"].groups);
	end);

	it("adds the domain group to every contact when only_empty is false", function ()
		local roster = fetched("all.example.com", {
			["carol@example.com"] = { groups = { Work = true }, subscription = "both" },
			["bob@example.org"] = { groups = {}, subscription = "both" },
		});
		assert.same({ Work = true, ["example.com"] = true }, roster["carol@example.com"].groups);
		assert.same({ ["example.org"] = true }, roster["bob@example.org"].groups);
	end);

	it("groups what a user sees at login", testing.async(function ()
		local backend = serve_roster([[{
			"bob@example.org": {},
			"carol@example.com": { "name": "Carol", "groups": ["Work"] }
		}]]);
		finally(function () backend:revert(); end);
		local alice = testing.login("example.com", "grouped", "laptop");
		local items = alice:roster();
		alice:logout();
		assert.same({
			["bob@example.org"] = { subscription = "both", groups = { ["example.org"] = true } },
			["carol@example.com"] = { name = "Carol", subscription = "both", groups = { Work = true } },
		}, items);
		assert.equal(1, #backend.calls);
	end));
end);
