package compat_test

import (
	"testing"

	"github.com/modhost/modhost/internal/testkit"
)

func TestErrorFromStanza(t *testing.T) {
	// A stand-in with the stanza methods from_stanza uses, so this runs
	// without util.stanza; the spec checks it against the real one.
	const fakeStanza = `
		local function fake(attr, err_type, condition, text, extra, by, child_text)
			local error_tag = { attr = { by = by } }
			function error_tag:get_child_text(name, xmlns)
				assert(name == condition and xmlns == "urn:ietf:params:xml:ns:xmpp-stanzas")
				return child_text
			end
			return {
				attr = attr,
				get_error = function() return err_type, condition, text, extra end,
				get_child = function(_, name) assert(name == "error"); return error_tag end,
			}
		end
		local errors = require "util.error"
	`
	tests := []struct {
		name string
		lua  string
	}{
		{"fields and context", `
			local s = fake({ from = "example.com" }, "auth", "forbidden", "Go away")
			local e = errors.from_stanza(s, { mine = 1 }, "mod_x")
			assert(e.type == "auth" and e.condition == "forbidden" and e.text == "Go away")
			assert(e.context.stanza == s and e.context.by == "example.com" and e.context.mine == 1)
			assert(e.source == "mod_x" and e.extra == nil)
			assert(errors.is_error(e))`},
		{"by attribute of the error wins over from", `
			local e = errors.from_stanza(fake({ from = "a@b" }, "cancel", "conflict", nil, nil, "b"))
			assert(e.context.by == "b")`},
		{"defaults when the stanza has no error details", `
			local e = errors.from_stanza(fake({}, nil, nil))
			assert(e.type == "cancel" and e.condition == "undefined-condition")`},
		{"application-specific condition in extra.tag", `
			local tag = { name = "too-many" }
			local e = errors.from_stanza(fake({}, "wait", "policy-violation", nil, tag))
			assert(e.extra.tag == tag and e.extra.uri == nil)`},
		{"gone carries its URI", `
			local e = errors.from_stanza(fake({}, "cancel", "gone", nil, nil, nil, "xmpp:new@example.com"))
			assert(e.extra.uri == "xmpp:new@example.com")`},
	}
	l := newLoop(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testkit.RunLua(t, l, fakeStanza+tc.lua)
		})
	}
}

func TestErrorAutoInjectTraceback(t *testing.T) {
	l := newLoop(t)
	testkit.RunLua(t, l, `
		local errors = require "util.error"
		assert(errors.new().context.traceback == nil)
		errors.configure({ auto_inject_traceback = true })
		local function make_it() local e = errors.new(); return e end
		local tb = make_it().context.traceback
		assert(type(tb) == "table" and #tb > 0, "no traceback")
		assert(tb[1].info.name == "make_it", "first frame is " .. tostring(tb[1].info.name))
		errors.configure({ auto_inject_traceback = false })
		assert(errors.new().context.traceback == nil)
	`)
}
