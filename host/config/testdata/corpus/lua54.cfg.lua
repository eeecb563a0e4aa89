-- Written for the Lua 5.4 Prosody 0.12 runs on in Debian.
local minutes = 5
c2s_timeout = minutes * 60 // 1
flags = 6 & 2

VirtualHost "example.com"
