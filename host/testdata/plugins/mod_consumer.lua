-- depends, handle_items, module:require and context, reported through events.
local provider = module:depends("provider");
local helper = module:require("helper");
local seen = {};
module:handle_items("widget-provider", function (event)
	seen[#seen + 1] = event.item.label .. "/" .. event.item.name;
end, function (event)
	seen[#seen + 1] = "removed " .. event.item.name;
end);
module:hook("consumer/report", function ()
	return {
		seen = table.concat(seen, ","),
		provider_is_env = type(provider) == "table" and provider.module ~= nil,
		helper = helper.greet("consumer"),
		things = #module:get_host_items("thing"),
		global_ctx = module:context("*"):get_option_string("global_only"),
	};
end);
module:hook("consumer/unload-provider", function ()
	return require "core.modulemanager".unload(module.host, "provider");
end);
function module.unload()
	module:send(require "util.stanza".message({ to = "audit@example.net" }):body("consumer unloaded"));
end
