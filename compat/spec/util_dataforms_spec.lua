-- Behaviour of util.dataforms: rendering layouts as XEP-0004 forms and
-- reading submitted forms back.

local dataforms = require "util.dataforms";
local st = require "util.stanza";

local xmlns_x = "jabber:x:data";

local function field(form, var)
	for f in form:childtags("field") do
		if f.attr.var == var then return f; end
	end
end

local function values(f)
	local out = {};
	for v in f:childtags("value") do out[#out + 1] = v:get_text(); end
	return out;
end

local function submitted(fields)
	local x = st.stanza("x", { xmlns = xmlns_x, type = "submit" });
	for _, f in ipairs(fields) do
		x:tag("field", { var = f[1] });
		for i = 2, #f do x:text_tag("value", f[i]); end
		x:up();
	end
	return x;
end

describe("util.dataforms", function ()
	local layout = dataforms.new({
		title = "Settings";
		instructions = "Fill it in";
		{ name = "FORM_TYPE", type = "hidden", value = "urn:example" };
		{ name = "nick", type = "text-single", label = "Nickname", desc = "What to call you", required = true };
		{ name = "secret", type = "text-private" };
		{ name = "bio", type = "text-multi" };
		{ name = "public", type = "boolean", label = "Public?" };
		{ name = "owner", type = "jid-single" };
		{ name = "admins", type = "jid-multi" };
		{ name = "colour", type = "list-single", options = { "red", { label = "Green", value = "green", default = true } } };
		{ name = "tags", type = "list-multi", options = { { value = "a", default = true }, { value = "b" }, { value = "c", default = true } } };
		{ name = "note", type = "fixed", value = "Fixed text" };
		{ name = "max", type = "text-single", datatype = "xs:integer", range_min = 1, range_max = 10 };
		{ name = "since", type = "text-single", datatype = "xs:dateTime" };
		{ name = "items", type = "text-single", datatype = "pubsub:integer-or-max" };
		{ name = "plain" };
		{ name = "renamed", var = "urn:example#renamed", type = "text-single" };
	});

	describe("form()", function ()
		it("renders a form with title, instructions, labels and options", function ()
			local x = layout:form({ nick = "romeo", bio = "line one\nline two\n\nline four", public = true,
				owner = "juliet@example.com", admins = { "a@example.com", "b@example.com" }, max = 5 });
			assert.equal("x", x.name);
			assert.equal(xmlns_x, x.attr.xmlns);
			assert.equal("form", x.attr.type);
			assert.equal("Settings", x:get_child_text("title"));
			assert.equal("Fill it in", x:get_child_text("instructions"));

			local nick = field(x, "nick");
			assert.equal("text-single", nick.attr.type);
			assert.equal("Nickname", nick.attr.label);
			assert.equal("What to call you", nick:get_child_text("desc"));
			assert.truthy(nick:get_child("required"));
			assert.same({ "romeo" }, values(nick));

			assert.same({ "urn:example" }, values(field(x, "FORM_TYPE")));
			assert.same({ "line one", "line two", "line four" }, values(field(x, "bio")));
			assert.same({ "1" }, values(field(x, "public")));
			assert.same({ "juliet@example.com" }, values(field(x, "owner")));
			assert.same({ "a@example.com", "b@example.com" }, values(field(x, "admins")));
			assert.same({ "Fixed text" }, values(field(x, "note")));
			assert.same({ "5" }, values(field(x, "max")));
			assert.same({}, values(field(x, "secret")));
			assert.equal("urn:example#renamed", field(x, "urn:example#renamed").attr.var);
		end);

		it("gives a field without a type text-single", function ()
			local x = layout:form({ plain = "p" });
			assert.equal("text-single", field(x, "plain").attr.type);
			assert.same({ "p" }, values(field(x, "plain")));
		end);

		it("lists options and selects the defaults when no value is given", function ()
			local x = layout:form();
			local colour = field(x, "colour");
			local opts = {};
			for o in colour:childtags("option") do
				opts[#opts + 1] = { o.attr.label, o:get_child_text("value") };
			end
			assert.same({ { "red", "red" }, { "Green", "green" } }, opts);
			assert.same({ "green" }, values(colour));
			assert.same({ "a", "c" }, values(field(x, "tags")));
		end);

		it("takes a table given for a list field as its options", function ()
			local x = layout:form({ colour = { "cyan", "magenta" } });
			local colour = field(x, "colour");
			local opts = {};
			for o in colour:childtags("option") do opts[#opts + 1] = o:get_child_text("value"); end
			assert.same({ "cyan", "magenta" }, opts);
			assert.same({}, values(colour));
		end);

		it("adds xdata-validate for datatypes", function ()
			local x = layout:form();
			local validate = field(x, "max"):get_child("validate", "http://jabber.org/protocol/xdata-validate");
			assert.truthy(validate);
			assert.equal("xs:integer", validate.attr.datatype);
			local range = validate:get_child("range");
			assert.equal("1", range.attr.min);
			assert.equal("10", range.attr.max);
			assert.is_nil(field(x, "since"):get_child("validate", "http://jabber.org/protocol/xdata-validate"):get_child("range"));
		end);

		it("writes numbers by datatype and field type", function ()
			local f = dataforms.new({
				{ name = "i", type = "text-single" },
				{ name = "d", type = "text-single", datatype = "xs:double" },
				{ name = "t", type = "text-single", datatype = "xs:dateTime" },
				{ name = "b", type = "boolean" },
				{ name = "z", type = "boolean" },
			});
			local x = f:form({ i = 42, d = 1.5, t = 0, b = 1, z = 0 });
			assert.same({ "42" }, values(field(x, "i")));
			assert.same({ "1.500000" }, values(field(x, "d")));
			assert.same({ "1970-01-01T00:00:00Z" }, values(field(x, "t")));
			assert.same({ "1" }, values(field(x, "b")));
			assert.same({ "0" }, values(field(x, "z")));
		end);

		it("carries a stanza in a hidden field", function ()
			local f = dataforms.new({ { name = "payload", type = "hidden" } });
			local x = f:form({ payload = st.stanza("thing", { xmlns = "urn:thing" }) });
			local v = field(x, "payload"):get_child("value");
			assert.truthy(v:get_child("thing", "urn:thing"));
		end);

		it("adds media elements", function ()
			local f = dataforms.new({ { name = "ocr", type = "text-single",
				media = { height = 80, width = 290, { type = "image/jpeg", uri = "http://example.com/a.jpg" } } } });
			local media = field(f:form(), "ocr"):get_child("media", "urn:xmpp:media-element");
			assert.equal("80", media.attr.height);
			assert.equal("290", media.attr.width);
			local uri = media:get_child("uri");
			assert.equal("image/jpeg", uri.attr.type);
			assert.equal("http://example.com/a.jpg", uri:get_text());
		end);

		it("leaves out labels, descriptions, options and requirements when submitting", function ()
			local x = layout:form({ nick = "romeo", colour = "red" }, "submit");
			assert.equal("submit", x.attr.type);
			assert.is_nil(x:get_child("title"));
			assert.is_nil(x:get_child("instructions"));
			local nick = field(x, "nick");
			assert.is_nil(nick.attr.label);
			assert.is_nil(nick:get_child("desc"));
			assert.is_nil(nick:get_child("required"));
			assert.is_nil(field(x, "max"):get_child("validate"));
			local colour = field(x, "colour");
			assert.is_nil(colour:get_child("option"));
			assert.same({ "red" }, values(colour));
		end);

		it("keeps labels but not options or requirements in a result", function ()
			local x = layout:form({ nick = "romeo" }, "result");
			assert.equal("result", x.attr.type);
			assert.equal("Settings", x:get_child_text("title"));
			local nick = field(x, "nick");
			assert.equal("Nickname", nick.attr.label);
			assert.is_nil(nick:get_child("required"));
			assert.is_nil(field(x, "colour"):get_child("option"));
		end);

		it("renders cancel as the bare element", function ()
			local x = layout:form({ nick = "romeo" }, "cancel");
			assert.equal("cancel", x.attr.type);
			assert.is_nil(x.tags[1]);
		end);
	end);

	describe("data()", function ()
		it("reads each field type", function ()
			local data, err, present = layout:data(submitted({
				{ "FORM_TYPE", "urn:example" },
				{ "nick", "romeo" },
				{ "secret", "s3cret" },
				{ "bio", "one", "two" },
				{ "public", "true" },
				{ "owner", "Juliet@EXAMPLE.com" },
				{ "admins", "a@example.com", "B@example.com" },
				{ "colour", "red" },
				{ "tags", "a", "b" },
				{ "max", "7" },
				{ "since", "2020-01-02T03:04:05Z" },
				{ "items", "max" },
				{ "plain", "ignored" },
				{ "urn:example#renamed", "r" },
			}));
			assert.is_nil(err);
			assert.same({
				FORM_TYPE = "urn:example", nick = "romeo", secret = "s3cret", bio = "one\ntwo",
				public = true, owner = "juliet@example.com", admins = { "a@example.com", "b@example.com" },
				colour = "red", tags = { "a", "b" }, max = 7, since = 1577934245, items = "max",
				renamed = "r",
			}, data);
			-- "plain" has no type: present, but not read
			assert.truthy(present.plain);
			assert.truthy(present.nick);
			assert.is_nil(present.note);
		end);

		it("reports required fields missing or empty", function ()
			local data, err = layout:data(submitted({}));
			assert.same({}, data);
			assert.same({ nick = "Required value missing" }, err);
			err = select(2, layout:data(submitted({ { "nick", "" } })));
			assert.same({ nick = "Required value missing" }, err);
			err = select(2, layout:data(submitted({ { "nick" } })));
			assert.same({ nick = "Required value missing" }, err);
		end);

		it("falls back to current values for absent fields", function ()
			local data, err = layout:data(submitted({ { "secret", "x" } }), { nick = "old", public = false });
			assert.is_nil(err);
			assert.same({ nick = "old", public = false, secret = "x" }, data);
		end);

		it("keeps an empty string for an optional text field", function ()
			local data = layout:data(submitted({ { "nick", "n" }, { "secret", "" } }));
			assert.equal("", data.secret);
		end);

		it("reports invalid booleans, JIDs and numbers", function ()
			local data, err = layout:data(submitted({
				{ "nick", "n" },
				{ "public", "yes" },
				{ "owner", "@bad" },
				{ "admins", "good@example.com", "@bad", "x@@y" },
				{ "max", "eleven" },
				{ "since", "yesterday" },
				{ "items", "1.5" },
			}));
			assert.same({
				public = "Invalid boolean representation:yes",
				owner = "Invalid JID: @bad",
				admins = "Invalid JID: @bad\nInvalid JID: x@@y",
				max = "not a number",
				since = "invalid timestamp",
				items = "not an integer",
			}, err);
			assert.same({ "good@example.com" }, data.admins);
			assert.is_nil(data.max);
		end);

		it("checks integer ranges", function ()
			local _, err = layout:data(submitted({ { "nick", "n" }, { "max", "11" } }));
			assert.equal("out of bounds", err.max);
			_, err = layout:data(submitted({ { "nick", "n" }, { "max", "0" } }));
			assert.equal("out of bounds", err.max);
			local data
			data, err = layout:data(submitted({ { "nick", "n" }, { "max", "10" } }));
			assert.is_nil(err);
			assert.equal(10, data.max);
		end);

		it("reads boolean 0 and 1", function ()
			local data = layout:data(submitted({ { "nick", "n" }, { "public", "0" } }));
			assert.equal(false, data.public);
			data = layout:data(submitted({ { "nick", "n" }, { "public", "1" } }));
			assert.equal(true, data.public);
		end);

		it("reads back what form() wrote", function ()
			local input = { nick = "romeo", bio = "a\nb", public = false, tags = { "b" }, colour = "red" };
			local data, err = layout:data(layout:form(input, "submit"));
			assert.is_nil(err);
			assert.equal("romeo", data.nick);
			assert.equal("a\nb", data.bio);
			assert.equal(false, data.public);
			assert.same({ "b" }, data.tags);
			assert.equal("red", data.colour);
			assert.equal("urn:example", data.FORM_TYPE);
		end);
	end);

	describe("get_type()", function ()
		it("gives the FORM_TYPE, or an empty string", function ()
			assert.equal("urn:example", dataforms.get_type(layout:form()));
			assert.equal("", dataforms.get_type(st.stanza("x", { xmlns = xmlns_x })));
		end);

		it("refuses what is not a data form", function ()
			assert.same({ nil, "not a stanza object" }, { dataforms.get_type({}) });
			assert.same({ nil, "not a dataform element" }, { dataforms.get_type(st.stanza("x", { xmlns = "other" })) });
			assert.same({ nil, "not a dataform element" }, { dataforms.get_type(st.stanza("y", { xmlns = xmlns_x })) });
		end);
	end);
end);
