-- corpus module: plugins/one/share/lua/5.4/mod_lay_rockdir/mod_lay_rockdir.lua
module:log("debug", "loaded from %s", "plugins/one/share/lua/5.4/mod_lay_rockdir/mod_lay_rockdir.lua");
