-- core.rostermanager: users' rosters, in Prosody 0.12's shape.
--
-- A roster is a table keyed by contact JID; each item has subscription
-- ("none", "to", "from", "both"), optional ask ("subscribe") and name, and
-- groups as a set ({ [group] = true }). roster[false] holds metadata:
-- version, and pending (inbound subscription requests, keyed by JID).
-- Rosters are read from the "roster" store; an online user's roster is kept
-- on the user's bare session and shared by every caller. Loading fires
-- roster-load on the host, where plugins (mod_http_roster_admin) may fill it.
--
-- modhost: an online user's roster is held by Go, packed (host/rosters.go),
-- from the login on. The bare session's roster field is made a Lua table the
-- first time Lua reads it (host/sessions.lua gives sessions a metatable that
-- calls materialise); that table is the truth from then on, until the user's
-- last session ends. Go code (the roster admin's refresh) applies changes to
-- the packed form without any Lua table per contact.

local storagemanager = require "core.storagemanager";
local usermanager = require "core.usermanager";
local native = require "modhost.native";
local pack = require "modhost.pack";

local pairs, type, tostring = pairs, type, tostring;

local log = native.logger("rostermanager");

local function bare_session(username, host)
	local h = hosts[host];
	return h and h.sessions and h.sessions[username];
end

local function metadata_of(roster, err)
	local meta = roster[false];
	if not meta then
		meta = { broken = err or nil };
		roster[false] = meta;
	end
	-- Rosters from before 0.10 kept pending requests as a contact named "pending".
	if roster.pending and type(roster.pending.subscription) ~= "string" then
		meta.pending = roster.pending;
		roster.pending = nil;
	elseif not meta.pending then
		meta.pending = {};
	end
	return meta;
end

-- Offline rosters are cached per host so that repeated lookups (presence
-- routing) do not read storage each time.
local cache_size = 1024;
local function offline_cache(host)
	local h = hosts[host];
	if not h then return nil; end
	if not h.roster_cache then
		h.roster_cache = require "util.cache".new(cache_size);
	end
	return h.roster_cache;
end

local save_roster;

-- materialise turns the roster Go holds for an online user into the Lua
-- table that is the truth from now on; nil if Go holds none.
local function materialise(username, host)
	return native.roster_take(host, username);
end

local function load_roster(username, host)
	local bare = username .. "@" .. host;
	local user = bare_session(username, host);
	if user and user.roster then -- held by Go: materialised here
		return user.roster;
	end
	local cache = offline_cache(host);
	if cache then
		local cached = cache:get(bare);
		if cached then
			if user then user.roster = cached; end
			return cached;
		end
	end
	local store = storagemanager.open(host, "roster", "keyval");
	local data, err = store:get(username);
	local roster = data or {};
	if user then user.roster = roster; end
	local had_legacy_pending = roster.pending and type(roster.pending.subscription) ~= "string";
	metadata_of(roster, err);
	if had_legacy_pending then
		save_roster(username, host, roster, "pending");
	end
	if roster[bare] then -- a user is never their own contact
		roster[bare] = nil;
		save_roster(username, host, roster, bare);
	end
	if not err and hosts[host] then
		hosts[host].events.fire_event("roster-load", { username = username, host = host, roster = roster });
	end
	if cache and not user then
		cache:set(bare, roster);
	end
	return roster, err;
end

-- stored_packed reads a user's stored roster in packed form (nil if none),
-- without a Lua table per contact where the driver keeps it packed.
local function stored_packed(username, host)
	local store = storagemanager.open(host, "roster", "keyval");
	if store.get_packed then return store:get_packed(username); end
	local data, err = store:get(username);
	if data == nil then return nil, err; end
	return pack.pack(data), err;
end

-- store_packed stores a whole roster given packed, as save_roster stores a
-- table (metadata as it is: the caller has counted the version).
local function store_packed(username, host, packed)
	if not usermanager.user_exists(username, host) then
		log("debug", "not saving the roster of %s@%s: no such user", username, host);
		return nil;
	end
	local cache = offline_cache(host);
	if cache then cache:set(username .. "@" .. host, nil); end
	local store = storagemanager.open(host, "roster", "keyval");
	if store.set_packed then return store:set_packed(username, packed); end
	return store:set(username, pack.unpack(packed));
end

-- load_online is load_roster for a login (host/sessions.lua): a stored
-- roster of the usual shape stays packed, held by Go, and roster-load fires
-- with an event whose roster is made a table only if a handler reads it.
-- Anything else (a store error, a roster to repair, one already a table in
-- the offline cache) goes through load_roster.
local function load_online(username, host)
	local user = bare_session(username, host);
	if not user or rawget(user, "roster") or native.roster_held(host, username) then
		return load_roster(username, host);
	end
	local bare = username .. "@" .. host;
	local cache = offline_cache(host);
	if cache and cache:get(bare) then return load_roster(username, host); end
	local ok, packed, err = pcall(stored_packed, username, host);
	if not ok or err then return load_roster(username, host); end
	packed = native.roster_prepare(packed, bare);
	if not packed then return load_roster(username, host); end
	native.roster_hold(host, username, packed);
	if hosts[host] then
		local event = setmetatable({ username = username, host = host }, { __index = function (event, key)
			if key ~= "roster" then return nil; end
			local roster = user.roster;
			rawset(event, "roster", roster);
			return roster;
		end });
		hosts[host].events.fire_event("roster-load", event);
	end
	return true;
end

function save_roster(username, host, roster, jid)
	if not usermanager.user_exists(username, host) then
		log("debug", "not saving the roster of %s@%s: no such user", username, host);
		return nil;
	end
	if not roster then
		local user = bare_session(username, host);
		roster = user and user.roster;
	end
	if not roster then
		log("warn", "save_roster: %s@%s has no roster to save", username, host);
		return nil;
	end
	local meta = metadata_of(roster);
	if meta.version ~= true then
		meta.version = (meta.version or 0) + 1;
	end
	if meta.broken then return nil, "Not saving broken roster"; end
	local ok, err;
	if jid == nil then
		ok, err = storagemanager.open(host, "roster", "keyval"):set(username, roster);
	else
		local map = storagemanager.open(host, "roster", "map");
		local value = roster[jid];
		if value == nil then value = map.remove; end
		ok, err = map:set_keys(username, { [false] = meta, [jid] = value });
	end
	if ok and hosts[host] then
		-- modhost: lets the XMPP link mirror the change into the server's roster.
		hosts[host].events.fire_event("roster-saved", { username = username, host = host, roster = roster, jid = jid });
	end
	return ok, err;
end

-- roster_push tells every resource that asked for its roster about one
-- contact's new state (or its removal).
local function roster_push(username, host, jid)
	local user = bare_session(username, host);
	local roster = jid and user and user.roster;
	if not roster then return; end
	local st = require "util.stanza";
	local item = roster[jid];
	local push = st.iq({ type = "set", id = require "util.id".short() })
		:tag("query", { xmlns = "jabber:iq:roster", ver = tostring(metadata_of(roster).version or "1") });
	if item then
		push:tag("item", { jid = jid, subscription = item.subscription, name = item.name, ask = item.ask });
		local groups = {};
		for group in pairs(item.groups or {}) do groups[#groups + 1] = group; end
		table.sort(groups);
		for _, group in ipairs(groups) do
			push:tag("group"):text(group):up();
		end
		push:up();
	else
		push:tag("item", { jid = jid, subscription = "remove" }):up();
	end
	push:up();
	for _, session in pairs(user.sessions or {}) do
		if session.interested then
			session.send(push);
		end
	end
	if hosts[host] then
		hosts[host].events.fire_event("roster-pushed", { username = username, host = host, jid = jid, item = item });
	end
end

-- set_item puts item (nil: none) at jid in the session's roster and saves
-- it, restoring the old one if the save fails.
local function set_item(session, jid, item)
	local roster = session.roster;
	if not roster then return nil, "wait", "internal-server-error", "Roster not loaded"; end
	local previous = roster[jid];
	roster[jid] = item;
	if save_roster(session.username, session.host, roster, jid) then
		return true;
	end
	roster[jid] = previous;
	return nil, "wait", "internal-server-error", "Unable to save roster";
end

local function add_to_roster(session, jid, item)
	return set_item(session, jid, item);
end

local function remove_from_roster(session, jid)
	return set_item(session, jid, nil);
end

local function item_of(username, host, jid)
	local roster = load_roster(username, host);
	return roster[jid], roster;
end

local function is_contact_subscribed(username, host, jid)
	local item = item_of(username, host, jid);
	return item and (item.subscription == "from" or item.subscription == "both") or false;
end

local function is_user_subscribed(username, host, jid)
	local item = item_of(username, host, jid);
	return item and (item.subscription == "to" or item.subscription == "both") or false;
end

local function is_contact_pending_in(username, host, jid)
	local roster = load_roster(username, host);
	return metadata_of(roster).pending[jid] ~= nil;
end

local function set_contact_pending_in(username, host, jid, stanza)
	local roster = load_roster(username, host);
	local item = roster[jid];
	if item and (item.subscription == "from" or item.subscription == "both") then
		return; -- already subscribed
	end
	metadata_of(roster).pending[jid] = stanza and tostring(stanza) or true;
	return save_roster(username, host, roster, jid);
end

local function is_contact_pending_out(username, host, jid)
	local item = item_of(username, host, jid);
	return item and item.ask ~= nil or false;
end

local function set_contact_pending_out(username, host, jid)
	local roster = load_roster(username, host);
	local item = roster[jid];
	if item and (item.ask or item.subscription == "to" or item.subscription == "both") then
		return true;
	end
	if not item then
		item = { subscription = "none", groups = {} };
		roster[jid] = item;
	end
	item.ask = "subscribe";
	return save_roster(username, host, roster, jid);
end

local transitions = {
	-- what a subscription becomes when the user is told the contact approved, cancelled, …
	approved = { none = "to", from = "both" },
	cancelled = { to = "none", both = "from" },
	unsubscribed_by_contact = { from = "none", both = "to" },
	subscribed_by_user = { none = "from", to = "both" },
	unsubscribed_by_user = { from = "none", both = "to" },
	unsubscribe_by_user = { to = "none", both = "from" },
};

local function change(username, host, jid, kind, clear_ask, clear_pending)
	local roster = load_roster(username, host);
	local item = roster[jid];
	local changed = false;
	if item then
		local new = transitions[kind][item.subscription];
		if new then item.subscription, changed = new, true; end
		if clear_ask and item.ask then item.ask, changed = nil, true; end
	end
	if clear_pending and metadata_of(roster).pending[jid] then
		metadata_of(roster).pending[jid] = nil;
		changed = true;
	end
	if changed then
		return save_roster(username, host, roster, jid);
	end
	return true;
end

return {
	load_roster = load_roster;
	save_roster = save_roster;
	roster_push = roster_push;
	add_to_roster = add_to_roster;
	remove_from_roster = remove_from_roster;
	is_contact_subscribed = is_contact_subscribed;
	is_user_subscribed = is_user_subscribed;
	is_contact_pending_in = is_contact_pending_in;
	set_contact_pending_in = set_contact_pending_in;
	is_contact_pending_out = is_contact_pending_out;
	set_contact_pending_out = set_contact_pending_out;
	process_inbound_subscription_approval = function (u, h, j) return change(u, h, j, "approved", true); end;
	process_inbound_subscription_cancellation = function (u, h, j) return change(u, h, j, "cancelled", true); end;
	process_inbound_unsubscribe = function (u, h, j) return change(u, h, j, "unsubscribed_by_contact", false, true); end;
	subscribed = function (u, h, j) return change(u, h, j, "subscribed_by_user", false, true); end;
	unsubscribed = function (u, h, j) return change(u, h, j, "unsubscribed_by_user", false, true); end;
	unsubscribe = function (u, h, j) return change(u, h, j, "unsubscribe_by_user", true); end;
	process_outbound_subscription_request = set_contact_pending_out;
	roster_metadata = metadata_of;
	-- modhost's own, for host/sessions.lua and host/rosters.go.
	materialise = materialise;
	load_online = load_online;
	stored_packed = stored_packed;
	store_packed = store_packed;
};
