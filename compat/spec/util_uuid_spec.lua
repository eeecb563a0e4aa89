local uuid = require "util.uuid";

local v4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$";

describe("util.uuid", function ()
	describe("generate", function ()
		it("gives a lower-case version 4, RFC 4122 variant UUID", function ()
			for _ = 1, 100 do
				local u = uuid.generate();
				assert.equal(36, #u);
				assert.matches(v4, u);
				assert.equal(u:lower(), u);
			end
		end);

		it("gives a different UUID each time", function ()
			local seen = {};
			for _ = 1, 100 do
				local u = uuid.generate();
				assert.is_nil(seen[u]);
				seen[u] = true;
			end
		end);
	end);

	describe("get_nibbles", function ()
		it("gives that many hex digits", function ()
			for _, n in ipairs({ 0, 1, 3, 8, 13 }) do
				local s = uuid.get_nibbles(n);
				assert.equal(n, #s);
				assert.matches("^%x*$", s);
			end
		end);
	end);

	describe("seed", function ()
		it("can be called when present (it is a no-op)", function ()
			-- Prosody 0.12 exports seed as nil; modhost keeps a harmless one.
			if uuid.seed ~= nil then
				assert.has_no_error(function () uuid.seed("x"); end);
			end
			assert.matches(v4, uuid.generate());
		end);
	end);
end);
