-- util.argparse: command-line option parsing, as Prosody 0.12's
-- util.argparse (prosodyctl's).
--
-- parse(arg, config) takes options off the front of the list arg (which it
-- changes): "--name" → name = true, "--no-name" → name = false,
-- "--name=value" → name = "value"; one-character names (with - or --) go
-- through config.short_params (short → long name); names in
-- config.value_params take the next argument as their value. "--" ends the
-- options; so does the first argument not starting with "-". The arguments
-- left are copied to 1..n of the result. Errors: nil, "param-not-found" or
-- "missing-value", and the argument concerned.

local t_remove = table.remove;

local function parse(arg, config)
	local short = config and config.short_params or {};
	local takes_value = config and config.value_params or {};
	local opts = {};
	if #arg == 0 then
		return opts;
	end

	while arg[1] do
		local raw = arg[1];
		local dashes = raw:match("^%-%-?");
		if not dashes then
			break;
		end
		t_remove(arg, 1);
		if raw == "--" then
			break;
		end
		local name = raw:sub(#dashes + 1);
		if #name == 1 then
			name = short[name];
		end
		if not name then
			return nil, "param-not-found", raw;
		end

		if takes_value[name] then
			local value = t_remove(arg, 1);
			if not value then
				return nil, "missing-value", raw;
			end
			opts[name] = value;
		else
			local key, value = name:match("^([^=]+)=(.+)$");
			if key then
				opts[key] = value;
			elseif name:sub(1, 3) == "no-" then
				opts[name:sub(4)] = false;
			else
				opts[name] = true;
			end
		end
	end

	for i = 1, #arg do
		opts[i] = arg[i];
	end
	return opts;
end

return {
	parse = parse;
};
