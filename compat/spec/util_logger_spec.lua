local logger = require "util.logger";

-- Where log lines go is the host's business (Prosody's logging manager,
-- modhost's slog); these pin that logging never fails, whatever it is given.
describe("util.logger", function ()
	describe("init", function ()
		it("returns a log function for a source", function ()
			assert.is_function(logger.init("test"));
		end);

		it("accepts the four levels and returns nothing", function ()
			local log = logger.init("test");
			for _, level in ipairs({ "debug", "info", "warn", "error" }) do
				assert.equal(0, select("#", log(level, "a %s line", level)));
			end
		end);

		it("ignores unknown levels", function ()
			local log = logger.init("test");
			assert.has_no_error(function ()
				log("verbose", "nobody hears this");
				log(nil, "nor this");
				log(42, "nor this");
			end);
		end);

		it("survives messages that are not valid formats for their arguments", function ()
			local log = logger.init("test");
			assert.has_no_error(function ()
				log("info", "100% sure");
				log("info", "%d items", "many");
				log("info", "%d items", 1.5);
				log("info", "%s and %s", "one");
				log("info", "%s", nil);
				log("info", "%s", {});
				log("info", "no conversions", "extra", 2);
				log("info", "trailing %", 1);
				log("info", "%q", "quoted\n");
				log("info", "%5.2f%%", 99.5);
				log("info", "bytes \0\255 and newline\n");
			end);
		end);
	end);

	describe("make_logger", function ()
		it("returns a log function for one level", function ()
			local warn = logger.make_logger("test", "warn");
			assert.is_function(warn);
			assert.has_no_error(function () warn("careful with %s", "this"); end);
			assert.equal(logger.make_logger, logger.new);
		end);
	end);
end);
