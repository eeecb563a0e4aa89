-- corpus module: plugins/one/mod_lay_dir/mod_lay_dir.lua
module:log("debug", "loaded from %s", "plugins/one/mod_lay_dir/mod_lay_dir.lua");
