describe("empty", function () end);
