-- core.usermanager: account questions, answered by the host.
--
-- modhost holds no accounts. Standalone, users exist as configured by the
-- embedding program (Runtime.SetUserExists) or, by default, everyone exists;
-- with an XMPP link the server is the authority. Handlers of the host event
-- "user-exists" may answer first.

local native = require "modhost.native";

local function user_exists(username, host)
	local h = hosts[host];
	if h then
		local answer = h.events.fire_event("user-exists", { username = username, host = host });
		if answer ~= nil then return answer; end
	end
	return native.user_exists(username, host);
end

local function unsupported()
	return nil, "modhost does not manage accounts; the XMPP server does";
end

return {
	user_exists = user_exists;
	test_password = unsupported;
	get_password = unsupported;
	set_password = unsupported;
	create_user = unsupported;
	delete_user = unsupported;
	users = function () return function () end; end;
	get_provider = function () return nil; end;
	is_admin = function (jid, host)
		local admins = require "core.configmanager".get(host or "*", "admins") or {};
		for _, admin in ipairs(admins) do
			if admin == jid then return true; end
		end
		return false;
	end;
};
