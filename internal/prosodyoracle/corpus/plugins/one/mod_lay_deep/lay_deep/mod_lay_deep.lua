-- corpus module: plugins/one/mod_lay_deep/lay_deep/mod_lay_deep.lua
module:log("debug", "loaded from %s", "plugins/one/mod_lay_deep/lay_deep/mod_lay_deep.lua");
