-- corpus module: plugins/one/lay_order/mod_lay_order.lua
module:log("debug", "loaded from %s", "plugins/one/lay_order/mod_lay_order.lua");
