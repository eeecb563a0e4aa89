-- corpus module: plugins/two/mod_lay_second.lua
module:log("debug", "loaded from %s", "plugins/two/mod_lay_second.lua");
