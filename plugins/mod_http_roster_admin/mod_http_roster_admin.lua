-- mod_http_roster_admin: a web application owns every user's contact list.
--
-- At login the user's roster is fetched from `http_roster_url` (a JSON object
-- of contact JIDs) and replaces what the server holds. When the application
-- changes a roster it calls POST /refresh (or GET /refresh/<user>); the
-- roster is fetched again, the difference applied and pushed to the user's
-- online clients. Clients cannot edit their rosters themselves.
--
-- Usernames in a refresh request go through nodeprep: "Alice" and "alice"
-- are one user, refreshed once; a string nodeprep refuses is counted as an
-- error and never fetched. The username is percent-encoded into the URL.
-- Overlapping refreshes of one user share a fetch as long as it has not been
-- sent (see refresh_user), so every answer reflects a fetch made after the
-- request arrived.
--
-- modhost's own implementation of the behaviour of prosody-modules'
-- mod_http_roster_admin, with that module's known defects fixed. It uses only
-- the module API and Prosody's libraries, so the same file runs in Prosody 0.12
-- and in modhost; where modhost's Go reader (modhost.roster_admin) is there,
-- answers are read and rosters compared with it instead, same results.
--
-- Events fired on the host (hook them to customise):
--   roster-admin/fetched { username, host, roster, entries }: a fetched
--     roster, before it is applied; roster[jid] = { name = string|nil, groups
--     = { [group] = true }, subscription = "both" } may be changed in place;
--     entries[jid] is the application's JSON object for that contact as
--     decoded, with any fields beyond name and groups (read-only by
--     convention); a handler returning non-nil rejects the fetch (counted as
--     an error).
--   roster-admin/updated { username, host, added, removed, changed }: after a
--     refresh changed a roster; each list holds contact JIDs.
--   roster-admin/failed { username, host, reason, kind }: a fetch failed (the
--     roster stays as it was); kind is one of fetch_errors' kinds below.
--
-- Events handled (fire them to ask):
--   roster-admin/refresh { username, done }: refresh one user as a POST of
--     [username] to /roster_admin/refresh would, coalesced with those;
--     done(ok, reason), when given, is called once it is in step (or the
--     user is offline) or stays as it was.

local http = require "net.http";
local json = require "util.json";
local jid_lib = require "util.jid";
local st = require "util.stanza";
local async = require "util.async";
local rostermanager = require "core.rostermanager";
local encodings = require "util.encodings";
local utf8_valid = encodings.utf8.valid;
local nodeprep = encodings.stringprep.nodeprep;
local monotonic = require "util.time".monotonic;

local host = module.host;

-- LuaJIT's table.new where the runtime offers it (modhost does): a roster
-- holds one small group set per contact, and a table filled from {} is
-- given room for 32 keys. Elsewhere (Prosody on PUC Lua) a plain {}.
local new_table = (function ()
	local ok, new = pcall(require, "table.new");
	if ok and type(new) == "function" then return new; end
	return function () return {}; end;
end)();

-- modhost offers the two costly steps in Go (modhost.roster_admin): reading
-- an answer, off its Lua loop, and comparing rosters. Elsewhere, or with
-- http_roster_admin_native = false, the Lua below does them, with the same
-- results (modhost's tests run both on the same answers).
local native = module:get_option_boolean("http_roster_admin_native", true) and (function ()
	local ok, lib = pcall(require, "modhost.roster_admin");
	if ok and type(lib) == "table" then return lib; end
end)() or nil;

-- Where modhost holds rosters in Go, it also runs the fetches there
-- (native.engine, made below): the queue, the coalescing of refreshes and
-- logins, fetch → read → apply → push, by the rules of the Lua below,
-- which runs everywhere else. Lua is then entered for the events and once
-- per refresh request, not at every step of every fetch.
local engine;

local roster_url = module:get_option_string("http_roster_url", "http://localhost/%s");
local fetch_timeout = module:get_option_number("http_roster_admin_timeout", 5);
-- A login waits at most this long for its fetch: then it goes on with the
-- roster last stored, and the fetched one's differences follow as pushes.
local login_timeout = module:get_option_number("http_roster_admin_login_timeout", 3);
local request_deadline = module:get_option_number("http_roster_admin_deadline", 20);
local max_concurrent = module:get_option_number("http_roster_admin_max_concurrent", 16);
local max_body_size = module:get_option_number("http_roster_admin_max_body", 1024 * 1024);
-- An answer with more contacts is a failed fetch: a roster is applied, stored
-- and pushed in one go on the server's loop, so its size bounds that pause.
local max_contacts = module:get_option_number("http_roster_admin_max_contacts", 10000);
local secret = module:get_option_string("http_roster_admin_secret");
-- Usernames one refresh request may name; more is refused with 413.
local max_users = module:get_option_number("http_roster_admin_max_users", 10000);
-- Linked to an XMPP server (modhost's component_client), the server keeps
-- offline users' rosters too: refresh them by default. Inside Prosody the
-- option is unset, so the default stays off there.
local refresh_offline = module:get_option_boolean("http_roster_admin_refresh_offline",
	module:get_option("component_client") ~= nil);

if max_concurrent < 1 then max_concurrent = 1; end
max_contacts = math.max(1, math.floor(max_contacts));

-- Metrics, through module:metric only: Prosody's mod_http_openmetrics and
-- modhost's http_openmetrics serve them as prosody_mod_http_roster_admin__*.
local refreshes = module:metric("counter", "refreshes", "",
	"Roster refreshes by outcome: updated (in step now), failed (left as it was), offline (not fetched), invalid (not a username, not fetched).", { "outcome" });
local users_refreshed = module:metric("counter", "users_refreshed", "",
	"Users named in refresh requests (duplicates within a request counted once).", {}):with_labels();
local fetch_duration = module:metric("histogram", "fetch_duration", "seconds",
	"Time taken by roster fetches from the web application, failed ones included.", {},
	{ buckets = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 } }):with_labels();
local fetch_errors = module:metric("counter", "fetch_errors", "",
	"Failed roster fetches by kind: status, invalid_json, not_object, invalid_roster, too_many_contacts, timeout, refused, closed, connection, invalid_username, rejected_by_hook, hook_failed.",
	{ "kind" });

-- The kind of a failed connection, from net.http's reason.
local function connection_error_kind(reason)
	if reason == "connection refused" then return "refused"; end
	if reason == "closed" or reason == "connection-closed" or reason == "unexpected-eof" then return "closed"; end
	if reason == "timeout" then return "timeout"; end
	return "connection";
end

-- Why a fetch that got no 200 failed, and the kind of failure: code 0 is
-- net.http's "no response", with its reason in place of the body.
local function answer_failure(code, body)
	if code == 0 then return "connection failed: " .. tostring(body), connection_error_kind(body); end
	return "HTTP status " .. tostring(code), "status";
end

-- The kind of an answer parse_roster refused, from its reason.
local function roster_error_kind(reason)
	if reason:match("^answer is not a JSON object") then return "not_object"; end
	if reason:match("^answer is not valid JSON") then return "invalid_json"; end
	if reason:match("^answer has %d+ contacts, more than") then return "too_many_contacts"; end
	return "invalid_roster";
end

-- Small helpers ----------------------------------------------------------------

-- Percent-encodes everything but RFC 3986's unreserved characters, so that
-- '%', '?', '#' and '/' in a username cannot change which URL is fetched.
local function path_escape(s)
	return (s:gsub("[^A-Za-z0-9%-%._~]", function (c)
		return string.format("%%%02X", c:byte());
	end));
end

-- URLs already built, by username: building one (two pattern substitutions)
-- cost more than the rest of starting a fetch. Emptied when full.
local urls, url_count = {}, 0;

-- nil for "." and "..": a proxy or client that resolves dot segments (nginx
-- does, even percent-encoded) would fetch another resource.
local function roster_url_for(username)
	local url = urls[username];
	if url then return url; end
	if username == "." or username == ".." then return nil; end
	local escaped = path_escape(username);
	-- A function replacement: a string one would treat '%' in it as special.
	url = roster_url:gsub("%%s", function () return escaped; end);
	if url_count >= 10000 then urls, url_count = {}, 0; end
	urls[username], url_count = url, url_count + 1;
	return url;
end

-- Compares two strings in time that depends only on their lengths.
local function constant_time_equals(a, b)
	if #a ~= #b then return false; end
	local difference = 0;
	for i = 1, #a do
		if a:byte(i) ~= b:byte(i) then
			difference = difference + 1;
		end
	end
	return difference == 0;
end

-- Normalises a username the way Prosody stores accounts (nodeprep, which
-- also refuses the JID delimiters, spaces and more than 1023 bytes); nil if
-- it cannot be the local part of a JID.
local function prep_username(username)
	if type(username) ~= "string" then return nil; end
	local node = nodeprep(username);
	if not node or node == "" then return nil; end
	return node;
end

-- Stops a module:add_timer timer that is no longer needed, so that what its
-- callback holds (a whole request's state) is freed now, not when it fires.
local function stop_timer(timer)
	if type(timer) == "table" and timer.stop then timer:stop(); end
end

local function user_sessions(username)
	local host_session = prosody.hosts[host];
	local user = host_session and host_session.sessions and host_session.sessions[username];
	return user and user.sessions;
end

local function is_json_array(text)
	return text:match("^%s*%[") ~= nil;
end

local function is_json_object(text)
	return text:match("^%s*{") ~= nil;
end

-- Reading what the application answers ------------------------------------------

-- json.decode, with an error it raises (nesting too deep) returned instead,
-- without the position it was raised at: modhost's native reader reports
-- the same words.
local function decode_json(text)
	local ok, data, err = pcall(json.decode, text);
	if ok then return data, err; end
	err = tostring(data):gsub("^.-:%d+: ", ""):gsub("^json%.decode: ", "");
	return nil, err;
end

-- util.json gives decoded arrays this metatable (util.array's), which is the
-- only way to tell `[]` from `{}` once decoded. nil if a JSON library does
-- not mark arrays; the checks below then fall back on the array part.
local json_array_mt = getmetatable(json.decode("[]"));

local function is_array(value)
	if json_array_mt then return getmetatable(value) == json_array_mt; end
	return value[1] ~= nil or next(value) == nil;
end

local function is_object(value)
	if json_array_mt then return getmetatable(value) ~= json_array_mt; end
	return value[1] == nil;
end

-- A name or group goes into roster stanzas as XML text: anything XML 1.0
-- cannot carry would make util.stanza raise half way through applying.
-- Printable ASCII, the common case, is settled by one anchored match: an
-- unanchored pattern is tried at every position, which gopher-lua makes
-- costly (a roster of 100 contacts took longer to check than to apply).
local function check_xml_text(s)
	if not utf8_valid(s) then return "is not valid UTF-8"; end
	if s:find("^[ -~]*$") then return nil; end
	if s:find("[%z\1-\8\11\12\14-\31]") or s:find("\239\191[\190\191]") then
		return "contains a character XML cannot carry";
	end
end

-- Names and groups come back with every fetch of a roster: strings already
-- found fine are remembered rather than matched again.
local fine_texts = require "util.cache".new(16384);

local function xml_text_problem(s)
	if fine_texts:get(s) then return nil; end
	local problem = check_xml_text(s);
	if not problem then fine_texts:set(s, true); end
	return problem;
end

-- Contact JIDs that passed the checks below, by what the backend wrote: a
-- roster is fetched again and again with mostly the same contacts, and
-- preparing and checking each one is the costliest step of a refresh.
local checked_jids = require "util.cache".new(8192);

local function check_contact_jid(contact)
	local jid = checked_jids:get(contact);
	if jid then return jid; end
	jid = jid_lib.prep(contact);
	-- Prosody 0.12's prep can return a non-JID ("a@b/" for "a@b/\194\173"),
	-- which split then refuses: no host means it is not a JID.
	if not jid or not jid_lib.host(jid) or jid_lib.resource(jid) then
		return nil, "invalid contact JID " .. tostring(contact);
	end
	-- The JID goes into roster pushes as an attribute: one XML cannot
	-- carry would fail every later push of this roster, not just this one.
	local problem = xml_text_problem(jid);
	if problem then
		return nil, "invalid contact JID " .. jid .. ": " .. problem;
	end
	checked_jids:set(contact, jid);
	return jid;
end

-- parse_roster turns the application's JSON answer (body) for username into
-- Prosody roster items, and the decoded entries by the same JIDs (for hooks
-- that read fields of their own); nil and a reason if any part of it is not
-- what the contract allows.
local function parse_roster(username, body)
	if type(body) ~= "string" or not is_json_object(body) then
		return nil, "answer is not a JSON object";
	end
	if not utf8_valid(body) then -- JSON is UTF-8 (RFC 8259 §8.1)
		return nil, "answer is not UTF-8";
	end
	-- util.json reads these keys as its own encoding of mixed Lua tables and
	-- folds their contents into the object: `{"__array":[]}` would decode
	-- as an empty roster.
	-- Plain finds first spare the patterns' scan of the whole body.
	if (body:find('"__array"', 1, true) and body:find('[{,]%s*"__array"%s*:'))
			or (body:find('"__hash"', 1, true) and body:find('[{,]%s*"__hash"%s*:')) then
		return nil, "answer uses the reserved keys __array or __hash";
	end
	local data, err = decode_json(body);
	if type(data) ~= "table" or data == json.null or not is_object(data) then
		return nil, "answer is not valid JSON (" .. tostring(err) .. ")";
	end
	local count = 0;
	for _ in pairs(data) do count = count + 1; end
	if count > max_contacts then
		return nil, string.format("answer has %d contacts, more than http_roster_admin_max_contacts (%d)", count, max_contacts);
	end
	local self_jid = username .. "@" .. host;
	local roster, entries = {}, {};
	for contact, entry in pairs(data) do
		if type(contact) ~= "string" then
			return nil, "invalid contact JID " .. tostring(contact);
		end
		local jid, invalid = check_contact_jid(contact);
		if not jid then return nil, invalid; end
		if type(entry) ~= "table" or entry == json.null or not is_object(entry) then
			return nil, "contact " .. jid .. " is not an object";
		end
		local name = entry.name;
		if name == json.null or name == "" then name = nil; end
		if name ~= nil and type(name) ~= "string" then
			return nil, "contact " .. jid .. ": name is not a string";
		end
		local problem = name and xml_text_problem(name);
		if problem then
			return nil, "contact " .. jid .. ": name " .. problem;
		end
		-- Groups come in the shape the original module reads, an object
		-- whose keys are the group names (whatever the values), or as an
		-- array of strings; {}, [], null or none at all mean no groups.
		local listed = entry.groups;
		local groups = new_table(0, type(listed) == "table" and #listed or 0);
		if listed ~= nil and listed ~= json.null then
			if type(listed) ~= "table" then
				return nil, "contact " .. jid .. ": groups is not an object of group names or an array of strings";
			end
			local as_object = not is_array(listed);
			for key, group in pairs(listed) do
				if as_object then group = key; end
				if type(group) ~= "string" then
					return nil, "contact " .. jid .. ": a group is not a string";
				end
				problem = xml_text_problem(group);
				if problem then
					return nil, "contact " .. jid .. ": a group " .. problem;
				end
				if group ~= "" then groups[group] = true; end
			end
		end
		if jid ~= self_jid then -- Prosody never keeps a self-contact
			roster[jid] = { name = name, groups = groups, subscription = "both" };
			entries[jid] = entry;
		end
	end
	return roster, entries;
end

-- Fetching ------------------------------------------------------------------------

-- Whether firing event_name on the host would reach anything (a handler,
-- or a wrapper of it or of every event), so that what nobody would see is
-- not made: the entries of roster-admin/fetched, the event of
-- roster-admin/updated. Only modhost's util.events can say (observed);
-- anywhere else everything counts as observed.
local function hooked(event_name)
	local host_session = prosody.hosts[host];
	local observed = host_session and host_session.events and host_session.events.observed;
	return not observed or observed(event_name);
end

local function fetched_hooked() return hooked("roster-admin/fetched"); end

-- Fetches are callbacks, not coroutines, so the HTTP handlers never depend on
-- an async context. At most max_concurrent run at once; the rest wait in
-- one queue per owner: logins (always served first: someone is waiting)
-- and each refresh request. Free slots go to the requests in turn, so one
-- request naming 100,000 users cannot hold the others up, and what a
-- request queued is dropped at its deadline unless someone else still
-- wants it.
local running_fetches = 0;

-- Queues with first/last indices: table.remove(q, 1) would cost a shift per
-- fetch, quadratic in a big request. An emptied queue starts again at 1, so
-- its indices stay within its depth: under gopher-lua (modhost) a table's
-- array part never shrinks, and the login and turn queues, which live as
-- long as the module, would otherwise keep a slot for every fetch ever
-- queued (16 bytes each, per user per refresh).
local function new_queue()
	return { first = 1, last = 0 };
end
local function push(q, v)
	q.last = q.last + 1;
	q[q.last] = v;
end
local function pop(q)
	if q.first > q.last then return nil; end
	local v = q[q.first];
	q[q.first] = nil;
	if q.first == q.last then
		q.first, q.last = 1, 0;
	else
		q.first = q.first + 1;
	end
	return v;
end

local login_queue = new_queue();
local turns = new_queue(); -- request queues holding fetches, in turn order

-- item = { username, done, on_sent, owner (the queue it is in), cancelled }
local function enqueue(item, owner)
	item.owner = owner;
	push(owner, item);
	if owner ~= login_queue and not owner.in_turn then
		owner.in_turn = true;
		push(turns, owner);
	end
end

local start_fetch; -- forward declaration: finishing one fetch starts the next

local function next_queued()
	local item = pop(login_queue);
	if item then return item; end
	local owner = pop(turns);
	while owner do
		item = pop(owner);
		if owner.first <= owner.last then push(turns, owner); else owner.in_turn = nil; end
		if item then return item; end
		owner = pop(turns);
	end
end

local function next_fetch()
	while running_fetches < max_concurrent do
		local item = next_queued();
		if not item then return; end
		if not item.cancelled then
			item.started = true;
			start_fetch(item.username, item.done, item.on_sent);
		end
	end
end

-- What the roster-admin/fetched handlers say of a fetched roster: nil to
-- take it, else why not and the kind of failure.
local function fetched_verdict(username, roster, entries)
	-- A failing handler must not leave the refresh request waiting for ever.
	local ok, verdict = pcall(module.fire_event, module, "roster-admin/fetched",
		{ username = username, host = host, roster = roster, entries = entries });
	if not ok then
		return "roster-admin/fetched handler failed: " .. tostring(verdict), "hook_failed";
	elseif verdict ~= nil then
		return "rejected by a roster-admin/fetched handler", "rejected_by_hook";
	end
end

-- A roster read from an answer (roster, entries), or nil and why not, for
-- finish: the roster-admin/fetched handlers have their say first.
local function read_fetched(username, finish, roster, entries)
	if not roster then return finish(nil, entries, roster_error_kind(entries)); end -- on failure: the reason
	if entries == nil then return finish(roster); end
	local reason, kind = fetched_verdict(username, roster, entries);
	if reason then return finish(nil, reason, kind); end
	finish(roster);
end

local function fire_failed(username, reason, kind)
	local ok, err = pcall(module.fire_event, module, "roster-admin/failed",
		{ username = username, host = host, reason = reason, kind = kind });
	if not ok then
		module:log("error", "roster-admin/failed handler failed: %s", tostring(err));
	end
end

-- modhost's native.fetch makes the request, bounds it and reads the answer
-- in Go, calling back once: no net.http request and response objects, no
-- timer, no second trip through the loop to read the answer.
local function start_native_fetch(username, url, finish, on_sent)
	local function on_fetched(code, roster, entries)
		if code == 0 and entries == true then -- ended by fetch_timeout
			return finish(nil, "no answer within " .. fetch_timeout .. " s", "timeout");
		elseif code ~= 200 then
			return finish(nil, answer_failure(code, roster));
		end
		read_fetched(username, finish, roster, entries);
	end
	if on_sent then on_sent(); end
	local sent, result, reason = pcall(native.fetch, url, fetch_timeout, username .. "@" .. host,
		json.null, json_array_mt, fetched_hooked, max_contacts, on_fetched);
	if not sent then
		module:log("error", "Roster request for %s not sent: %s", username, tostring(result));
		return finish(nil, "request not sent: " .. tostring(result), "connection");
	elseif not result then
		return finish(nil, answer_failure(0, reason)); -- as net.http fails an invalid URL: at once, code 0
	end
end

-- request_roster makes the request for one roster and reads the answer:
-- finish(roster) or finish(nil, reason, kind); on_sent(), if given, just
-- before the request goes out.
local function request_roster(username, url, finish, on_sent)
	-- Only while net.http.request is its own: a spec that stubs it (as
	-- busted specs written for Prosody do, to stand in for the web app)
	-- gets its stub called.
	if native and native.fetch and native.is_net_http_request(http.request) then
		return start_native_fetch(username, url, finish, on_sent);
	end
	local finished, request, timeout = false, nil, nil;
	local function settle(roster, reason, error_kind)
		if finished then return; end -- a late answer after the timeout
		finished = true;
		stop_timer(timeout);
		finish(roster, reason, error_kind);
	end
	-- net.http in Prosody 0.12 has no timeout of its own: a timer ends the
	-- wait, and the connection is closed if the library lets us.
	timeout = module:add_timer(fetch_timeout, function ()
		if finished then return; end
		settle(nil, "no answer within " .. fetch_timeout .. " s", "timeout");
		if request and http.destroy_request then
			http.destroy_request(request);
		end
	end);
	-- Refreshes asked for from here on need a fetch of their own.
	if on_sent then on_sent(); end
	-- A roster read from the answer, or nil and why not. entries is nil when
	-- no roster-admin/fetched handler was hooked as the answer came in.
	local function on_roster(roster, entries)
		if finished then return; end -- timed out while it was being read
		read_fetched(username, settle, roster, entries);
	end
	local function on_answer(body, code)
		if code ~= 200 then return settle(nil, answer_failure(code, body)); end
		if finished then return; end
		if native and type(body) == "string" then
			return native.parse(body, username .. "@" .. host, json.null, json_array_mt, fetched_hooked(), on_roster, max_contacts);
		end
		on_roster(parse_roster(username, body));
	end
	-- A request that cannot even start must still finish: its slot and
	-- the refreshes waiting for it are freed at once.
	local sent, result = pcall(http.request, url, { headers = { Accept = "application/json" } }, on_answer);
	if sent then
		request = result;
	else
		module:log("error", "Roster request for %s not sent: %s", username, tostring(result));
		settle(nil, "request not sent: " .. tostring(result), "connection");
	end
end

-- done(roster) on success, done(nil, reason) on any failure, exactly once;
-- on_sent(), if given, just before the request goes out.
function start_fetch(username, done, on_sent)
	running_fetches = running_fetches + 1;
	local finished = false;
	local started = monotonic();
	local function finish(roster, reason, error_kind)
		if finished then return; end
		finished = true;
		fetch_duration:sample(monotonic() - started);
		if not roster then
			error_kind = error_kind or "other";
			fetch_errors:with_labels(error_kind):add(1);
			fire_failed(username, reason, error_kind);
		end
		running_fetches = running_fetches - 1;
		next_fetch(); -- first: done may resume a waiting login and not come back soon
		done(roster, reason);
	end
	local url = roster_url_for(username);
	if not url then
		-- As good as sent: the refreshes waiting for it are answered by this
		-- failure, and later ones start a batch of their own (else the batch
		-- would be run again, and fail again, for ever).
		if on_sent then on_sent(); end
		-- Failed on a later turn, as a refused connection would be.
		module:add_timer(0, function ()
			finish(nil, "username " .. username .. " cannot be a URL path segment (proxies resolve dot segments)", "invalid_username");
		end);
		return;
	end
	module:log("debug", "Fetching roster of %s from %s", username, url);
	request_roster(username, url, finish, on_sent);
end

-- The fetch of each user currently out (refresh or login), and the last one
-- that came back, so that logins can share them: a burst of logins of one
-- user costs one fetch. username → { done = bool, at = monotonic time,
-- wanted, reason, waiters = { callback, ... } }
local latest_fetch = {};
-- A login shares a fetch that came back less than this long ago.
local login_reuse_window = 1;

-- Fetches that came back longer ago than that are forgotten now and then,
-- so that an online user does not keep the last answer read for nothing.
module:add_timer(login_reuse_window, function ()
	if engine then
		engine:sweep();
		return login_reuse_window;
	end
	local now = monotonic();
	for username, tracked in pairs(latest_fetch) do
		if tracked.done and now - tracked.at >= login_reuse_window then
			latest_fetch[username] = nil;
		end
	end
	return login_reuse_window;
end);

-- fetch_roster returns the queue item when the fetch has to wait for a
-- slot (owner: the queue it waits in, logins' by default), else nil.
local function fetch_roster(username, done, on_sent, owner)
	local tracked = { waiters = {} };
	latest_fetch[username] = tracked;
	local function finished(wanted, reason)
		tracked.done, tracked.at, tracked.wanted, tracked.reason = true, monotonic(), wanted, reason;
		local waiters = tracked.waiters;
		tracked.waiters = nil;
		done(wanted, reason);
		for _, waiter in ipairs(waiters) do
			local ok, err = pcall(waiter, wanted, reason);
			if not ok then
				module:log("error", "Login waiting for the roster of %s failed: %s", username, tostring(err));
			end
		end
		if latest_fetch[username] == tracked and not user_sessions(username) then
			latest_fetch[username] = nil; -- nobody online will share it
		end
	end
	if running_fetches < max_concurrent then
		start_fetch(username, finished, on_sent);
		return nil;
	end
	local item = { username = username, done = finished, on_sent = on_sent };
	-- A fetch dropped before it was sent: logins must not wait for it.
	function item.forget()
		if latest_fetch[username] == tracked then latest_fetch[username] = nil; end
	end
	-- Logins joining it make it theirs.
	tracked.item = item;
	enqueue(item, owner or login_queue);
	return item;
end

-- login_fetch(username, done) gives a login the application's roster: the
-- fetch already out for that user, or one that came back a moment ago, or a
-- new one. done(wanted) or done(nil, reason).
local function login_fetch(username, done)
	if engine then return engine:login_fetch(username, done); end
	local current = latest_fetch[username];
	if current and not current.done then
		table.insert(current.waiters, done);
		local item = current.item;
		if item and not item.started and not item.cancelled and item.owner ~= login_queue then
			-- Queued for a refresh request: a login goes first.
			item.cancelled = true;
			local moved = { username = item.username, done = item.done, on_sent = item.on_sent, forget = item.forget };
			current.item = moved;
			enqueue(moved, login_queue);
		end
	elseif current and monotonic() - current.at < login_reuse_window then
		done(current.wanted, current.reason);
	else
		fetch_roster(username, done);
	end
end

-- Applying ------------------------------------------------------------------------

-- A stored item with groups that are not a set differs from every item.
local function same_groups(a, b)
	if a ~= nil and type(a) ~= "table" then return false; end
	for group in pairs(a or {}) do
		if not b[group] then return false; end
	end
	for group in pairs(b) do
		if not (a and a[group]) then return false; end
	end
	return true;
end

-- Which contacts of wanted are new, gone or different; each list sorted.
-- roster-admin/fetched handlers may leave out an item's groups (none) and
-- subscription ("both"): normalised fills them in as an item is stored.
local diff_roster = native and native.diff or function (current, wanted)
	local added, removed, changed = {}, {}, {};
	for jid, item in pairs(wanted) do
		local old = current[jid];
		if not old then
			table.insert(added, jid);
		elseif old.name ~= item.name or not same_groups(old.groups, item.groups or {})
				or old.subscription ~= (item.subscription or "both") or old.ask then
			table.insert(changed, jid);
		end
	end
	for jid in pairs(current) do
		if jid and not wanted[jid] then
			table.insert(removed, jid);
		end
	end
	table.sort(added); table.sort(removed); table.sort(changed);
	return added, removed, changed;
end

-- The native reader hands over a roster nobody hooked as a handle whose
-- items are made on demand (most refreshes store one or two of them).
local function wanted_item(wanted, jid)
	if type(wanted) == "userdata" then return wanted:item(jid); end
	return wanted[jid];
end

local function wanted_table(wanted)
	if type(wanted) == "userdata" then return wanted:table(); end
	return wanted;
end

local function normalised(item)
	item.groups = item.groups or {};
	item.subscription = item.subscription or "both";
	return item;
end

-- Available clients tell new contacts they are there and ask for the
-- contacts' presence; removed contacts see them go.
local function exchange_presence(username, added, removed)
	local sessions = user_sessions(username);
	if not sessions then return; end
	local bare = username .. "@" .. host;
	for _, session in pairs(sessions) do
		if session.presence then -- clients without initial presence stay silent
			for _, contact in ipairs(added) do
				local presence = st.clone(session.presence);
				presence.attr.from, presence.attr.to = session.full_jid, contact;
				module:send(presence);
			end
			for _, contact in ipairs(removed) do
				module:send(st.presence({ type = "unavailable", from = session.full_jid, to = contact }));
			end
		end
	end
	for _, contact in ipairs(added) do
		module:send(st.presence({ type = "probe", from = bare, to = contact }));
	end
end

-- Our own calls to load_roster must not start another fetch in roster-load.
local loading_for_refresh = {};

-- apply_changes applies the difference between the user's roster and
-- wanted: stores, pushes each change; returns added, removed, changed, or
-- nil and why not. Where modhost holds rosters in Go (native.apply) that is
-- one step in Go, never half done, with no Lua table per contact.
local function apply_changes(username, wanted)
	if native and native.apply then
		return native.apply(host, username, wanted, true); -- and exchange_presence
	end
	loading_for_refresh[username] = true;
	local roster, err = rostermanager.load_roster(username, host);
	loading_for_refresh[username] = nil;
	if not roster then
		return nil, "could not load the current roster: " .. tostring(err);
	end
	local added, removed, changed = diff_roster(roster, wanted);
	if #added + #removed + #changed == 0 then return added, removed, changed; end
	local function store(jid)
		if not rostermanager.save_roster(username, host, roster, jid) then
			module:log("warn", "Could not store roster item %s of %s", jid, username);
		end
		rostermanager.roster_push(username, host, jid);
	end
	for _, jid in ipairs(removed) do
		roster[jid] = nil;
		store(jid);
	end
	for _, jid in ipairs(added) do
		roster[jid] = normalised(wanted_item(wanted, jid));
		store(jid);
	end
	for _, jid in ipairs(changed) do
		roster[jid] = normalised(wanted_item(wanted, jid));
		store(jid);
	end
	return added, removed, changed;
end

local function fire_updated(username, added, removed, changed)
	module:fire_event("roster-admin/updated", {
		username = username, host = host, added = added, removed = removed, changed = changed,
	});
end

local function apply_roster(username, wanted)
	local added, removed, changed = apply_changes(username, wanted);
	if not added then return nil, removed; end
	if #added + #removed + #changed == 0 then return true; end
	module:log("info", "Roster of %s refreshed: %d added, %d removed, %d changed",
		username, #added, #removed, #changed);
	if not (native and native.apply) then exchange_presence(username, added, removed); end
	if hooked("roster-admin/updated") then -- else the event is a table per refresh for nobody
		fire_updated(username, added, removed, changed);
	end
	return true;
end

-- Fetches and applies one user's roster; done(true) when it is in step,
-- done(false, reason) when it stays as it was.
local function fetch_and_apply(username, done, on_sent, owner)
	return fetch_roster(username, function (wanted, reason)
		if not wanted then
			module:log("warn", "Roster of %s not refreshed: %s", username, reason);
			refreshes:with_labels("failed"):add(1);
			return done(false, reason);
		end
		local ok, applied, apply_err = pcall(apply_roster, username, wanted);
		if not ok or not applied then
			module:log("error", "Roster of %s not refreshed: %s", username, tostring(applied or apply_err));
			refreshes:with_labels("failed"):add(1);
			return done(false, "apply failed");
		end
		refreshes:with_labels("updated"):add(1);
		done(true);
	end, on_sent, owner);
end

-- Overlapping refreshes of one user are coalesced. Requests that ask while
-- no fetch for them has been sent yet (it is queued, or not even started
-- because another is out) wait together for the same fetch and apply, and
-- all count its outcome. A request arriving after a fetch was sent does not
-- join it: the application may have changed the roster after that fetch
-- read it, so it waits for the next one. A user thus has at most one fetch
-- out and one batch of requests waiting for the following one.
local waiting_refresh = {}; -- username → callbacks of requests whose fetch is not sent yet
local refresh_out = {}; -- username → true while a fetch of theirs is out or being applied

local drop_batch;

local function run_refresh(username)
	local waiters = waiting_refresh[username];
	-- Its fetch waits, if it must, in the queue of a request still waiting.
	local owner;
	for _, candidate in ipairs(waiters.owners) do
		if not candidate.expired then owner = candidate; break; end
	end
	if not owner then return drop_batch(username, waiters); end
	refresh_out[username] = true;
	waiters.item = fetch_and_apply(username, function (ok, reason)
		refresh_out[username] = nil;
		if waiting_refresh[username] == waiters then -- never detached (not sent): not run again
			waiting_refresh[username] = nil;
		elseif waiting_refresh[username] then -- asked for while this one was out
			run_refresh(username);
		end
		for _, done in ipairs(waiters) do
			-- One request's failure to answer must not keep the others waiting.
			local notified, err = pcall(done, ok, reason);
			if not notified then
				module:log("error", "Refresh of %s could not be reported: %s", username, tostring(err));
			end
		end
	end, function ()
		waiting_refresh[username] = nil; -- later requests start a new batch
	end, owner);
end

-- drop_batch forgets the refresh batch of username whose fetch was dropped
-- before it was sent: nobody waits for it any more.
function drop_batch(username, waiters)
	if waiting_refresh[username] == waiters then waiting_refresh[username] = nil; end
	refresh_out[username] = nil;
end

-- cancel_queued runs at a request's deadline: each fetch it queued and that
-- has not been sent goes to another request that still waits for it, or to
-- the logins that joined it, or is dropped.
local function cancel_queued(owner)
	owner.expired = true;
	for i = owner.first, owner.last do
		local item = owner[i];
		if item and not item.started and not item.cancelled then
			item.cancelled = true;
			local waiters = waiting_refresh[item.username];
			local tracked = latest_fetch[item.username];
			local heir;
			if tracked and tracked.item == item and tracked.waiters and #tracked.waiters > 0 then
				heir = login_queue;
			elseif waiters and waiters.item == item then
				for _, other in ipairs(waiters.owners) do
					if not other.expired then heir = other; break; end
				end
			end
			if heir then
				local moved = { username = item.username, done = item.done, on_sent = item.on_sent, forget = item.forget };
				if tracked and tracked.item == item then tracked.item = moved; end
				if waiters and waiters.item == item then waiters.item = moved; end
				enqueue(moved, heir);
			else
				item.forget();
				if waiters and waiters.item == item then drop_batch(item.username, waiters); end
			end
		end
	end
	owner.first, owner.last = 1, 0;
	for i in pairs(owner) do
		if type(i) == "number" then owner[i] = nil; end
	end
end

-- done(true) when the roster is in step (or needs no refresh), done(false,
-- reason) when it stays as it was.
local function refresh_user(username, done, owner)
	if not user_sessions(username) and not refresh_offline then
		-- Fetched at next login anyway; counts as updated, as in the original.
		refreshes:with_labels("offline"):add(1);
		return done(true);
	end
	local waiters = waiting_refresh[username];
	if waiters then
		table.insert(waiters, done);
		table.insert(waiters.owners, owner);
		return;
	end
	waiting_refresh[username] = { done, owners = { owner } };
	if not refresh_out[username] then
		run_refresh(username);
	end
end

if native and native.engine then
	engine = native.engine({
		host = host, module = module.name, url = roster_url, timeout = fetch_timeout,
		max_concurrent = max_concurrent, max_contacts = max_contacts,
		refresh_offline = refresh_offline, reuse_window = login_reuse_window,
		null = json.null, array_mt = json_array_mt, http = http,
		refreshes = refreshes, fetch_duration = fetch_duration, fetch_errors = fetch_errors,
		hooked = hooked, fetched = fetched_verdict, failed = fire_failed, updated = fire_updated,
		request = request_roster,
	});
end

-- refresh_users refreshes each user once and calls answer(updated, errors)
-- when all are done (at once when there are none). It returns cancel, for
-- the request's deadline: the fetches it queued and nobody else waits for
-- are dropped, and cancel returns the counts so far.
local function refresh_users(usernames, answer)
	if engine then
		local request = engine:refresh(usernames, answer);
		return function () return request:cancel(); end;
	end
	local total, updated, errors = #usernames, 0, 0;
	if total == 0 then answer(0, 0); end
	local queue = new_queue(); -- this request's fetches waiting for a slot
	for _, username in ipairs(usernames) do
		refresh_user(username, function (ok)
			if ok then updated = updated + 1; else errors = errors + 1; end
			if updated + errors == total then answer(updated, errors); end
		end, queue);
	end
	return function ()
		cancel_queued(queue);
		return updated, errors;
	end;
end

-- Login ---------------------------------------------------------------------------

-- Prosody loads a roster in rostermanager.load_roster, which fires
-- roster-load when it reads one from storage. At login that happens inside
-- resource binding, which Prosody 0.12 runs in the c2s session's async
-- runner: there the handler can wait (util.async) for the application's
-- answer, so the client's first roster query already sees it. Elsewhere
-- (a roster loaded for presence routing, or our own loads) nothing may wait,
-- so an offline load is left as stored.
--
-- A roster Prosody had cached from such an offline load fires no roster-load
-- at login: resource-bind (also in the runner) catches that case. A host that
-- binds resources outside any async context (modhost learning of a session
-- from the server) gets the same result a moment later: a background
-- refresh, pushed like any other.
--
-- Keyed by username, not by roster table: gopher-lua has no weak tables and
-- its tables keep every key they ever had, so roster keys would pin each
-- login's roster for ever; resource-bind clears the entry.
local fetched_at_load = {}; -- username → roster fetched at roster-load

-- apply_logged applies a roster fetched for a login that is no longer
-- waiting for it; a failure is logged (what names the roster).
local function apply_logged(username, wanted, what)
	local ok, applied, apply_err = pcall(apply_roster, username, wanted);
	if not ok or not applied then
		module:log("error", "%s of %s not applied: %s", what, username, tostring(applied or apply_err));
	end
end

-- fetch_for_login waits (in the login's async runner) for the user's roster,
-- at most login_timeout. A fetch that lands later is applied then: its
-- differences reach the user's resources as pushes, as a refresh's do.
local function fetch_for_login(username)
	local wait, done = async.waiter();
	local wanted, reason, answered = nil, nil, false;
	local timer = module:add_timer(login_timeout, function ()
		if answered then return; end
		answered, reason = true, "no answer within the login timeout (" .. login_timeout .. " s); its differences follow as pushes";
		done();
	end);
	login_fetch(username, function (roster, err)
		if answered then -- the login went on without it
			if roster then
				apply_logged(username, roster, "Late login roster");
			else
				module:log("warn", "Roster of %s not fetched after login: %s", username, tostring(err));
			end
			return;
		end
		answered, wanted, reason = true, roster, err;
		stop_timer(timer);
		done();
	end);
	wait();
	return wanted, reason;
end

module:hook("roster-load", function (event)
	local username = event.username;
	-- Only a login waits: an offline user's roster (loaded to route someone
	-- else's stanza) stays as stored, and resource-bind catches up on it.
	if loading_for_refresh[username] or not user_sessions(username) or not async.ready() then return; end
	local wanted, reason = fetch_for_login(username);
	if native and native.apply then
		-- The roster modhost holds in Go is changed in Go: event.roster,
		-- read, would make it a Lua table for the whole session.
		fetched_at_load[username] = true;
		if not wanted then
			module:log("warn", "Roster of %s not fetched at login, keeping the stored one: %s", username, reason);
			return;
		end
		local applied, err = native.apply(host, username, wanted);
		if not applied then
			module:log("warn", "Could not store the fetched roster of %s: %s", username, tostring(err));
			return;
		end
		module:log("debug", "Roster of %s fetched at roster-load", username);
		return;
	end
	local roster = event.roster;
	fetched_at_load[username] = roster;
	if not wanted then
		module:log("warn", "Roster of %s not fetched at login, keeping the stored one: %s", username, reason);
		return;
	end
	for jid in pairs(roster) do
		if jid then roster[jid] = nil; end
	end
	for jid, item in pairs(wanted_table(wanted)) do
		roster[jid] = normalised(item);
	end
	module:log("debug", "Roster of %s fetched at roster-load", username);
	if not rostermanager.save_roster(username, host, roster) then
		module:log("warn", "Could not store the fetched roster of %s", username);
	end
end);

module:hook("resource-bind", function (event)
	local session = event.session;
	local username = session.username;
	local fetched = fetched_at_load[username];
	fetched_at_load[username] = nil;
	-- true: fetched into the roster modhost holds in Go (see roster-load).
	if fetched == true or (fetched and fetched == session.roster) then return; end
	-- Every resource's login is a resync point (a change the application
	-- did not notify is repaired by a reconnect): it shares the fetch out
	-- for this user, or one just back, or makes one, and applies it, so the
	-- other resources get the differences as pushes.
	if not async.ready() then
		return login_fetch(username, function (wanted, reason)
			if not wanted then
				module:log("warn", "Roster of %s not fetched at login: %s", username, tostring(reason));
				return;
			end
			apply_logged(username, wanted, "Login roster");
		end);
	end
	local wanted, reason = fetch_for_login(username);
	if not wanted then
		module:log("warn", "Roster of %s not fetched at login: %s", username, reason);
		return;
	end
	apply_roster(username, wanted);
end);

-- A logout ends the sharing of a finished fetch: the next login (of this
-- resource or another) is a resync point of its own.
module:hook("resource-unbind", function (event)
	local username = event.session.username;
	if engine then
		if username then engine:forget(username); end
		return;
	end
	local latest = username and latest_fetch[username];
	if latest and latest.done then
		latest_fetch[username] = nil;
	end
end);

-- Clients may not edit rosters the application owns. Prosody's mod_iq fires
-- iq/self/... before iq-set/self/..., so both are hooked, above mod_roster.
local function refuse_roster_set(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "set" then return; end
	event.origin.send(st.error_reply(stanza, "cancel", "service-unavailable",
		"Contacts are managed by the web application"));
	return true;
end
module:hook("iq/self/jabber:iq:roster:query", refuse_roster_set, 10);
module:hook("iq-set/self/jabber:iq:roster:query", refuse_roster_set, 10);

-- The refresh API ---------------------------------------------------------------

local function send_json(response, status, body)
	response.status_code = status;
	response.headers.content_type = "application/json";
	response:send(json.encode(body));
	return true;
end

local function refuse(response, status, message)
	return send_json(response, status, { status = "error", message = message });
end

local function authorized(request)
	if not secret then return true; end
	local given = request.headers.authorization;
	if type(given) ~= "string" then return false; end
	-- The scheme is case-insensitive (RFC 9110 §11.1): bearer, BEARER, ….
	local scheme, token = given:match("^(%S+)[ \t]+(.-)[ \t]*$");
	return scheme ~= nil and scheme:lower() == "bearer" and constant_time_equals(token, secret);
end

-- Refreshes every user once and answers when all are done or the deadline
-- passes, whichever comes first. Invalid usernames (counted, never fetched)
-- start the count as errors.
local function refresh_and_answer(response, usernames, invalid)
	invalid = invalid or 0;
	local total = #usernames + invalid;
	local answered, deadline = false, nil;
	users_refreshed:add(total);
	if invalid > 0 then refreshes:with_labels("invalid"):add(invalid); end
	local cancel = refresh_users(usernames, function (updated, errors)
		if answered then return; end
		answered = true;
		stop_timer(deadline);
		errors = errors + invalid;
		if errors > 0 and errors == total then
			send_json(response, 200, { status = "error", message = "roster update failed for every user", updated = updated, errors = errors });
		else
			send_json(response, 200, { status = "ok", message = "roster update complete", updated = updated, errors = errors });
		end
	end);
	if not answered then
		deadline = module:add_timer(request_deadline, function ()
			if answered then return; end
			answered = true;
			local updated, errors = cancel();
			errors = errors + invalid;
			send_json(response, 504, {
				status = "error",
				message = string.format("deadline of %s s passed with %d of %d refreshes unfinished",
					request_deadline, total - updated - errors, total),
				updated = updated, errors = errors,
			});
		end);
	end
	return true;
end

-- A refresh asked for from inside the server (modhost's link asks for one
-- when, with several instances writing one server, a roster's write failed:
-- only a new fetch says what the roster is by then).
module:hook("roster-admin/refresh", function (event)
	local username = type(event.username) == "string" and nodeprep(event.username);
	local done = event.done or function () end;
	if not username or username == "" then
		done(false, "not a username");
		return true;
	end
	if engine then
		engine:refresh_one(username, done);
	else
		refresh_user(username, done, new_queue());
	end
	return true;
end);

-- Checks the body is a JSON array of strings; returns the valid usernames
-- among them prepped and without duplicates ("Alice" and "alice" are one),
-- and how many distinct strings were not usernames, or nil and what was
-- wrong with the body.
local function parse_usernames(body)
	if type(body) ~= "string" or body:match("^%s*$") then
		return nil, "missing body: expected a JSON array of usernames";
	end
	if #body > max_body_size then
		return nil, "body larger than " .. max_body_size .. " bytes";
	end
	if not utf8_valid(body) then -- JSON is UTF-8 (RFC 8259 §8.1)
		return nil, "body is not UTF-8: expected a JSON array of usernames";
	end
	local data, err = decode_json(body);
	if data == nil then
		return nil, "body is not valid JSON (" .. tostring(err) .. "): expected a JSON array of usernames";
	end
	if type(data) ~= "table" or not is_json_array(body) then
		return nil, "body must be a JSON array of usernames";
	end
	local usernames, seen, invalid, seen_invalid = {}, {}, 0, {};
	for i = 1, #data do
		local element = data[i];
		if type(element) ~= "string" then
			return nil, string.format("element %d is not a string", i);
		end
		local username = prep_username(element);
		if not username then
			if not seen_invalid[element] then
				seen_invalid[element] = true;
				invalid = invalid + 1;
				module:log("debug", "Not refreshing %q: not a valid username", element);
			end
		elseif not seen[username] then
			seen[username] = true;
			table.insert(usernames, username);
		end
	end
	return usernames, invalid;
end

local function guarded(handler)
	return function (event, path)
		if not authorized(event.request) then
			event.response.headers.www_authenticate = "Bearer";
			return refuse(event.response, 401, "missing or wrong Authorization: Bearer secret");
		end
		local ok, result = pcall(handler, event, path);
		if not ok then
			module:log("error", "Refresh request failed: %s", tostring(result));
			return refuse(event.response, 500, "internal error");
		end
		return result;
	end
end

-- Refreshes the users a body named, unless they are too many for one request.
local function refresh_parsed(response, usernames, invalid)
	if #usernames + invalid > max_users then
		return refuse(response, 413, string.format(
			"%d usernames in one request; at most %d (http_roster_admin_max_users): split the list",
			#usernames + invalid, max_users));
	end
	return refresh_and_answer(response, usernames, invalid);
end

local function refresh_many(event)
	local body, response = event.request.body, event.response;
	if native and native.parse_usernames and type(body) == "string" then
		-- Read off the loop (modhost): a body may be a megabyte of anything.
		native.parse_usernames(body, max_body_size, json.null, json_array_mt, function (usernames, invalid, refused)
			local ok, err = pcall(function ()
				if not usernames then return refuse(response, 400, invalid); end
				for _, element in ipairs(refused) do
					module:log("debug", "Not refreshing %q: not a valid username", element);
				end
				return refresh_parsed(response, usernames, invalid);
			end);
			if not ok then
				module:log("error", "Refresh request failed: %s", tostring(err));
				refuse(response, 500, "internal error");
			end
		end);
		return true;
	end
	-- On success the second value is the count of invalid usernames; on
	-- failure, what was wrong with the body.
	local usernames, invalid = parse_usernames(body);
	if not usernames then
		return refuse(response, 400, invalid);
	end
	return refresh_parsed(response, usernames, invalid);
end

local function refresh_one(event, path)
	if not path or path == "" then
		return refuse(event.response, 400, "missing username after /refresh/");
	end
	local username = prep_username(path);
	if not username then
		return refresh_and_answer(event.response, {}, 1);
	end
	return refresh_and_answer(event.response, { username });
end

local function method_not_allowed(allowed)
	return function (event)
		event.response.headers.allow = allowed;
		return refuse(event.response, 405, "method not allowed; use " .. allowed);
	end
end

local only_post = method_not_allowed("POST");
local only_get = method_not_allowed("GET");

module:provides("http", {
	route = {
		["POST /refresh"] = guarded(refresh_many);
		["GET /refresh/*"] = guarded(refresh_one);
		["GET /refresh"] = only_post;
		["HEAD /refresh"] = only_post;
		["PUT /refresh"] = only_post;
		["PATCH /refresh"] = only_post;
		["DELETE /refresh"] = only_post;
		["HEAD /refresh/*"] = only_get;
		["POST /refresh/*"] = only_get;
		["PUT /refresh/*"] = only_get;
		["PATCH /refresh/*"] = only_get;
		["DELETE /refresh/*"] = only_get;
	};
});
