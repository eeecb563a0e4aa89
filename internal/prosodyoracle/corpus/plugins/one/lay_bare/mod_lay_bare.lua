-- corpus module: plugins/one/lay_bare/mod_lay_bare.lua
module:log("debug", "loaded from %s", "plugins/one/lay_bare/mod_lay_bare.lua");
