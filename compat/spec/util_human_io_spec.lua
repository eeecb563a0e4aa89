-- Behaviour of util.human.io's text helpers and, with io.input and
-- io.output pointed at files, its line-reading prompts.

local hio = require "util.human.io";

describe("util.human.io", function ()
	describe("padding and ellipsis", function ()
		it("pads to a width in characters", function ()
			assert.equal("ab   ", hio.padright("ab", 5));
			assert.equal("   ab", hio.padleft("ab", 5));
			assert.equal("é  ", hio.padright("é", 3));
			assert.equal("toolong", hio.padright("toolong", 3));
			assert.equal("toolong", hio.padleft("toolong", 3));
		end);

		it("cuts with an ellipsis", function ()
			assert.equal("short", hio.ellipsis("short", 10));
			assert.equal("exact", hio.ellipsis("exact", 5));
			assert.equal("hell…", hio.ellipsis("hello world", 5));
			assert.equal("…", hio.ellipsis("hello", 1));
			assert.equal("éé…", hio.ellipsis("ééééé", 3));
		end);
	end);

	describe("table", function ()
		it("lays out fixed columns, titles first", function ()
			local row = hio.table({
				{ title = "Name", key = "name", width = 8 },
				{ title = "Count", key = "n", width = 6, align = "right" },
			}, 40);
			-- titles are aligned as their column is
			assert.equal("Name     |  Count", row());
			assert.equal("alice    |     42", row({ name = "alice", n = 42 }));
			assert.equal("a very … |      1", row({ name = "a very long name", n = 1 }));
		end);

		it("grows a column to fit its title", function ()
			local row = hio.table({ { title = "Longer title", key = "x", width = 2 } }, 40);
			assert.equal("Longer title ", row());
			assert.equal("x            ", row({ x = "x" }));
		end);

		it("shares what is left among % columns", function ()
			-- 40 - 6 (two separators) - 10 (fixed) = 24, half of it 12 each
			local row = hio.table({
				{ title = "A", key = "a", width = 10 },
				{ title = "B", key = "b", width = "50%" },
				{ title = "C", key = "c", width = "50%" },
			}, 40);
			assert.equal("A          | B            | C           ", row());
			-- a second fixed column counts its separator twice
			row = hio.table({
				{ title = "A", key = "a", width = 4 },
				{ title = "B", key = "b", width = 4 },
				{ title = "C", key = "c", width = "100%" },
			}, 30);
			assert.equal(4 + 3 + 4 + 3 + 13, #row());
		end);

		it("maps values and fills in defaults", function ()
			local row = hio.table({
				{ title = "JID", key = "jid", width = 10, mapper = function (v, r) return v .. "/" .. r.res; end },
				{ title = "Status", key = "status", width = 7, default = "-" },
			}, 80);
			assert.equal("me@x/r     | -      ", row({ jid = "me@x", res = "r" }));
			assert.equal("me@x/r     | false  ", row({ jid = "me@x", res = "r", status = false }));
		end);

		it("shows the row's item at a column's index when the column has no key", function ()
			local row = hio.table({ { width = 3, align = "right" }, { width = 3 } }, 80);
			assert.equal("  1 | .  ", row({ 1, "." }));
			assert.equal("10… | ..…", row({ 1000, "...." }));
		end);

		it("has empty titles for columns without one", function ()
			local row = hio.table({ { key = "a", width = 3 }, { title = "B", key = "b", width = 2 } }, 80);
			assert.equal("    | B ", row());
		end);
	end);

	-- Prosody's getchar (show_yesno, read_password) reads one raw byte when
	-- `stty` works on stdin, and a line otherwise: these expect the latter,
	-- as under `make test` and CI, where stdin is not a terminal.
	describe("prompts", function ()
		local in_path, out_path = os.tmpname(), os.tmpname();
		local saved_in, saved_out;

		local function feed(text)
			local fh = assert(io.open(in_path, "w"));
			fh:write(text);
			fh:close();
			io.input(in_path);
			io.output(out_path);
		end
		local function written()
			io.output():close();
			io.output(saved_out);
			local fh = assert(io.open(out_path));
			local text = fh:read("*a");
			fh:close();
			return text;
		end

		before_each(function () saved_in, saved_out = io.input(), io.output(); end);
		after_each(function ()
			io.input(saved_in);
			io.output(saved_out);
		end);
		teardown(function () os.remove(in_path); os.remove(out_path); end);

		it("getline reads a line", function ()
			feed("first\nsecond\n");
			assert.equal("first", hio.getline());
			assert.equal("second", hio.getline());
			assert.is_nil(hio.getline());
			written();
		end);

		it("show_prompt writes the prompt and returns a non-empty answer", function ()
			feed("answer\n\n");
			assert.equal("answer", hio.show_prompt("Name?"));
			assert.is_nil(hio.show_prompt("Again?"));
			assert.equal("Name? Again? ", written());
		end);

		it("show_yesno reads y or n", function ()
			feed("y\nN\nyes\n");
			assert.is_true(hio.show_yesno("Sure? [y/n]"));
			assert.is_false(hio.show_yesno("Sure? [y/n]"));
			assert.is_true(hio.show_yesno("Sure?"));
			assert.equal("Sure? [y/n] \nSure? [y/n] \nSure? \n", written());
		end);

		it("show_yesno takes a non-letter answer from the brackets", function ()
			feed("\n\n\n");
			assert.is_true(hio.show_yesno("Sure? [y/N]"));
			-- the first character that is not a capital: "/" here, so not yes
			assert.is_false(hio.show_yesno("Sure? [Y/n]"));
			assert.is_nil(hio.show_yesno("Sure?"));
			written();
		end);

		it("read_password asks twice", function ()
			feed("secret\nsecret\n");
			assert.equal("secret", hio.read_password());
			local out = written();
			assert.truthy(out:find("Enter new password: ", 1, true));
			assert.truthy(out:find("Retype new password: ", 1, true));
		end);

		it("read_password asks again after a mismatch", function ()
			feed("one\ntwo\ny\nthree\nthree\n");
			assert.equal("three", hio.read_password());
			assert.truthy(written():find("Passwords did not match, try again? [Y/n]", 1, true));
		end);

		it("read_password gives up when told to", function ()
			feed("one\ntwo\nn\n");
			assert.is_nil(hio.read_password());
			written();
		end);
	end);

	it("printf prints a formatted line", function ()
		local s = stub(_G, "print");
		hio.printf("%s=%d", "x", 5);
		_G.print:revert();
		assert.spy(s).was.called_with("x=5");
	end);
end);
