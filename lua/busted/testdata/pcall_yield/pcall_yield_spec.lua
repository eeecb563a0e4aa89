-- gopher-lua cannot yield across pcall; the runner must say so and stop cleanly.
local async = require "util.async"
local loop = require "modhost.loop"
it("yields inside pcall", require "modhost.busted".async(function()
	pcall(function() local w, d = async.waiter(); loop.post(d); w() end)
end))
it("next", function() end)
