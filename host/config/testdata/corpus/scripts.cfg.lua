-- Code shared through RunScript, files read with io and load.
local here = prosody.paths.config

RunScript "scripts-helpers.lua" -- defines domain_of, a global function

admins = { "admin@" .. domain_of("xmpp.example.net") }

local f = assert(io.open(here .. "/scripts-secret.txt"))
component_secret = f:read("*l")
f:close()

local lines = {}
for line in io.lines(here .. "/scripts-secret.txt") do
	lines[#lines + 1] = line
end
secret_lines = lines

local compute = assert(load("return 6 * 7"))
answer = compute()
caught = select(2, pcall(error, { code = 7 })).code
env_home_known = os.getenv("HOME") ~= nil

VirtualHost (domain_of("www.example.net"))
