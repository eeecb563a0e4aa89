return { greet = function (who) return "hello " .. who .. " from " .. module.name; end };
