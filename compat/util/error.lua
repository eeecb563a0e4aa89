-- util.error: structured error objects, as Prosody 0.12 makes them.
--
-- An error has the fields of an XMPP stanza error (type, condition, text,
-- code, extra), a context table for whatever the code that made it wants to
-- attach, an instance_id to find it in logs and, when made through init(), the
-- name of the source that made it. Libraries declare their errors once in a
-- registry (init) and turn failures into errors with new, wrap or coerce.

local setmetatable, getmetatable, type, next, pairs, tostring = setmetatable, getmetatable, type, next, pairs, tostring;
local debug_getinfo = debug.getinfo;
local short_id = require "util.id".short;

local error_mt = { __name = "error" };

function error_mt:__tostring()
	return "error<" .. tostring(self.type) .. ":" .. tostring(self.condition) .. ":" .. tostring(self.text or "") .. ">";
end

local function is_error(e)
	return getmetatable(e) == error_mt;
end

local settings = { auto_inject_traceback = false };

-- opt.auto_inject_traceback = true makes every new error carry
-- context.traceback: a list of the caller's stack frames, each { level, info }.
local function configure(opt)
	if opt.auto_inject_traceback ~= nil then
		settings.auto_inject_traceback = opt.auto_inject_traceback;
	end
end

local function caller_frames(first_level)
	local frames = {};
	local level = first_level;
	while true do
		local info = debug_getinfo(level + 1, "Sln");
		if not info then break; end
		frames[#frames + 1] = { level = level; info = info };
		level = level + 1;
	end
	return frames;
end

-- new(e, context, registry, source): e is an error (returned as is), a
-- registry key, or a table with the stanza error fields; anything else gives
-- a cancel/undefined-condition error.
local function new(e, context, registry, source)
	if is_error(e) then
		return e;
	end
	local template = registry and registry[e];
	if not template then
		template = type(e) == "table" and e or {};
	end
	context = context or {};
	if settings.auto_inject_traceback then
		context.traceback = caller_frames(2);
	end
	return setmetatable({
		instance_id = short_id();
		type = template.type or "cancel";
		condition = template.condition or "undefined-condition";
		text = template.text;
		code = template.code;
		extra = template.extra;
		context = context;
		source = source;
	}, error_mt);
end

-- A registry may be written compactly, each entry a list
-- { type, condition, text, application-specific condition }; the fourth
-- becomes extra = { namespace = namespace, condition = ... } when a namespace
-- is given.
local function is_compact(registry)
	local _, first = next(registry);
	return type(first) == "table" and type(next(first)) == "number";
end

local function expand_compact(namespace, registry)
	local expanded = {};
	for key, entry in pairs(registry) do
		local template = { type = entry[1]; condition = entry[2]; text = entry[3] };
		if namespace and entry[4] then
			template.extra = { namespace = namespace; condition = entry[4] };
		end
		expanded[key] = template;
	end
	return expanded;
end

local undefined = { type = "cancel"; condition = "undefined-condition" };

-- init(source, [namespace,] registry) returns error helpers bound to a source
-- and its registry of named error templates.
local function init(source, namespace, registry)
	if type(namespace) == "table" then
		-- (two statements: gopher-lua does not evaluate a swap all at once)
		registry = namespace;
		namespace = nil;
	end
	if is_compact(registry) then
		registry = expand_compact(namespace, registry);
	end

	local function bound_new(e, context)
		return new(e, context, registry, source);
	end

	-- wrap(e, context): e as an error; a registry key gives that template,
	-- anything else undefined-condition. The original is kept in
	-- context.wrapped_error.
	local function wrap(e, context)
		if is_error(e) then
			return e;
		end
		local err = new(registry[e] or undefined, context, registry, source);
		err.context.wrapped_error = e;
		return err;
	end

	-- coerce(ok, err, ...) passes a success through and turns a failure's
	-- error value into an error object: nil, error.
	local function coerce(ok, err, ...)
		if ok then
			return ok, err, ...;
		end
		return nil, wrap(err);
	end

	return {
		source = source;
		registry = registry;
		new = bound_new;
		wrap = wrap;
		coerce = coerce;
		is_error = is_error;
	};
end

-- coerce(ok, err, ...) for the common `return nil, "message"` convention:
-- when ok is false or nil and err is not already an error, err is wrapped in
-- an undefined-condition error (kept in context.wrapped_error).
local function coerce(ok, err, ...)
	if ok or is_error(err) then
		return ok, err, ...;
	end
	return ok, new(undefined, { wrapped_error = err }), ...;
end

-- from_stanza(stanza, context, source) makes an error from an error stanza,
-- keeping the stanza and who reported the error in the context.
local function from_stanza(stanza, context, source)
	local error_type, condition, text, extra_tag = stanza:get_error();
	local error_tag = stanza:get_child("error");
	context = context or {};
	context.stanza = stanza;
	context.by = error_tag.attr.by or stanza.attr.from;

	local uri;
	if condition == "gone" or condition == "redirect" then
		uri = error_tag:get_child_text(condition, "urn:ietf:params:xml:ns:xmpp-stanzas");
	end
	local extra;
	if extra_tag or uri then
		extra = { uri = uri; tag = extra_tag };
	end
	return new({
		type = error_type or "cancel";
		condition = condition or "undefined-condition";
		text = text;
		extra = extra;
	}, context, nil, source);
end

return {
	new = new;
	init = init;
	coerce = coerce;
	is_error = is_error;
	is_err = is_error;
	from_stanza = from_stanza;
	configure = configure;
}
