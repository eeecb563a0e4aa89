-- lua54.cfg.lua as modhost's message says to write it.
local minutes = 5
c2s_timeout = math.floor(minutes * 60 / 1)
flags = require "util.bitcompat".band(6, 2)

VirtualHost "example.com"
