-- corpus module: plugins/one/share/lua/5.3/mod_lay_oldlua.lua
module:log("debug", "loaded from %s", "plugins/one/share/lua/5.3/mod_lay_oldlua.lua");
