-- corpus module: plugins/two/mod_lay_isdir.lua
module:log("debug", "loaded from %s", "plugins/two/mod_lay_isdir.lua");
