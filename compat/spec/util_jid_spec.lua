-- util.jid as Prosody 0.12 behaves: syntactic split, stringprep-based prep
-- with a 1023-byte limit per part, XEP-0106 escaping.
local jid = require "util.jid"

local function pack(...) return { n = select("#", ...), ... } end

describe("util.jid", function()
	describe("split", function()
		it("splits full, bare and domain JIDs", function()
			assert.same(pack("a", "b", "c"), pack(jid.split("a@b/c")))
			assert.same(pack("a", "b", nil), pack(jid.split("a@b")))
			assert.same(pack(nil, "b", "c"), pack(jid.split("b/c")))
			assert.same(pack(nil, "b", nil), pack(jid.split("b")))
		end)
		it("keeps everything after the first slash as the resource", function()
			assert.same(pack("a", "b", "c/d@e"), pack(jid.split("a@b/c/d@e")))
			assert.same(pack(nil, "a", "b@c"), pack(jid.split("a/b@c")))
			assert.same(pack("a", "b", "c d"), pack(jid.split("a@b/c d")))
		end)
		it("returns three nils for malformed JIDs", function()
			for _, bad in ipairs({ "@b", "a@", "a@b/", "/c", "a@b@c", "", "a@@b", "@", "/" }) do
				assert.same(pack(nil, nil, nil), pack(jid.split(bad)), bad)
			end
		end)
		it("returns nothing for nil", function()
			assert.equal(0, select("#", jid.split(nil)))
		end)
		it("does not prep", function()
			assert.same(pack("UsEr", "ExAmPle.COM.", "Res"), pack(jid.split("UsEr@ExAmPle.COM./Res")))
		end)
	end)

	describe("parts", function()
		it("extracts bare, node, host and resource", function()
			assert.equal("a@b", jid.bare("a@b/c"))
			assert.equal("b", jid.bare("b/c"))
			assert.equal("a", jid.node("a@b/c"))
			assert.equal("b", jid.host("a@b/c"))
			assert.equal("c", jid.resource("a@b/c"))
			assert.equal(nil, jid.node("b/c"))
			assert.equal(nil, jid.resource("a@b"))
		end)
		it("returns nil for malformed JIDs", function()
			assert.equal(nil, jid.bare("a@b@c"))
			assert.equal(nil, jid.host("@b"))
			assert.equal(nil, jid.bare(nil))
		end)
	end)

	describe("prep", function()
		it("case-folds node and host but not resource", function()
			assert.equal("user@example.com/Res", jid.prep("UsEr@ExAmPle.COM/Res"))
			assert.same(pack("user", "example.com", "Res"), pack(jid.prepped_split("UsEr@ExAmPle.COM/Res")))
		end)
		it("strips one trailing dot from the host", function()
			assert.equal("user@example.com", jid.prep("user@example.com."))
			-- Only one: Prosody 0.12 gives "x@y." for "x@y..", which its own
			-- prep then changes again; modhost refuses it (util_jid_test.go).
		end)
		it("applies nameprep mappings to the host", function()
			assert.equal("\195\164@ss/\195\132", jid.prep("\195\132@\195\159/\195\132"))
		end)
		it("returns nothing for invalid JIDs", function()
			for _, bad in ipairs({ "@b", "a@b@c", "user@.", "a b@c", "a\"b@c", "a:b@c", "a<b@c", "a@b/\1" }) do
				assert.equal(0, select("#", jid.prep(bad)), bad)
				assert.equal(0, select("#", jid.prepped_split(bad)), bad)
			end
			assert.equal(0, select("#", jid.prep(nil)))
		end)
		it("allows spaces in the resource", function()
			assert.equal("a@b/c d", jid.prep("a@b/c d"))
		end)
		it("limits each part to 1023 bytes", function()
			local long = string.rep("a", 1023)
			assert.equal(long .. "@b", jid.prep(long .. "@b"))
			assert.equal(nil, (jid.prep(long .. "a@b")))
			assert.equal("b/" .. long, jid.prep("b/" .. long))
			assert.equal(nil, (jid.prep("b/" .. long .. "a")))
			assert.equal(long, jid.prep(long))
			assert.equal(nil, (jid.prep(long .. "a")))
		end)
		it("rejects unassigned code points only when strict", function()
			-- U+0221 was unassigned in Unicode 3.2
			assert.equal("\200\161@b", jid.prep("\200\161@b"))
			assert.equal(nil, (jid.prep("\200\161@b", true)))
			assert.equal("a@b", jid.prep("a@b", true))
		end)
	end)

	describe("join", function()
		it("joins the parts that are present", function()
			assert.equal("n@h/r", jid.join("n", "h", "r"))
			assert.equal("n@h", jid.join("n", "h"))
			assert.equal("h/r", jid.join(nil, "h", "r"))
			assert.equal("h", jid.join(nil, "h"))
		end)
		it("returns nothing without a host", function()
			assert.equal(0, select("#", jid.join("n", nil, "r")))
		end)
	end)

	describe("compare", function()
		it("matches the parts present in the rule", function()
			assert.is_true(jid.compare("a@b/c", "b"))
			assert.is_true(jid.compare("a@b/c", "a@b"))
			assert.is_true(jid.compare("a@b/c", "a@b/c"))
			assert.is_false(jid.compare("a@b", "a@b/c"))
			assert.is_false(jid.compare("a@b/c", "x@b"))
			assert.is_false(jid.compare("b", "a@b"))
		end)
	end)

	describe("escape", function()
		local vectors = { -- XEP-0106 section 5.1
			["space cadet"] = "space\\20cadet",
			["call me \"ishmael\""] = "call\\20me\\20\\22ishmael\\22",
			["at&t guy"] = "at\\26t\\20guy",
			["d'artagnan"] = "d\\27artagnan",
			["/.fanboy"] = "\\2f.fanboy",
			["::foo::"] = "\\3a\\3afoo\\3a\\3a",
			["<foo>"] = "\\3cfoo\\3e",
			["user@host"] = "user\\40host",
			["c:\\net"] = "c\\3a\\net",
			["c:\\\\net"] = "c\\3a\\\\net",
			["c:\\cool stuff"] = "c\\3a\\cool\\20stuff",
			["c:\\5commas"] = "c\\3a\\5c5commas",
		}
		it("escapes and unescapes the XEP-0106 examples", function()
			for raw, escaped in pairs(vectors) do
				assert.equal(escaped, jid.escape(raw), raw)
				assert.equal(raw, jid.unescape(escaped), escaped)
			end
		end)
		it("leaves unknown or upper-case escape sequences alone", function()
			assert.equal("\\2F", jid.escape("\\2F"))
			assert.equal("\\2F", jid.unescape("\\2F"))
			assert.equal("\\41", jid.unescape("\\41"))
		end)
		it("passes nil through", function()
			assert.equal(nil, jid.escape(nil))
			assert.equal(nil, jid.unescape(nil))
		end)
	end)
end)
