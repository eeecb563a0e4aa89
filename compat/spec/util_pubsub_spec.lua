-- Behaviour of util.pubsub: nodes, affiliations and capabilities,
-- subscriptions, publishing and retrieving items, configuration, stores and
-- events.

local pubsub = require "util.pubsub";

local function sorted(list)
	table.sort(list);
	return list;
end

describe("util.pubsub", function ()
	describe("nodes", function ()
		it("are created by owners, and the creator owns them", function ()
			local service = pubsub.new();
			assert.is_true(service:create("princely_musings", true));
			assert.same({ false, "conflict" }, { service:create("princely_musings", true) });
			-- with the default capabilities nobody but the service may create
			assert.same({ false, "forbidden" }, { service:create("other", "hamlet@denmark.lit") });

			service = pubsub.new({ get_affiliation = function (jid)
				if jid == "admin@denmark.lit" then return "owner"; end
			end });
			assert.is_true(service:create("node", "admin@denmark.lit"));
			assert.equal("owner", service.nodes.node.affiliations["admin@denmark.lit"]);
			assert.is_true(service:delete("node", "admin@denmark.lit"));
			assert.is_nil(service.nodes.node);
			assert.same({ false, "item-not-found" }, { service:delete("node", true) });
		end);

		it("get_nodes lists them", function ()
			local service = pubsub.new();
			service:create("a", true);
			service:create("b", true);
			local ok, nodes = service:get_nodes(true);
			assert.is_true(ok);
			assert.truthy(nodes.a and nodes.b);
			assert.equal("a", nodes.a.name);
			assert.is_true((service:get_nodes("anyone@example.com")));
		end);

		it("check_node_config can refuse a configuration", function ()
			local service = pubsub.new({ check_node_config = function (_, _, config) return config.max_items ~= 0; end });
			assert.same({ false, "not-acceptable" }, { service:create("n", true, { max_items = 0 }) });
			assert.is_true(service:create("n", true, { max_items = 5 }));
			assert.same({ false, "not-acceptable" }, { service:set_node_config("n", true, { max_items = 0 }) });
		end);
	end);

	describe("capabilities", function ()
		local service;
		before_each(function ()
			service = pubsub.new();
			service:create("node", true);
		end);

		it("follow the default affiliation of the access model", function ()
			-- open: everyone is a member
			assert.equal("member", service:get_default_affiliation("node", "x@example.com"));
			assert.is_true(service:may("node", "x@example.com", "get_items"));
			assert.is_false(service:may("node", "x@example.com", "publish"));
			assert.is_true(service:may("node", true, "anything"));
			service:set_node_config("node", true, { access_model = "whitelist" });
			assert.equal("outcast", service:get_default_affiliation("node", "x@example.com"));
			assert.is_false(service:may("node", "x@example.com", "get_items"));
			assert.is_true(service:may("node", "x@example.com", "get_subscription"));
		end);

		it("come from node affiliations, service ones, get_affiliation and access_models", function ()
			service:set_affiliation("node", true, "pub@example.com", "publisher");
			assert.is_true(service:may("node", "pub@example.com", "publish"));
			assert.is_false(service:may("node", "pub@example.com", "delete"));
			service.affiliations["boss@example.com"] = "owner";
			assert.is_true(service:may("node", "boss@example.com", "delete"));

			local s2 = pubsub.new({
				access_models = { presence = function (actor) if actor == "friend@example.com" then return "member"; end end };
				node_defaults = { access_model = "presence" };
			});
			s2:create("n", true);
			assert.equal("member", s2:get_default_affiliation("n", "friend@example.com"));
			assert.is_nil(s2:get_default_affiliation("n", "stranger@example.com"));
			assert.is_true(s2:may("n", "friend@example.com", "get_items"));
			assert.is_false(s2:may("n", "stranger@example.com", "get_items"));
			assert.is_true(s2:may("n", "stranger@example.com", "subscribe"));
		end);

		it("match the default table", function ()
			local expect = {
				outcast = { get_subscription = true, be_unsubscribed = true, subscribe = false, get_items = false, get_nodes = false },
				none = { get_nodes = true, subscribe = true, get_items = false, publish = false },
				member = { get_items = true, publish = false, get_configuration = false },
				publisher = { publish = true, retract = true, get_configuration = true, create = false, configure = false },
				owner = { create = true, delete = true, configure = true, set_affiliation = true, subscribe_other = true },
			};
			for affiliation, actions in pairs(expect) do
				service:set_affiliation("node", true, affiliation .. "@example.com", affiliation);
				for action, allowed in pairs(actions) do
					assert.equal(allowed, service:may("node", affiliation .. "@example.com", action), affiliation .. " " .. action);
				end
			end
			-- actions in no table are refused
			assert.is_false(service:may("node", "owner@example.com", "no_such_action"));
		end);

		it("can be set per node", function ()
			assert.same({ false, "forbidden" }, { service:set_node_capabilities("node", "x@example.com", {}) });
			assert.is_true(service:set_node_capabilities("node", true, { member = { publish = true } }));
			assert.is_true(service:may("node", "x@example.com", "publish"));
			-- anything the node's table does not say falls back to the service's
			assert.is_true(service:may("node", "x@example.com", "get_items"));
			assert.same({ false, "item-not-found" }, { service:set_node_capabilities("nope", true, {}) });
		end);

		it("jids_equal uses normalize_jid", function ()
			local s = pubsub.new({ normalize_jid = function (jid) return (jid:gsub("/.*", "")); end });
			assert.is_true(s:jids_equal("a@b/c", "a@b/d"));
			assert.is_false(s:jids_equal("a@b", "c@b"));
		end);
	end);

	describe("subscriptions", function ()
		local service, log;
		before_each(function ()
			log = {};
			service = pubsub.new({ normalize_jid = function (jid) return (jid:gsub("/.*", "")); end });
			service.events.add_handler("subscription-added", function (e) log[#log + 1] = { "added", e.node, e.jid, e.normalized_jid }; end);
			service.events.add_handler("subscription-removed", function (e) log[#log + 1] = { "removed", e.node, e.jid }; end);
			service:create("node", true);
		end);

		it("are added, read and removed", function ()
			assert.is_true(service:add_subscription("node", "juliet@capulet.lit/balcony", "juliet@capulet.lit/balcony"));
			assert.same({ true, true }, { service:get_subscription("node", "juliet@capulet.lit/balcony", "juliet@capulet.lit/balcony") });
			assert.same({ "added", "node", "juliet@capulet.lit/balcony", "juliet@capulet.lit" }, log[1]);
			assert.same({ ["juliet@capulet.lit/balcony"] = { node = true } }, service.subscriptions["juliet@capulet.lit"]);
			assert.is_true(service:remove_subscription("node", "juliet@capulet.lit/balcony", "juliet@capulet.lit/balcony"));
			assert.same({ "removed", "node", "juliet@capulet.lit/balcony" }, log[2]);
			assert.is_nil(service.subscriptions["juliet@capulet.lit"]);
			assert.same({ false, "not-subscribed" }, { service:remove_subscription("node", true, "juliet@capulet.lit/balcony") });
		end);

		it("keep options", function ()
			local options = { digest = true };
			service:add_subscription("node", true, "romeo@montague.lit", options);
			assert.same({ true, options }, { service:get_subscription("node", true, "romeo@montague.lit") });
		end);

		it("for others need the _other actions", function ()
			assert.same({ false, "forbidden" }, { service:add_subscription("node", "eve@example.com", "romeo@montague.lit") });
			assert.same({ false, "forbidden" }, { service:get_subscription("node", "eve@example.com", "romeo@montague.lit") });
			-- the same bare JID counts as oneself
			assert.is_true(service:add_subscription("node", "romeo@montague.lit/a", "romeo@montague.lit/b"));
		end);

		it("need a node, unless autocreate_on_subscribe", function ()
			assert.same({ false, "item-not-found" }, { service:add_subscription("missing", true, "a@b") });
			assert.same({ false, "item-not-found" }, { service:get_subscription("missing", true, "a@b") });
			assert.same({ false, "item-not-found" }, { service:remove_subscription("missing", true, "a@b") });
			local s = pubsub.new({ autocreate_on_subscribe = true });
			assert.is_true(s:add_subscription("fresh", true, "a@b"));
			assert.truthy(s.nodes.fresh);
		end);

		it("are refused to outcasts", function ()
			service:set_affiliation("node", true, "banned@example.com", "outcast");
			assert.same({ false, "forbidden" }, { service:add_subscription("node", true, "banned@example.com") });
		end);

		it("get_subscriptions lists them by JID and node", function ()
			service:create("other", true);
			service:add_subscription("node", true, "a@example.com/1");
			service:add_subscription("node", true, "a@example.com/2");
			service:add_subscription("other", true, "a@example.com/1");
			service:add_subscription("node", true, "b@example.com");
			local function summary(list)
				local out = {};
				for _, s in ipairs(list) do out[#out + 1] = s.node .. " " .. s.jid .. " " .. tostring(s.subscription); end
				return sorted(out);
			end
			local ok, list = service:get_subscriptions(nil, true, "a@example.com");
			assert.is_true(ok);
			assert.same({ "node a@example.com/1 true", "node a@example.com/2 true", "other a@example.com/1 true" }, summary(list));
			list = select(2, service:get_subscriptions("node", true, nil));
			assert.same({ "node a@example.com/1 true", "node a@example.com/2 true", "node b@example.com true" }, summary(list));
			list = select(2, service:get_subscriptions("other", true, "b@example.com"));
			assert.same({}, list);
			assert.same({ false, "item-not-found" }, { service:get_subscriptions("missing", true) });
			assert.same({ false, "forbidden" }, { service:get_subscriptions(nil, "eve@example.com", "a@example.com") });
		end);

		it("are dropped when the access model stops admitting them", function ()
			service:add_subscription("node", true, "a@example.com");
			service:set_affiliation("node", true, "m@example.com", "member");
			service:add_subscription("node", true, "m@example.com");
			assert.is_true(service:set_node_config("node", true, { access_model = "whitelist" }));
			assert.same({ true, nil }, { service:get_subscription("node", true, "a@example.com") });
			assert.same({ true, true }, { service:get_subscription("node", true, "m@example.com") });
		end);
	end);

	describe("items", function ()
		local service, broadcasts, published;
		before_each(function ()
			broadcasts, published = {}, {};
			service = pubsub.new({
				broadcaster = function (kind, node, subscribers, item, actor)
					local jids = {};
					for jid in pairs(subscribers) do jids[#jids + 1] = jid; end
					broadcasts[#broadcasts + 1] = { kind, node, sorted(jids), item, actor };
				end;
			});
			service.events.add_handler("item-published", function (e) published[#published + 1] = { e.node, e.id, e.item, e.actor }; end);
			service:create("node", true);
			service:add_subscription("node", true, "sub@example.com");
		end);

		it("are published, broadcast and retrieved newest first", function ()
			assert.is_true(service:publish("node", true, "1", "one"));
			assert.is_true(service:publish("node", true, "2", "two"));
			assert.same({ "node", "1", "one", true }, published[1]);
			assert.same({ "items", "node", { "sub@example.com" }, "two", true }, broadcasts[2]);
			assert.same({ true, { "2", "1", ["1"] = "one", ["2"] = "two" } }, { service:get_items("node", true) });
			assert.same({ true, { "2", ["2"] = "two" } }, { service:get_items("node", true, nil, { max = 1 }) });
			assert.same({ true, { "1", ["1"] = "one" } }, { service:get_items("node", true, { "1", "missing" }) });
			assert.same({ true, { "1", ["1"] = "one" } }, { service:get_items("node", true, "1") });
			assert.same({ true, "2", "two" }, { service:get_last_item("node", true) });
			-- publishing an existing id replaces it
			service:publish("node", true, "1", "uno");
			assert.same({ true, { "1", "2", ["1"] = "uno", ["2"] = "two" } }, { service:get_items("node", true) });
		end);

		it("fire item-published/NODE", function ()
			local seen;
			service.events.add_handler("item-published/node", function (e) seen = e.id; end);
			service:publish("node", true, "x", "item");
			assert.equal("x", seen);
		end);

		it("are kept to the node's max_items", function ()
			service:create("small", true, { max_items = 2 });
			for i = 1, 4 do service:publish("small", true, tostring(i), i); end
			local _, items = service:get_items("small", true);
			assert.same({ "4", "3" }, { items[1], items[2], items[3] });
			service:set_node_config("small", true, { max_items = 1 });
			_, items = service:get_items("small", true);
			assert.same({ "4" }, { items[1], items[2] });
		end);

		it("need publish rights or an open publish model", function ()
			assert.same({ false, "forbidden" }, { service:publish("node", "x@example.com", "1", "i") });
			service:set_node_config("node", true, { publish_model = "subscribers" });
			assert.same({ false, "forbidden" }, { service:publish("node", "x@example.com", "1", "i") });
			assert.is_true(service:publish("node", "sub@example.com", "1", "i"));
			service:set_node_config("node", true, { publish_model = "open" });
			assert.is_true(service:publish("node", "x@example.com", "2", "i"));
		end);

		it("need a node, unless autocreate_on_publish", function ()
			assert.same({ false, "item-not-found" }, { service:publish("missing", true, "1", "i") });
			local s = pubsub.new({ autocreate_on_publish = true });
			assert.is_true(s:publish("fresh", true, "1", "i", { max_items = 3 }));
			assert.equal(3, s.nodes.fresh.config.max_items);
		end);

		it("check publish options against the node's configuration", function ()
			service:set_node_config("node", true, { access_model = "presence" });
			assert.is_true(service:publish("node", true, "1", "i", { access_model = "presence" }));
			local ok, err = service:publish("node", true, "2", "i", { access_model = "open" });
			assert.is_false(ok);
			assert.equal("precondition-not-met", err.pubsub_condition);
			assert.equal("conflict", err.condition);
			assert.equal("cancel", err.type);
			assert.equal("Field does not match: access_model", err.text);
			assert.is_true(service:publish("node", true, "3", "i", { access_model = "open", _defaults_only = true }));
		end);

		it("are checked by itemcheck", function ()
			local s = pubsub.new({ itemcheck = function (item) return item ~= "bad"; end });
			s:create("n", true);
			assert.same({ nil, "invalid-item" }, { s:publish("n", true, "1", "bad") });
			assert.is_true(s:publish("n", true, "1", "good"));
		end);

		it("are retracted and purged", function ()
			service:publish("node", true, "1", "one");
			service:publish("node", true, "2", "two");
			local retracted;
			service.events.add_handler("item-retracted", function (e) retracted = e.id; end);
			assert.is_true(service:retract("node", true, "1", "<retract/>"));
			assert.equal("1", retracted);
			assert.same({ "retract", "node", { "sub@example.com" }, "<retract/>", true }, broadcasts[#broadcasts]);
			assert.same({ false, "item-not-found" }, { service:retract("node", true, "1") });
			local count = #broadcasts;
			assert.is_true(service:retract("node", true, "2"));
			assert.equal(count, #broadcasts);
			service:publish("node", true, "3", "three");
			assert.is_true(service:purge("node", true, true));
			assert.same({ "purge", "node", { "sub@example.com" }, nil, true }, broadcasts[#broadcasts]);
			assert.same({ true, {} }, { service:get_items("node", true) });
			assert.same({ true }, { service:get_last_item("node", true) });
		end);

		it("broadcast node deletion", function ()
			service:delete("node", true);
			assert.same({ "delete", "node", { "sub@example.com" }, nil, true }, broadcasts[#broadcasts]);
		end);

		it("are not kept without persist_items", function ()
			service:create("transient", true, { persist_items = false });
			assert.is_true(service:publish("transient", true, "1", "i"));
			assert.same({ false, "persistent-items-unsupported" }, { service:get_items("transient", true) });
			assert.same({ true, nil }, { service:get_last_item("transient", true) });
			service:set_node_config("transient", true, { persist_items = true });
			service:publish("transient", true, "2", "j");
			assert.same({ true, { "2", ["2"] = "j" } }, { service:get_items("transient", true) });
		end);

		it("pass through subscriber_filter before broadcast", function ()
			local s = pubsub.new({
				subscriber_filter = function (_, node, kind) return { ["filtered@" .. node .. "." .. kind] = true }; end;
				broadcaster = function (_, _, subs) broadcasts[#broadcasts + 1] = subs; end;
			});
			s:create("n", true);
			s:publish("n", true, "1", "i");
			assert.same({ ["filtered@n.items"] = true }, broadcasts[#broadcasts]);
		end);

		it("are refused to those without get_items", function ()
			service:set_affiliation("node", true, "out@example.com", "outcast");
			assert.same({ false, "forbidden" }, { service:get_items("node", "out@example.com") });
			assert.same({ false, "forbidden" }, { service:get_last_item("node", "out@example.com") });
			assert.same({ false, "item-not-found" }, { service:get_items("missing", true) });
			assert.same({ false, "item-not-found" }, { service:get_last_item("missing", true) });
		end);
	end);

	describe("configuration", function ()
		it("get_node_config flattens defaults, service defaults and the node's", function ()
			local service = pubsub.new({ node_defaults = { max_items = 50 } });
			service:create("n", true, { title = "T" });
			assert.same({ true, { persist_items = true, max_items = 50, access_model = "open", publish_model = "publishers",
				send_last_published_item = "never", title = "T" } }, { service:get_node_config("n", true) });
			assert.same({ false, "item-not-found" }, { service:get_node_config("missing", true) });
			assert.same({ false, "forbidden" }, { service:get_node_config("n", "x@example.com") });
		end);

		it("set_node_config replaces the configuration", function ()
			local service = pubsub.new();
			service:create("n", true, { title = "old" });
			assert.is_true(service:set_node_config("n", true, { description = "new" }));
			local _, config = service:get_node_config("n", true);
			assert.is_nil(config.title);
			assert.equal("new", config.description);
			assert.same({ false, "forbidden" }, { service:set_node_config("n", "x@example.com", {}) });
			assert.same({ false, "item-not-found" }, { service:set_node_config("missing", true, {}) });
		end);
	end);

	describe("affiliations", function ()
		it("are set by owners on existing nodes", function ()
			local service = pubsub.new();
			assert.same({ false, "item-not-found" }, { service:set_affiliation("missing", true, "a@b", "member") });
			service:create("n", true);
			assert.same({ false, "forbidden" }, { service:set_affiliation("n", "x@example.com", "a@b", "owner") });
			assert.is_true(service:set_affiliation("n", true, "a@b", "publisher"));
			assert.equal("publisher", service.nodes.n.affiliations["a@b"]);
		end);
	end);

	describe("node store", function ()
		local function memory_store(initial)
			local data = initial or {};
			local store = { data = data, fail = false };
			function store:get(name) return data[name]; end
			function store:set(name, value)
				if self.fail then return nil, "broken"; end
				data[name] = value;
				return true;
			end
			function store:users()
				local names = {};
				for name in pairs(data) do names[#names + 1] = name; end
				table.sort(names);
				local i = 0;
				return function () i = i + 1; return names[i]; end;
			end
			return store;
		end

		it("saves nodes and loads them back", function ()
			local store = memory_store();
			local service = pubsub.new({ nodestore = store });
			service:create("n", true, { title = "T" });
			service:add_subscription("n", true, "a@example.com");
			service:set_affiliation("n", true, "p@example.com", "publisher");
			assert.equal("n", store.data.n.name);
			assert.equal(true, store.data.n.subscribers["a@example.com"]);
			assert.equal("publisher", store.data.n.affiliations["p@example.com"]);

			local again = pubsub.new({ nodestore = store });
			assert.truthy(again.nodes.n);
			assert.equal("T", again.nodes.n.config.title);
			assert.equal(20, again.nodes.n.config.max_items);
			assert.truthy(again.data.n);
			assert.same({ ["a@example.com"] = { n = true } }, again.subscriptions["a@example.com"]);

			service:delete("n", true);
			assert.is_nil(store.data.n);
		end);

		it("fails, changing nothing, when the store fails", function ()
			local store = memory_store();
			local service = pubsub.new({ nodestore = store });
			service:create("n", true);
			store.fail = true;
			assert.same({ nil, "internal-server-error" }, { service:create("m", true) });
			assert.is_nil(service.nodes.m);
			assert.same({ nil, "internal-server-error" }, { service:set_affiliation("n", true, "a@b", "owner") });
			assert.is_nil(service.nodes.n.affiliations["a@b"]);
			assert.same({ nil, "internal-server-error" }, { service:set_node_config("n", true, { title = "x" }) });
			assert.is_nil(service.nodes.n.config.title);
		end);
	end);

	describe("events", function ()
		it("fire for node creation, deletion and purging", function ()
			local service = pubsub.new();
			local seen = {};
			for _, name in ipairs({ "node-created", "node-deleted", "node-purged" }) do
				service.events.add_handler(name, function (e) seen[#seen + 1] = { name, e.node, e.actor }; end);
			end
			service:create("n", true);
			service:purge("n", true);
			service:delete("n", true);
			assert.same({ { "node-created", "n", true }, { "node-purged", "n", true }, { "node-deleted", "n", true } }, seen);
		end);
	end);
end);
