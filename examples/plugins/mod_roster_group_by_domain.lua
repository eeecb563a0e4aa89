-- mod_roster_group_by_domain: files contacts under their domain.
--
-- Hooks roster-admin/fetched (fired by mod_http_roster_admin with each roster
-- the web application sends, before it is applied) and puts every contact
-- the application gave no group into a group named after the contact's
-- domain: bob@example.com lands in "example.com".
--
-- Options:
--   roster_group_by_domain_only_empty (default true): when false, every
--     contact also gets its domain group, next to the groups it has.

local jid_split = require "util.jid".split;

local only_empty = module:get_option_boolean("roster_group_by_domain_only_empty", true);

module:depends("http_roster_admin");

module:hook("roster-admin/fetched", function (event)
	for contact, item in pairs(event.roster) do
		item.groups = item.groups or {};
		if not only_empty or next(item.groups) == nil then
			local _, domain = jid_split(contact);
			if domain then
				item.groups[domain] = true;
			end
		end
	end
	-- Returning nothing: the (changed) roster is applied.
end);
