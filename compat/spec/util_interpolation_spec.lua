-- Behaviour of util.interpolation, the template language of mod_invites'
-- pages, mod_http_oauth2 and others.

local interpolation = require "util.interpolation";

local function esc(s)
	return (s:gsub("[<>&]", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;" }));
end

local render = interpolation.new("%b{}", esc);
local render_f = interpolation.new("%b{}", esc, {
	upper = string.upper,
	twice = function (s) return s .. s; end,
	len = function (t) return #t; end,
});

describe("util.interpolation", function ()
	it("substitutes and escapes values", function ()
		assert.equal("Hello, a&lt;b&gt;!", render("Hello, {name}!", { name = "a<b>" }));
	end);

	it("does not escape with !", function ()
		assert.equal("<b>", render("{html!}", { html = "<b>" }));
	end);

	it("turns non-strings into strings", function ()
		assert.equal("1 true false", render("{n} {t} {f}", { n = 1, t = true, f = false }));
	end);

	it("leaves a missing value's block as it was", function ()
		assert.equal("x {missing} y", render("x {missing} y", {}));
		assert.equal("{missing!}", render("{missing!}", {}));
	end);

	it("leaves blocks that do not start with a name", function ()
		assert.equal("{ spaced } {1x} {}", render("{ spaced } {1x} {}", { spaced = "no" }));
	end);

	it("looks up dotted names", function ()
		local values = { user = { name = "alice", info = { age = 30 } } };
		assert.equal("alice 30", render("{user.name} {user.info.age}", values));
		assert.equal("{user.missing.deep}", render("{user.missing.deep}", values));
		-- a key holding the dot itself wins
		assert.equal("flat", render("{a.b}", { ["a.b"] = "flat", a = { b = "nested" } }));
	end);

	it("renders a default with ?", function ()
		assert.equal("anonymous", render("{name?anonymous}", {}));
		assert.equal("anonymous", render("{name?anonymous}", { name = false }));
		assert.equal("bob", render("{name?anonymous}", { name = "bob" }));
		assert.equal("no x", render("{name?no {other}}", { other = "x" }));
	end);

	it("renders a nested template with & when the value is set", function ()
		assert.equal("[hi <x>]", render("{greet&[{greet} {tag!}]}", { greet = "hi", tag = "<x>" }));
		assert.equal("", render("{greet&[{greet}]}", {}));
		assert.equal("", render("{greet&yes}", { greet = false }));
	end);

	it("renders with ~ when the value is unset", function ()
		assert.equal("none", render("{list~none}", {}));
		assert.equal("", render("{list~none}", { list = {} }));
	end);

	it("loops over a list with #", function ()
		assert.equal("1=a;2=b&lt;;", render("{items#{idx}={item};}", { items = { "a", "b<" } }));
		assert.equal("", render("{items#{item}}", { items = "not a table" }));
		assert.equal("", render("{items#{item}}", {}));
	end);

	it("sees outer values inside a loop", function ()
		assert.equal("x:a x:b ", render("{items#{prefix}:{item} }", { items = { "a", "b" }, prefix = "x" }));
	end);

	it("loops over pairs with %", function ()
		assert.equal("k=v", render("{map%{idx}={item}}", { map = { k = "v" } }));
	end);

	it("nests loops", function ()
		local out = render("{rows#[{item#{item}}]}", { rows = { { "a", "b" }, { "c" } } });
		assert.equal("[ab][c]", out);
	end);

	describe("with filters", function ()
		it("applies them in order", function ()
			assert.equal("ABAB", render_f("{name|upper|twice}", { name = "ab" }));
			assert.equal("3", render_f("{list|len}", { list = { 1, 2, 3 } }));
		end);

		it("skips unknown ones", function ()
			assert.equal("ab", render_f("{name|nosuch}", { name = "ab" }));
		end);

		it("escapes their result unless !", function ()
			assert.equal("&lt;&lt;", render_f("{s|twice}", { s = "<" }));
			assert.equal("<<", render_f("{s|twice!}", { s = "<" }));
		end);

		it("combine with operators", function ()
			assert.equal("AB", render_f("{name|upper?none}", { name = "ab" }));
			assert.equal("none", render_f("{name|upper?none}", {}));
			assert.equal("long", render_f("{list|len&long}", { list = { 1 } }));
		end);

		it("are not applied to a missing value", function ()
			assert.equal("{name|upper}", render_f("{name|upper}", {}));
		end);

		it("are ignored when new had none", function ()
			assert.equal("ab", render("{name|upper}", { name = "ab" }));
		end);
	end);

	it("works with other delimiters", function ()
		local r = interpolation.new("%b()", esc);
		assert.equal("x=1 {y}", r("x=(x) {y}", { x = 1, y = 2 }));
	end);
end);
