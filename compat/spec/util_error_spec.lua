local errors = require "util.error";

describe("util.error", function ()
	describe("new", function ()
		it("fills in cancel/undefined-condition by default", function ()
			local e = errors.new();
			assert.equal("cancel", e.type);
			assert.equal("undefined-condition", e.condition);
			assert.is_nil(e.text);
			assert.same({}, e.context);
			assert.is_string(e.instance_id);
		end);

		it("copies the stanza error fields from a table", function ()
			local extra = { namespace = "urn:example", condition = "oops" };
			local e = errors.new({ type = "auth", condition = "forbidden", text = "no", code = 403, extra = extra, other = "ignored" });
			assert.equal("auth", e.type);
			assert.equal("forbidden", e.condition);
			assert.equal("no", e.text);
			assert.equal(403, e.code);
			assert.equal(extra, e.extra);
			assert.is_nil(e.other);
		end);

		it("keeps the given context and source", function ()
			local ctx = { user = "alice" };
			local e = errors.new({ condition = "item-not-found" }, ctx, nil, "mod_test");
			assert.equal(ctx, e.context);
			assert.equal("mod_test", e.source);
		end);

		it("looks templates up in a registry", function ()
			local registry = { gone = { type = "modify", condition = "gone", text = "it went" } };
			local e = errors.new("gone", nil, registry);
			assert.equal("modify", e.type);
			assert.equal("gone", e.condition);
			assert.equal("it went", e.text);
			local unknown = errors.new("nope", nil, registry);
			assert.equal("undefined-condition", unknown.condition);
		end);

		it("returns an error unchanged", function ()
			local e = errors.new({ condition = "conflict" });
			assert.equal(e, errors.new(e, { ignored = true }));
		end);

		it("gives each error its own instance id", function ()
			assert.not_equal(errors.new().instance_id, errors.new().instance_id);
		end);
	end);

	describe("tostring", function ()
		it("shows type, condition and text", function ()
			assert.equal("error<wait:resource-constraint:busy>",
				tostring(errors.new({ type = "wait", condition = "resource-constraint", text = "busy" })));
			assert.equal("error<cancel:undefined-condition:>", tostring(errors.new()));
		end);
	end);

	describe("is_error", function ()
		it("recognises only error objects", function ()
			assert.is_true(errors.is_error(errors.new()));
			assert.is_false(errors.is_error({ type = "cancel", condition = "x" }));
			assert.is_false(errors.is_error("error"));
			assert.is_false(errors.is_error(nil));
			assert.equal(errors.is_error, errors.is_err);
		end);
	end);

	describe("coerce", function ()
		it("passes successes through with every value", function ()
			local a, b, c = errors.coerce(true, "x", "y");
			assert.is_true(a); assert.equal("x", b); assert.equal("y", c);
		end);

		it("wraps a failure's message in an error", function ()
			local ok, err, extra = errors.coerce(nil, "disk full", "more");
			assert.is_nil(ok);
			assert.is_true(errors.is_error(err));
			assert.equal("undefined-condition", err.condition);
			assert.equal("disk full", err.context.wrapped_error);
			assert.equal("more", extra);
			local f = errors.coerce(false, "x");
			assert.is_false(f);
		end);

		it("keeps an error that is already one", function ()
			local e = errors.new({ condition = "conflict" });
			local ok, err = errors.coerce(nil, e);
			assert.is_nil(ok);
			assert.equal(e, err);
		end);
	end);

	describe("init", function ()
		local registry = {
			full = { type = "wait", condition = "resource-constraint", text = "Store full", code = 507 };
			denied = { type = "auth", condition = "forbidden" };
		};

		it("binds new to the source and registry", function ()
			local lib = errors.init("mod_store", registry);
			assert.equal("mod_store", lib.source);
			assert.equal(registry, lib.registry);
			local e = lib.new("full", { n = 1 });
			assert.equal("resource-constraint", e.condition);
			assert.equal("Store full", e.text);
			assert.equal(507, e.code);
			assert.equal("mod_store", e.source);
			assert.equal(1, e.context.n);
			assert.equal(errors.is_error, lib.is_error);
		end);

		it("wraps known keys, unknown values and errors", function ()
			local lib = errors.init("mod_store", registry);
			local e = lib.wrap("denied");
			assert.equal("forbidden", e.condition);
			assert.equal("denied", e.context.wrapped_error);
			assert.equal("mod_store", e.source);
			local u = lib.wrap("something else", { extra = "ctx" });
			assert.equal("undefined-condition", u.condition);
			assert.equal("something else", u.context.wrapped_error);
			assert.equal("ctx", u.context.extra);
			assert.equal(e, lib.wrap(e));
		end);

		it("coerces failures to nil and a wrapped error, dropping extra values", function ()
			local lib = errors.init("mod_store", registry);
			local ok, err, more = lib.coerce(false, "full", "dropped");
			assert.is_nil(ok);
			assert.equal("resource-constraint", err.condition);
			assert.is_nil(more);
			local a, b, c = lib.coerce("yes", 2, 3);
			assert.equal("yes", a); assert.equal(2, b); assert.equal(3, c);
		end);

		it("expands a compact registry, with a namespace for the fourth field", function ()
			local lib = errors.init("mod_x", "urn:example:x", {
				slow = { "wait", "policy-violation", "Too fast", "rate-limited" };
				bad = { "modify", "bad-request" };
			});
			local e = lib.new("slow");
			assert.equal("wait", e.type);
			assert.equal("policy-violation", e.condition);
			assert.equal("Too fast", e.text);
			assert.same({ namespace = "urn:example:x", condition = "rate-limited" }, e.extra);
			assert.is_nil(lib.new("bad").extra);
			assert.same({ type = "modify", condition = "bad-request" }, lib.registry.bad);
		end);

		it("leaves out extra for compact entries when no namespace is given", function ()
			local lib = errors.init("mod_x", { slow = { "wait", "policy-violation", "Too fast", "rate-limited" } });
			assert.is_nil(lib.new("slow").extra);
		end);
	end);

	describe("from_stanza", function ()
		it("reads the error out of an error stanza", function ()
			local st = require "util.stanza";
			local iq = st.iq({ type = "error", from = "example.com", id = "1" })
				:tag("error", { type = "auth" })
					:tag("forbidden", { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" }):up()
					:tag("text", { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" }):text("Go away"):up()
				:up();
			local e = errors.from_stanza(iq, nil, "mod_test");
			assert.equal("auth", e.type);
			assert.equal("forbidden", e.condition);
			assert.equal("Go away", e.text);
			assert.equal(iq, e.context.stanza);
			assert.equal("example.com", e.context.by);
			assert.equal("mod_test", e.source);
			assert.is_nil(e.extra);
		end);

		it("keeps the URI of a redirect and the by attribute", function ()
			local st = require "util.stanza";
			local iq = st.iq({ type = "error", from = "a@example.com", id = "2" })
				:tag("error", { type = "modify", by = "example.com" })
					:tag("redirect", { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" }):text("xmpp:b@example.com"):up()
				:up();
			local e = errors.from_stanza(iq);
			assert.equal("redirect", e.condition);
			assert.equal("xmpp:b@example.com", e.extra.uri);
			assert.equal("example.com", e.context.by);
		end);
	end);
end);
