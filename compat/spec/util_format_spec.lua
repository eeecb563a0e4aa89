-- Behaviour of util.format: string.format that takes any arguments and
-- keeps them from forging log lines.

local format = require "util.format".format;

describe("util.format", function ()
	it("formats like string.format in the ordinary cases", function ()
		assert.equal("hello", format("hello"));
		assert.equal("x", format("%s", "x"));
		assert.equal("ff", format("%x", 255));
		assert.equal(" 3.14", format("%5.2f", 3.14159));
		assert.equal("0.1", format("%g", 0.1));
		assert.equal("A", format("%c", 65));
		assert.equal("3", format("%i", 3));
		assert.equal("5", format("%u", 5));
		assert.equal("1.234568e+04", format("%e", 12345.678));
		assert.equal("abc", format("%.3s", "abcdef"));
		assert.equal("         r|7    |", format("%10s|%-5d|", "r", 7));
		assert.equal("% a %", format("%% %s %%", "a"));
		assert.equal("", format("%s", ""));
		assert.equal("é", format("%s", "é"));
	end);

	it("writes a missing argument as (nil)", function ()
		assert.equal("(nil)", format("%s"));
		assert.equal("a (nil)", format("%s %s", "a"));
		assert.equal("(nil)", format("%d", nil));
		assert.equal("(nil) (nil)", format("%s %s", nil, nil));
	end);

	it("writes non-strings for %s through tostring", function ()
		assert.equal("5", format("%s", 5));
		assert.equal("true", format("%s", true));
		local obj = setmetatable({}, { __tostring = function () return "obj"; end });
		assert.equal("obj", format("%s", obj));
	end);

	it("brackets what a number conversion cannot take", function ()
		assert.equal("[5]", format("%d", "5"));
		assert.equal("[true]", format("%d", true));
		assert.equal("[1.5]", format("%d", 1.5));
		assert.equal("[-1]", format("%x", -1));
		assert.equal("[-8]", format("%o", -8));
	end);

	it("shows control characters as their pictures", function ()
		assert.equal("esc\226\144\155[31mred\226\144\128x\226\144\161", format("%s", "esc\27[31mred\0x\127"));
		assert.equal("tab\there", format("%s", "tab\there"));
	end);

	it("indents what follows a newline", function ()
		assert.equal("line1\n\tline2", format("%s", "line1\nline2"));
		assert.equal("line1\n\tline2", format("%s", "line1\n\tline2"));
	end);

	it("quotes strings that are not UTF-8", function ()
		assert.equal('"\\255bad"', format("%s", "\255bad"));
		assert.equal('"\\255"', format("%d", "\255"));
	end);

	it("writes %q arguments in serialization's debug form", function ()
		assert.equal('"a\\nb"', format("%q", "a\nb"));
		assert.equal("5", format("%q", 5));
		assert.equal("{ 1 }", format("%q", { 1 }));
		assert.equal('{ a = "x" }', format("%q", { a = "x" }));
	end);

	it("appends arguments beyond the format", function ()
		assert.equal("a and 2 [3]", format("%s and %d", "a", 2, 3));
		assert.equal("extra [1] [(nil)] [x\n\ty]", format("extra", 1, nil, "x\ny"));
	end);

	it("writes floats as C's printf does: six digits for %g, inf and nan spelt out", function ()
		assert.equal("7.3787e+19", format("%g", 2^66));
		assert.equal("7.3787E+19", format("%G", 2^66));
		assert.equal("0.1", format("%g", 0.1));
		assert.equal("inf", format("%e", math.huge));
		assert.equal("-INF", format("%E", -math.huge));
		assert.equal("inf", format("%f", math.huge));
		assert.equal("-inf", format("%g", -math.huge));
		assert.equal("     inf|", string.format("%8.2f|", math.huge));
		assert.equal("+inf", string.format("%+g", math.huge));
		assert.equal("inf   |", string.format("%-6g|", math.huge));
	end);
end);
