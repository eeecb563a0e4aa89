-- Test-only: lets Go read a user's roster as core.rostermanager holds it.
--
-- fuzz/roster { username } returns { canonical = string, json = string }:
-- canonical is one line per contact, sorted, with every field quoted, so
-- equal rosters give equal strings byte for byte; json maps each contact JID
-- to { name, subscription, ask, groups = sorted list }.
--
-- It also keeps what the roster admin last reported: the reason and kind of
-- roster-admin/failed and, with fuzz_probe_record, the entries of
-- roster-admin/fetched (JSON, keys ordered); fuzz/last returns and forgets
-- them.

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

local last = {};
module:hook("roster-admin/failed", function (event)
	last.failure = event.reason .. " [" .. event.kind .. "]";
end);
module:hook("fuzz/last", function ()
	local out = { entries = last.entries or "", failure = last.failure or "" };
	last = {};
	return out;
end);
-- Only where asked: a handler here makes the native reader build entries.
if module:get_option_boolean("fuzz_probe_record", false) then
	module:hook("roster-admin/fetched", function (event)
		last.entries = json.encode_ordered(event.entries);
	end);
end
