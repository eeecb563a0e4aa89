-- Run by TestTestingLibraryLogsSpecsIn (host/testing_test.go) on a runtime
-- with one VirtualHost "example.com" and memory storage.
local testing = require "modhost.testing";
local st = require "util.stanza";
local async = require "util.async";

describe("modhost.testing", function ()
	it("logs a user in and answers the roster query from storage", testing.async(function ()
		local alice = testing.login("example.com", "alice", "laptop");
		assert.equal("alice@example.com/laptop", alice.full_jid);
		assert.is_table(hosts["example.com"].sessions.alice.sessions.laptop);
		assert.same({}, alice:roster());
		alice:logout();
		assert.is_nil(hosts["example.com"].sessions.alice);
	end));

	it("waits for roster-load handlers that wait, as a real login does", testing.async(function ()
		local events = hosts["example.com"].events;
		local function slow_fetch(event)
			async.sleep(0.05);
			event.roster["bob@example.com"] = { subscription = "both", groups = { Friends = true } };
		end
		events.add_handler("roster-load", slow_fetch);
		finally(function () events.remove_handler("roster-load", slow_fetch); end);
		local alice = testing.login("example.com", "carol", "phone");
		assert.same({ ["bob@example.com"] = { subscription = "both", groups = { Friends = true } } }, alice:roster());
		alice:logout();
	end));

	it("collects what the host sends, roster pushes included", testing.async(function ()
		local laptop = testing.login("example.com", "dave", "laptop");
		local phone = testing.login("example.com", "dave", "phone");
		phone:roster(); -- interested in pushes from now on
		local mark = #phone.sent + 1;
		laptop:send(st.iq({ type = "set", id = "s1" }):tag("query", { xmlns = "jabber:iq:roster" })
			:tag("item", { jid = "erin@example.com", name = "Erin" }));
		local push = phone:wait_for(function (stanza)
			return stanza.attr.type == "set" and stanza:find("{jabber:iq:roster}query/item@jid") == "erin@example.com";
		end, mark);
		assert.equal("iq", push.name);
		assert.equal("Erin", laptop:roster()["erin@example.com"].name);
		laptop:logout();
		phone:logout();
	end));

	it("raises when the login fails", testing.async(function ()
		assert.has_error(function () testing.login("nowhere.example", "alice", "x"); end,
			"login failed: no such host: nowhere.example");
		local first = testing.login("example.com", "frank", "desk");
		assert.has_error(function () testing.login("example.com", "frank", "desk"); end,
			"login failed: resource already bound: frank@example.com/desk");
		first:logout();
	end));

	it("says how to wait when a waiting call is made outside testing.async", function ()
		assert.has_error(function () testing.login("example.com", "gina", "x"); end);
		local ok, err = pcall(testing.login, "example.com", "gina", "x");
		assert.is_false(ok);
		assert.matches("testing.async", err, 1, true);
	end);

	it("gives a testing.async function a server's async.sleep, and takes it back after", testing.async(function ()
		async.sleep(0.01);
	end));

	it("leaves async.sleep without a schedule function outside testing.async, as under busted", function ()
		local errors = {};
		async.runner(function () async.sleep(0.01); end, {
			error = function (_, err) table.insert(errors, err); end;
		}):run(true);
		assert.equal(1, #errors);
	end);
end);
