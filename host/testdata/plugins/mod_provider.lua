module:provides("widget", { label = "from provider" });
module:add_item("thing", "one");
