-- util.encodings as Prosody 0.12 behaves (ICU build): lenient base64
-- decoding, strict UTF-8 checks, the XMPP/SASL stringprep profiles and
-- UTS #46 IDNA.
local encodings = require "util.encodings"
local base64, utf8, sp, idna = encodings.base64, encodings.utf8, encodings.stringprep, encodings.idna

describe("util.encodings", function()
	describe("base64", function()
		it("encodes with padding", function()
			assert.equal("aGVsbG8=", base64.encode("hello"))
			assert.equal("", base64.encode(""))
			assert.equal("AAEC/w==", base64.encode("\0\1\2\255"))
		end)
		it("decodes, skipping whitespace", function()
			assert.equal("hello", base64.decode("aGVsbG8="))
			assert.equal("hello", base64.decode("aGV sbG8="))
			assert.equal("hello", base64.decode("aGVs\nbG8="))
			assert.equal("\0\1\2\255", base64.decode("AAEC/w=="))
		end)
		it("drops an unpadded final group", function()
			assert.equal("hel", base64.decode("aGVsbG8"))
			assert.equal("", base64.decode("A"))
		end)
		it("continues after padding", function()
			assert.equal("hellohel", base64.decode("aGVsbG8=aGVs"))
			assert.equal("\0\0", base64.decode("AA==AA=="))
		end)
		it("fails on characters outside the alphabet", function()
			assert.equal(nil, (base64.decode("!!!")))
			assert.equal(nil, (base64.decode("AAEC_w==")))
		end)
	end)

	describe("utf8", function()
		it("validates strictly", function()
			assert.is_true(utf8.valid("abc"))
			assert.is_true(utf8.valid(""))
			assert.is_true(utf8.valid("a\0b"))
			assert.is_true(utf8.valid("\244\143\191\191")) -- U+10FFFF
			assert.is_false(utf8.valid("\255"))
			assert.is_false(utf8.valid("\237\160\128")) -- a surrogate
			assert.is_false(utf8.valid("\192\128")) -- overlong NUL
			assert.is_false(utf8.valid("\244\144\128\128")) -- above U+10FFFF
		end)
		it("gives the byte length of valid strings only", function()
			assert.equal(7, utf8.length("a\195\164\240\159\152\128"))
			assert.equal(0, utf8.length(""))
			assert.equal(nil, utf8.length("\255"))
		end)
	end)

	describe("stringprep", function()
		local cases = {
			-- input, nameprep, nodeprep, resourceprep, saslprep
			{ "Hello", "hello", "hello", "Hello", "Hello" },
			{ "UPPER@x", "upper@x", nil, "UPPER@x", "UPPER@x" },
			{ "a b", "a b", nil, "a b", "a b" },
			{ "foo\0bar", "foo\0bar", nil, nil, nil },
			{ "", "", "", "", "" },
			{ "\195\159", "ss", "ss", "\195\159", "\195\159" }, -- sharp s
			{ "\239\172\129", "fi", "fi", "fi", "fi" }, -- fi ligature
			{ "\226\133\171", "xii", "xii", "XII", "XII" }, -- roman numeral twelve
			{ "\194\173x", "x", "x", "x", "x" }, -- soft hyphen maps to nothing
			{ "a\226\128\139b", "ab", "ab", "ab", "a b" }, -- zero width space
			{ "\227\128\128x", " x", nil, " x", " x" }, -- ideographic space
			{ "\215\144a", nil, nil, nil, nil }, -- RandALCat then LCat
			{ "\215\144" .. "1" .. "\215\145", "\215\144" .. "1" .. "\215\145", "\215\144" .. "1" .. "\215\145", "\215\144" .. "1" .. "\215\145", "\215\144" .. "1" .. "\215\145" },
			{ "a/b", "a/b", nil, "a/b", "a/b" },
			{ "a'b", "a'b", nil, "a'b", "a'b" },
			{ "\238\128\128", nil, nil, nil, nil }, -- private use
			{ "\t", "\t", nil, nil, nil },
			{ "\127", "\127", nil, nil, nil },
			{ "\255", nil, nil, nil, nil }, -- not UTF-8
		}
		it("applies the nameprep, nodeprep, resourceprep and saslprep profiles", function()
			for _, c in ipairs(cases) do
				assert.equal(c[2], (sp.nameprep(c[1])), "nameprep " .. c[1])
				assert.equal(c[3], (sp.nodeprep(c[1])), "nodeprep " .. c[1])
				assert.equal(c[4], (sp.resourceprep(c[1])), "resourceprep " .. c[1])
				assert.equal(c[5], (sp.saslprep(c[1])), "saslprep " .. c[1])
			end
		end)
		it("allows unassigned code points unless strict", function()
			local unassigned = "\200\161" -- U+0221, unassigned in Unicode 3.2
			assert.equal(unassigned, sp.nodeprep(unassigned))
			assert.equal(nil, (sp.nodeprep(unassigned, true)))
			assert.equal(nil, (sp.nameprep(unassigned, true)))
			assert.equal(nil, (sp.resourceprep(unassigned, true)))
			assert.equal(nil, (sp.saslprep(unassigned, true)))
			assert.equal("abc", sp.nodeprep("ABC", true))
		end)
		it("limits input and output to 1023 bytes", function()
			assert.equal(string.rep("a", 1023), sp.nodeprep(string.rep("a", 1023)))
			assert.equal(nil, (sp.nodeprep(string.rep("a", 1024))))
			assert.equal(nil, (sp.nodeprep(string.rep("\195\164", 512))))
		end)
		it("raises for a missing string or a non-boolean strict flag", function()
			assert.has_error(function() sp.nodeprep(nil) end)
			assert.has_error(function() sp.nodeprep("a", "yes") end)
		end)
	end)

	describe("idna", function()
		it("converts to ASCII with UTS #46 mapping", function()
			assert.equal("xn--bcher-kva.example", idna.to_ascii("B\195\188cher.Example"))
			assert.equal("example.com", idna.to_ascii("EXAMPLE.com"))
			assert.equal("xn--mnchen-3ya", idna.to_ascii("m\195\188nchen"))
			assert.equal("ss.de", idna.to_ascii("\195\159.de"))
			assert.equal("a.b.", idna.to_ascii("a.b."))
		end)
		it("converts to Unicode", function()
			assert.equal("b\195\188cher.example", idna.to_unicode("xn--bcher-kva.example"))
			assert.equal("example.com", idna.to_unicode("example.com"))
		end)
		it("rejects invalid names", function()
			for _, bad in ipairs({ "a..b", "", "a b.com", "a_b.com", "-a.com", "xn--abc", "foo@bar" }) do
				assert.equal(nil, (idna.to_ascii(bad)), bad)
				assert.equal(nil, (idna.to_unicode(bad)), bad)
			end
			assert.equal(nil, (idna.to_ascii(string.rep("a", 64) .. ".com")))
		end)
	end)
end)
