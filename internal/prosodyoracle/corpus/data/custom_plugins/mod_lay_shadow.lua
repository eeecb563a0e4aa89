-- corpus module: data/custom_plugins/mod_lay_shadow.lua
module:log("debug", "loaded from %s", "data/custom_plugins/mod_lay_shadow.lua");
