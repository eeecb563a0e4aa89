-- mod_block_subscriptions: nobody changes subscriptions with presence.
--
-- When contact lists are owned by an outside application (see
-- mod_http_roster_admin), a client's subscribe, subscribed, unsubscribe or
-- unsubscribed presence would change the server's stored subscriptions behind
-- the application's back. This module drops them, whether a local client sends
-- them or they arrive for a local user. Available and unavailable presence and
-- probes pass untouched.
--
-- Prosody 0.12 routes a client's outgoing presence through the pre-presence/*
-- events and presence addressed to a local entity through presence/*; both
-- are hooked above mod_presence.

local subscription_types = {
	subscribe = true;
	subscribed = true;
	unsubscribe = true;
	unsubscribed = true;
};

local function drop_subscription(event)
	local stanza = event.stanza;
	if subscription_types[stanza.attr.type] then
		module:log("debug", "Dropped %s presence from %s to %s",
			stanza.attr.type, tostring(stanza.attr.from or event.origin.full_jid), tostring(stanza.attr.to));
		return true;
	end
end

for _, kind in ipairs({ "bare", "full", "host" }) do
	module:hook("pre-presence/" .. kind, drop_subscription, 200);
	module:hook("presence/" .. kind, drop_subscription, 200);
end
