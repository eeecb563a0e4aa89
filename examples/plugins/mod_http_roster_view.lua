-- mod_http_roster_view: read-only JSON view of the rosters a host holds.
--
-- GET /roster_view/USER answers the roster of USER@roster_view_host (the
-- module's own host by default) as the web app would write it:
-- { "contact@host": { "name": "...", "groups": [ ... ], "subscription": "both" } }.
-- For demos and operators checking what modhost did; it exposes rosters, so
-- keep it on loopback (modhost's default) or behind the shared secret.

local json = require "util.json";
local array = require "util.array";
local nodeprep = require "util.encodings".stringprep.nodeprep;
local rostermanager = require "core.rostermanager";

local roster_host = module:get_option_string("roster_view_host", module.host);
local secret = module:get_option_string("roster_view_secret");

local function as_json(roster)
	local out = {};
	for contact, item in pairs(roster) do
		if contact then
			local groups = {};
			for group in pairs(item.groups or {}) do groups[#groups + 1] = group; end
			table.sort(groups);
			out[contact] = {
				name = item.name;
				groups = array(groups); -- encodes as a JSON array even when empty
				subscription = item.subscription;
			};
		end
	end
	return out;
end

local function view(event, username)
	local response = event.response;
	response.headers.content_type = "application/json";
	if secret and event.request.headers.authorization ~= "Bearer " .. secret then
		response.status_code = 401;
		return json.encode({ error = "missing or wrong Authorization: Bearer <roster_view_secret>" });
	end
	local node = nodeprep(username or "");
	if not node or node == "" then
		response.status_code = 400;
		return json.encode({ error = "not a valid username: " .. tostring(username) });
	end
	local roster = rostermanager.load_roster(node, roster_host);
	return json.encode(as_json(roster or {}));
end

module:provides("http", {
	route = {
		["GET /*"] = view;
	};
});
