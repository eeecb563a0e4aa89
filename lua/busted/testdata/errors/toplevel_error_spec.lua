describe("before the error", function () it("never runs", function () end) end)
local broken = nil
broken.call()
