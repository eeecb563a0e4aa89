-- corpus module: plugins/two/mod_lay_flat.lua
module:log("debug", "loaded from %s", "plugins/two/mod_lay_flat.lua");
