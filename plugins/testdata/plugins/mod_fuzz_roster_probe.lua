-- Test-only: lets Go read a user's roster as core.rostermanager holds it.
--
-- fuzz/roster { username } returns { canonical = string, json = string }:
-- canonical is one line per contact, sorted, with every field quoted, so
-- equal rosters give equal strings byte for byte; json maps each contact JID
-- to { name, subscription, ask, groups = sorted list }.

local json = require "util.json";
local rostermanager = require "core.rostermanager";

module:hook("fuzz/roster", function (event)
	local roster = rostermanager.load_roster(event.username, module.host);
	if not roster then return { canonical = "no roster", json = "null" }; end
	local lines, out = {}, {};
	for jid, item in pairs(roster) do
		if type(jid) == "string" then
			local groups = {};
			for group in pairs(item.groups or {}) do
				table.insert(groups, group);
			end
			table.sort(groups);
			out[jid] = { name = item.name, subscription = item.subscription, ask = item.ask, groups = groups };
			table.insert(lines, string.format("%q %q %q %q %q", jid, tostring(item.name),
				tostring(item.subscription), tostring(item.ask), table.concat(groups, "\0")));
		end
	end
	table.sort(lines);
	return { canonical = table.concat(lines, "\n"), json = json.encode(out) };
end);
