Include "missing.cfg.lua"
VirtualHost "a" "muc"
x = FileContents("nope")
error("boom", 2)
