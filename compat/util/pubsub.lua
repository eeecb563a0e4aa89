-- util.pubsub: the XEP-0060 publish-subscribe service model, as Prosody
-- 0.12's util.pubsub (what mod_pubsub and mod_pep build on).
--
-- new(config) makes a service. config may give: max_items (256),
-- itemstore(node_config, node) (a util.cache of the node's max_items),
-- nodestore (with get/set/users: nodes are loaded from it and saved to it),
-- broadcaster(event, node, subscribers, item, actor, node_obj, service),
-- subscriber_filter(subscribers, node, event), itemcheck(item),
-- get_affiliation(actor, node, action), normalize_jid(jid),
-- capabilities (affiliation → action → boolean), access_models (model →
-- function (actor) returning an affiliation), check_node_config(node,
-- actor, config), autocreate_on_publish, autocreate_on_subscribe,
-- node_defaults (over persist_items = true, max_items = 20,
-- access_model = "open", publish_model = "publishers",
-- send_last_published_item = "never").
--
-- Every operation takes the acting JID (true: the service itself, allowed
-- everything) and answers true [, result], or false (nil for some store
-- failures) and an error condition: "forbidden", "item-not-found",
-- "conflict", "not-acceptable", "not-subscribed", "invalid-item",
-- "internal-server-error", "persistent-items-unsupported", or a util.error
-- with pubsub_condition "precondition-not-met". Events fired on
-- service.events: node-created, node-deleted, node-purged, item-published
-- (and item-published/NODE), item-retracted, subscription-added,
-- subscription-removed.

local events = require "util.events";
local cache = require "util.cache";
local errors = require "util.error";

local pairs, ipairs, next, type, setmetatable = pairs, ipairs, next, type, setmetatable;

-- Which actions each affiliation may take, unless a node or the service
-- configuration says otherwise. Actions not listed are not allowed.
local function allow(list)
	local set = {};
	for _, action in ipairs(list) do set[action] = true; end
	return set;
end

local function capabilities(allowed, denied)
	local caps = allow(allowed);
	for _, action in ipairs(denied) do caps[action] = false; end
	return caps;
end

local OTHERS = { "subscribe_other", "unsubscribe_other", "get_subscription_other", "get_subscriptions_other" };
local function with(list, more)
	local out = {};
	for _, v in ipairs(list) do out[#out + 1] = v; end
	for _, v in ipairs(more) do out[#out + 1] = v; end
	return out;
end

local default_capabilities = {
	outcast = capabilities(
		{ "get_subscription", "get_subscriptions", "be_unsubscribed" },
		with(OTHERS, { "create", "publish", "retract", "get_nodes", "subscribe", "unsubscribe", "get_items",
			"be_subscribed", "set_affiliation" })),
	none = capabilities(
		{ "get_nodes", "subscribe", "unsubscribe", "get_subscription", "get_subscriptions", "be_subscribed", "be_unsubscribed" },
		with(OTHERS, { "create", "publish", "retract", "get_items", "set_affiliation" })),
	member = capabilities(
		{ "get_nodes", "subscribe", "unsubscribe", "get_subscription", "get_subscriptions", "get_items",
			"be_subscribed", "be_unsubscribed" },
		with(OTHERS, { "create", "publish", "retract", "set_affiliation" })),
	publisher = capabilities(
		{ "publish", "retract", "get_nodes", "get_configuration", "subscribe", "unsubscribe", "get_subscription",
			"get_subscriptions", "get_items", "be_subscribed", "be_unsubscribed" },
		with(OTHERS, { "create", "set_affiliation" })),
	owner = capabilities(
		with(OTHERS, { "create", "publish", "retract", "delete", "get_nodes", "configure", "get_configuration",
			"subscribe", "unsubscribe", "get_subscription", "get_subscriptions", "get_items",
			"be_subscribed", "be_unsubscribed", "set_affiliation" }),
		{}),
};

local default_config = {
	max_items = 256;
	itemstore = function (node_config) return cache.new(node_config["max_items"]); end;
	broadcaster = function () end;
	subscriber_filter = function (subscribers) return subscribers; end;
	itemcheck = function () return true; end;
	get_affiliation = function () end;
	normalize_jid = function (jid) return jid; end;
	capabilities = default_capabilities;
};
local default_config_mt = { __index = default_config };

local default_node_config = {
	persist_items = true;
	max_items = 20;
	access_model = "open";
	publish_model = "publishers";
	send_last_published_item = "never";
};
local default_node_config_mt = { __index = default_node_config };

local service = {};
local service_mt = { __index = service };

-- Saves the node when there is a node store: its answer, or true.
local function save_node(self, node_obj)
	local store = self.config.nodestore;
	if not store then return true; end
	return store:set(node_obj.name, {
		name = node_obj.name;
		config = node_obj.config;
		subscribers = node_obj.subscribers;
		affiliations = node_obj.affiliations;
	});
end

-- Records in service.subscriptions (normalized JID → JID → node → true).
local function index_subscription(self, normal_jid, jid, node)
	local by_jid = self.subscriptions[normal_jid];
	if not by_jid then
		by_jid = {};
		self.subscriptions[normal_jid] = by_jid;
	end
	local nodes = by_jid[jid];
	if not nodes then
		nodes = {};
		by_jid[jid] = nodes;
	end
	nodes[node] = true;
end

local function unindex_subscription(self, normal_jid, jid, node)
	local by_jid = self.subscriptions[normal_jid];
	if not by_jid then return; end
	local nodes = by_jid[jid];
	if nodes then
		nodes[node] = nil;
		if next(nodes) == nil then by_jid[jid] = nil; end
	end
	if next(by_jid) == nil then
		self.subscriptions[normal_jid] = nil;
	end
end

local function new(config)
	config = setmetatable(config or {}, default_config_mt);
	local self = setmetatable({
		config = config;
		node_defaults = setmetatable(config.node_defaults or {}, default_node_config_mt);
		affiliations = {};
		subscriptions = {};
		nodes = {};
		data = {};
		events = events.new();
	}, service_mt);

	local store = config.nodestore;
	if store and store.users then
		for name in store:users() do
			local node_obj = store:get(name);
			node_obj.config = setmetatable(node_obj.config or {}, { __index = self.node_defaults });
			self.nodes[name] = node_obj;
			if node_obj.config.persist_items then
				self.data[name] = config.itemstore(node_obj.config, name);
			end
			for jid in pairs(node_obj.subscribers) do
				index_subscription(self, config.normalize_jid(jid), jid, name);
			end
		end
	end
	return self;
end

function service:jids_equal(a, b)
	local normalize = self.config.normalize_jid;
	return normalize(a) == normalize(b);
end

-- The action on jid's own behalf, or on someone else's.
local function own_or_other(self, actor, jid, own, other)
	if actor == true or jid == actor or self:jids_equal(actor, jid) then
		return own;
	end
	return other;
end

function service:get_default_affiliation(node, actor)
	local node_obj = self.nodes[node];
	local model = node_obj and node_obj.config.access_model or self.node_defaults.access_model;
	if model == "open" then
		return "member";
	elseif model == "whitelist" then
		return "outcast";
	end
	local models = self.config.access_models;
	local check = models and models[model];
	if check then
		local affiliation = check(actor);
		if affiliation then return affiliation; end
	end
end

function service:may(node, actor, action)
	if actor == true then return true; end
	local node_obj = self.nodes[node];
	-- All three are looked up (get_affiliation and access_models consulted)
	-- every time; the node's affiliation wins, then the service's.
	local on_node = node_obj and (node_obj.affiliations[actor]
		or node_obj.affiliations[self.config.normalize_jid(actor)]);
	local on_service = self.affiliations[actor] or self.config.get_affiliation(actor, node, action);
	local by_default = self:get_default_affiliation(node, actor) or "none";
	local affiliation = on_node or on_service or by_default;

	-- the node's own capability table first, then the service's
	local node_caps = node_obj and node_obj.capabilities;
	local caps = node_caps and node_caps[affiliation];
	if caps and caps[action] ~= nil then
		return caps[action];
	end
	caps = self.config.capabilities[affiliation];
	if caps and caps[action] ~= nil then
		return caps[action];
	end
	return false;
end

-- The node an actor may act on, or false and the error the service answers:
-- a refused action is "forbidden" before a missing node is "item-not-found".
local function permitted_node(self, node, actor, action)
	if not self:may(node, actor, action) then
		return false, "forbidden";
	end
	local node_obj = self.nodes[node];
	if not node_obj then
		return false, "item-not-found";
	end
	return node_obj;
end

function service:set_affiliation(node, actor, jid, affiliation)
	local node_obj, denied = permitted_node(self, node, actor, "set_affiliation");
	if not node_obj then return false, denied; end
	jid = self.config.normalize_jid(jid);
	local previous = node_obj.affiliations[jid];
	node_obj.affiliations[jid] = affiliation;
	local saved = save_node(self, node_obj);
	if not saved then
		node_obj.affiliations[jid] = previous;
		return saved, "internal-server-error";
	end

	-- (as Prosody does, both cases re-add the subscription)
	local _, subscribed = self:get_subscription(node, true, jid);
	if (not subscribed and not self:may(node, jid, "be_unsubscribed"))
	or (subscribed and not self:may(node, jid, "be_subscribed")) then
		local ok, err = self:add_subscription(node, true, jid);
		if not ok then return ok, err; end
	end
	return true;
end

function service:add_subscription(node, actor, jid, options)
	if not self:may(node, actor, own_or_other(self, actor, jid, "subscribe", "subscribe_other"))
	or not self:may(node, jid, "be_subscribed") then
		return false, "forbidden";
	end
	local node_obj = self.nodes[node];
	if not node_obj then
		if not self.config.autocreate_on_subscribe then
			return false, "item-not-found";
		end
		local ok, err = self:create(node, true);
		if not ok then return ok, err; end
		node_obj = self.nodes[node];
	end
	local previous = node_obj.subscribers[jid];
	node_obj.subscribers[jid] = options or true;
	local normal_jid = self.config.normalize_jid(jid);
	index_subscription(self, normal_jid, jid, node);

	local saved = save_node(self, node_obj);
	if not saved then
		node_obj.subscribers[jid] = previous;
		self.subscriptions[normal_jid][jid][node] = previous and true or nil;
		return saved, "internal-server-error";
	end
	self.events.fire_event("subscription-added", { service = self, node = node, jid = jid,
		normalized_jid = normal_jid, options = options });
	return true;
end

function service:remove_subscription(node, actor, jid)
	if not self:may(node, actor, own_or_other(self, actor, jid, "unsubscribe", "unsubscribe_other"))
	or not self:may(node, jid, "be_unsubscribed") then
		return false, "forbidden";
	end
	local node_obj = self.nodes[node];
	if not node_obj then
		return false, "item-not-found";
	end
	local previous = node_obj.subscribers[jid];
	if not previous then
		return false, "not-subscribed";
	end
	node_obj.subscribers[jid] = nil;
	local normal_jid = self.config.normalize_jid(jid);
	unindex_subscription(self, normal_jid, jid, node);

	local saved = save_node(self, node_obj);
	if not saved then
		node_obj.subscribers[jid] = previous;
		index_subscription(self, normal_jid, jid, node);
		return saved, "internal-server-error";
	end
	self.events.fire_event("subscription-removed", { service = self, node = node, jid = jid,
		normalized_jid = normal_jid });
	return true;
end

function service:get_subscription(node, actor, jid)
	local node_obj, denied = permitted_node(self, node, actor, own_or_other(self, actor, jid, "get_subscription", "get_subscription_other"));
	if not node_obj then return false, denied; end
	return true, node_obj.subscribers[jid];
end

function service:create(node, actor, options)
	if not self:may(node, actor, "create") then
		return false, "forbidden";
	end
	if self.nodes[node] then
		return false, "conflict";
	end
	local node_config = setmetatable(options or {}, { __index = self.node_defaults });
	local check = self.config.check_node_config;
	if check and not check(node, actor, node_config) then
		return false, "not-acceptable";
	end
	local node_obj = { name = node; subscribers = {}; config = node_config; affiliations = {} };
	self.nodes[node] = node_obj;
	local saved = save_node(self, node_obj);
	if not saved then
		self.nodes[node] = nil;
		return saved, "internal-server-error";
	end
	if node_config.persist_items then
		self.data[node] = self.config.itemstore(node_config, node);
	end
	self.events.fire_event("node-created", { service = self, node = node, actor = actor });
	if actor ~= true then
		local ok, err = self:set_affiliation(node, true, actor, "owner");
		if not ok then
			self.nodes[node], self.data[node] = nil, nil;
			return ok, err;
		end
	end
	return true;
end

function service:delete(node, actor)
	local node_obj, denied = permitted_node(self, node, actor, "delete");
	if not node_obj then return false, denied; end
	self.nodes[node] = nil;
	local items = self.data[node];
	if items and items.clear then items:clear(); end
	self.data[node] = nil;
	if self.config.nodestore then
		local ok, err = self.config.nodestore:set(node, nil);
		if not ok then return ok, err; end
	end
	self.events.fire_event("node-deleted", { service = self, node = node, actor = actor });
	self:broadcast("delete", node, node_obj.subscribers, nil, actor, node_obj);
	return true;
end

-- The first field of required whose value the node's config does not have.
local function unmet_precondition(node_config, required)
	for field, value in pairs(required) do
		if node_config[field] ~= value then
			return field;
		end
	end
end

function service:publish(node, actor, id, item, requested_config)
	local node_obj = self.nodes[node];
	local allowed = self:may(node, actor, "publish");
	if not allowed and node_obj then
		local model = node_obj.config.publish_model;
		allowed = model == "open" or (model == "subscribers" and node_obj.subscribers[actor]);
	end
	if not allowed then
		return false, "forbidden";
	end
	if not node_obj then
		if not self.config.autocreate_on_publish then
			return false, "item-not-found";
		end
		local ok, err = self:create(node, true, requested_config);
		if not ok then return ok, err; end
		node_obj = self.nodes[node];
	elseif requested_config and not requested_config._defaults_only then
		local field = unmet_precondition(node_obj.config, requested_config);
		if field then
			local err = errors.new({ type = "cancel", condition = "conflict", text = "Field does not match: " .. field });
			err.pubsub_condition = "precondition-not-met";
			return false, err;
		end
	end
	if not self.config.itemcheck(item) then
		return nil, "invalid-item";
	end
	if node_obj.config.persist_items then
		local items = self.data[node];
		if not items then
			items = self.config.itemstore(node_obj.config, node);
			self.data[node] = items;
		end
		local stored = items:set(id, item);
		if not stored then
			return nil, "internal-server-error";
		end
		-- a store may pick the id itself
		if type(stored) == "string" then id = stored; end
	end
	local event = { service = self, node = node, actor = actor, id = id, item = item };
	self.events.fire_event("item-published/" .. node, event);
	self.events.fire_event("item-published", event);
	self:broadcast("items", node, node_obj.subscribers, item, actor, node_obj);
	return true;
end

function service:broadcast(event, node, subscribers, item, actor, node_obj)
	subscribers = self.config.subscriber_filter(subscribers, node, event);
	return self.config.broadcaster(event, node, subscribers, item, actor, node_obj, self);
end

function service:retract(node, actor, id, retract_notification)
	local node_obj, denied = permitted_node(self, node, actor, "retract");
	if not node_obj then return false, denied; end
	local items = self.data[node];
	if items then
		if not items:get(id) then
			return false, "item-not-found";
		end
		if not items:set(id, nil) then
			return nil, "internal-server-error";
		end
	end
	self.events.fire_event("item-retracted", { service = self, node = node, actor = actor, id = id });
	if retract_notification then
		self:broadcast("retract", node, node_obj.subscribers, retract_notification, actor, node_obj);
	end
	return true;
end

function service:purge(node, actor, notify)
	local node_obj, denied = permitted_node(self, node, actor, "retract");
	if not node_obj then return false, denied; end
	local items = self.data[node];
	if items then
		if items.clear then
			items:clear();
		else
			self.data[node] = self.config.itemstore(node_obj.config, node);
		end
	end
	self.events.fire_event("node-purged", { service = self, node = node, actor = actor });
	if notify then
		self:broadcast("purge", node, node_obj.subscribers, nil, actor, node_obj);
	end
	return true;
end

-- Items, newest first as the store gives them: { id1, id2, …, [id] = item }.
function service:get_items(node, actor, ids, resultspec)
	local found, denied = permitted_node(self, node, actor, "get_items");
	if not found then return false, denied; end
	local items = self.data[node];
	if not items then
		return false, "persistent-items-unsupported";
	end
	if type(ids) == "string" then ids = { ids }; end
	local limit = resultspec and resultspec.max;
	local result = {};
	local function add(id, item)
		result[#result + 1] = id;
		result[id] = item;
		return limit and #result >= limit;
	end
	if ids then
		for _, id in ipairs(ids) do
			local item = items:get(id);
			if item and add(id, item) then break; end
		end
	else
		for id, item in items:items() do
			if add(id, item) then break; end
		end
	end
	return true, result;
end

function service:get_last_item(node, actor)
	local found, denied = permitted_node(self, node, actor, "get_items");
	if not found then return false, denied; end
	local items = self.data[node];
	if not items then
		return true, nil;
	end
	return true, items:head();
end

function service:get_nodes(actor)
	if not self:may(nil, actor, "get_nodes") then
		return false, "forbidden";
	end
	return true, self.nodes;
end

-- Appends to list the subscriptions in by_jid (JID → node → true), to node
-- only when one is given.
local function list_subscriptions(list, self, by_jid, node, node_obj)
	for jid, nodes in pairs(by_jid) do
		if node then
			if nodes[node] then
				list[#list + 1] = { node = node; jid = jid; subscription = node_obj.subscribers[jid] };
			end
		else
			for name in pairs(nodes) do
				list[#list + 1] = { node = name; jid = jid; subscription = self.nodes[name].subscribers[jid] };
			end
		end
	end
end

function service:get_subscriptions(node, actor, jid)
	if not self:may(node, actor, own_or_other(self, actor, jid, "get_subscriptions", "get_subscriptions_other")) then
		return false, "forbidden";
	end
	local node_obj;
	if node then
		node_obj = self.nodes[node];
		if not node_obj then
			return false, "item-not-found";
		end
	end
	local list = {};
	if jid == nil then
		for _, by_jid in pairs(self.subscriptions) do
			list_subscriptions(list, self, by_jid, node, node_obj);
		end
	else
		local by_jid = self.subscriptions[self.config.normalize_jid(jid)];
		if by_jid then
			list_subscriptions(list, self, by_jid, node, node_obj);
		end
	end
	return true, list;
end

function service:set_node_capabilities(node, actor, caps)
	local node_obj, denied = permitted_node(self, node, actor, "configure");
	if not node_obj then return false, denied; end
	node_obj.capabilities = caps;
	return true;
end

function service:set_node_config(node, actor, new_config)
	local node_obj, denied = permitted_node(self, node, actor, "configure");
	if not node_obj then return false, denied; end
	setmetatable(new_config, { __index = self.node_defaults });
	local check = self.config.check_node_config;
	if check and not check(node, actor, new_config) then
		return false, "not-acceptable";
	end
	local old_config = node_obj.config;
	node_obj.config = new_config;
	local saved = save_node(self, node_obj);
	if not saved then
		node_obj.config = old_config;
		return saved, "internal-server-error";
	end

	if old_config.access_model ~= new_config.access_model then
		-- drop subscribers the new access model no longer admits
		for subscriber in pairs(node_obj.subscribers) do
			if not self:may(node, subscriber, "be_subscribed") then
				local ok, err = self:remove_subscription(node, true, subscriber);
				if not ok then
					node_obj.config = old_config;
					return ok, err;
				end
			end
		end
	end

	if old_config.persist_items ~= new_config.persist_items then
		if new_config.persist_items then
			self.data[node] = self.config.itemstore(new_config, node);
		elseif self.data[node] then
			if self.data[node].clear then self.data[node]:clear(); end
			self.data[node] = nil;
		end
	elseif old_config.max_items ~= new_config.max_items and self.data[node] then
		local max_items = new_config.max_items;
		if max_items == "max" then max_items = self.config.max_items; end
		self.data[node]:resize(max_items);
	end
	return true;
end

function service:get_node_config(node, actor)
	local node_obj, denied = permitted_node(self, node, actor, "get_configuration");
	if not node_obj then return false, denied; end
	local flat = {};
	for _, layer in ipairs({ default_node_config, self.node_defaults, node_obj.config }) do
		for k, v in pairs(layer) do flat[k] = v; end
	end
	return true, flat;
end

return {
	new = new;
};
