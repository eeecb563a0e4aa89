-- corpus module: plugins/one/mod_lay_order.lua
module:log("debug", "loaded from %s", "plugins/one/mod_lay_order.lua");
