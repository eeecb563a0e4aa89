-- corpus module: plugins/one/mod_motd.lua
module:log("debug", "loaded from %s", "plugins/one/mod_motd.lua");
