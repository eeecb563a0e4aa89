-- corpus module: data/other_installed/share/lua/5.4/mod_lay_elsewhere.lua
module:log("debug", "loaded from %s", "data/other_installed/share/lua/5.4/mod_lay_elsewhere.lua");
