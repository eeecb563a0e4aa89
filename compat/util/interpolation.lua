-- util.interpolation: Prosody 0.12's small template language.
--
-- new(pattern, escape[, filters]) returns render(template, values). Each
-- match of pattern in the template (usually "%b{}") is a block; without its
-- first and last characters it reads NAME[!][OP][rest]:
--   {name}        values[name] as a string, passed through escape
--   {name!}       the same, not escaped
--   {a.b.c}       values.a.b.c (when values["a.b.c"] itself is unset)
--   {name|f|g}    the value through filters.f then filters.g (when new got
--                 filters; unknown filters are skipped)
--   {name?rest}   rest rendered when the value is false or nil, else the value
--   {name&rest}   rest rendered when the value is set, else nothing
--   {name~rest}   rest rendered when the value is unset, else nothing
--   {name#rest}   rest rendered per item of the list (ipairs), {idx} and
--                 {item} bound to each; {name%rest} the same over pairs
-- A block whose value is nil and has no operator is left as it was, as is
-- one that does not start with a name.

local type, tostring, ipairs, pairs, setmetatable = type, tostring, ipairs, pairs, setmetatable;
local s_match, s_sub, s_gsub = string.match, string.sub, string.gsub;
local t_concat = table.concat;

local head_pattern = "^([%a_][%w_.]*)(!?)(%p?)()";

-- The dotted lookup walks values.a.b…, stopping at the first unset step.
local function lookup(values, name)
	local value = values[name];
	if value or not name:find(".", 2, true) then return value; end
	value = values;
	for step in name:gmatch("[^.]+") do
		value = value[step];
		if not value then return value; end
	end
	return value;
end

local function new(pattern, escape, filters)
	local render;

	local function expand(block, values)
		local inner = s_sub(block, 2, -2);
		local name, raw, op, rest = s_match(inner, head_pattern);
		if not name then return nil; end
		local value = lookup(values, name);

		if filters then
			while op == "|" do
				local filter;
				filter, raw, op, rest = s_match(inner, head_pattern, rest);
				local f = filter and filters[filter];
				if value ~= nil and f then value = f(value); end
			end
		end

		local sub = rest and s_sub(inner, rest);
		if op == "#" or op == "%" then
			if type(value) ~= "table" then return ""; end
			local scope = setmetatable({}, { __index = values });
			local out = {};
			for idx, item in (op == "#" and ipairs or pairs)(value) do
				scope.idx, scope.item = idx, item;
				out[#out + 1] = render(sub, scope);
			end
			return t_concat(out);
		elseif op == "&" then
			return value and render(sub, values) or "";
		elseif op == "~" then
			return value and "" or render(sub, values);
		elseif op == "?" and not value then
			return render(sub, values);
		end
		if value == nil then return nil; end
		value = tostring(value);
		if raw == "!" then return value; end
		return escape(value);
	end

	function render(template, values)
		return (s_gsub(template, pattern, function (block)
			return expand(block, values);
		end));
	end

	return render;
end

return { new = new };
