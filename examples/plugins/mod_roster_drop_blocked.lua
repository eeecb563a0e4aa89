-- mod_roster_drop_blocked: keeps contacts the application marks as blocked
-- out of rosters.
--
-- The web application may mark a contact `"blocked": true` in the JSON it
-- answers. mod_http_roster_admin ignores fields it does not know, but hands
-- each contact's decoded entry to roster-admin/fetched handlers as
-- event.entries[jid]; this plugin removes those contacts from the roster
-- before it is applied, so a refresh also removes them from a roster that
-- had them. Each drop is logged at info.

module:depends("http_roster_admin");

module:hook("roster-admin/fetched", function (event)
	local entries = event.entries or {};
	for contact in pairs(event.roster) do
		local entry = entries[contact];
		if type(entry) == "table" and entry.blocked == true then
			event.roster[contact] = nil; -- clearing a field while traversing is allowed
			module:log("info", "Dropped blocked contact %s from the roster of %s", contact, event.username);
		end
	end
end, 10); -- before other handlers, so they never see a blocked contact
