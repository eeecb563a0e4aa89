-- corpus module: data/custom_plugins/share/lua/5.4/mod_lay_installed/mod_lay_installed.lua
module:log("debug", "loaded from %s", "data/custom_plugins/share/lua/5.4/mod_lay_installed/mod_lay_installed.lua");
