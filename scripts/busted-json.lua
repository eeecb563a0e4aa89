-- A busted output handler (busted -o scripts/busted-json.lua) printing, at
-- the end of the run, the same JSON document as `modhost test -o json`
-- (lua/busted/report.go, JSONReport): every result in the order busted
-- reports it, each with its status, full name, where it was declared and
-- its message, then the counts. scripts/spec-diff compares the two.
return function (options)
	local busted = require "busted";
	local handler = require "busted.outputHandlers.base"();
	local results = {};
	local counts = { success = 0, failure = 0, error = 0, pending = 0 };

	local function json_string(s)
		s = tostring(s);
		s = s:gsub('[%c"\\]', function (c)
			if c == '"' then return '\\"'; end
			if c == "\\" then return "\\\\"; end
			if c == "\n" then return "\\n"; end
			if c == "\t" then return "\\t"; end
			return string.format("\\u%04x", c:byte());
		end);
		return '"' .. s .. '"';
	end

	local function message_text(message)
		if message == nil then return ""; end
		if type(message) == "table" and message.message ~= nil then message = message.message; end
		return tostring(message);
	end

	local function place(element)
		local trace = element and element.trace;
		if trace and trace.short_src then
			return trace.short_src .. ":" .. tostring(trace.currentline);
		end
		return "";
	end

	local function add(status, element, message)
		counts[status] = counts[status] + 1;
		results[#results + 1] = {
			status = status,
			name = handler.getFullName(element),
			defined_at = place(element),
			message = message_text(message),
		};
	end

	-- One entry per test, with the outcome busted settled on.
	busted.subscribe({ "test", "end" }, function (element, _, status)
		if status == "success" or status == "pending" then
			add(status, element, element.message);
		end
		return nil, true;
	end, { predicate = handler.cancelOnPending });
	busted.subscribe({ "failure", "it" }, function (element, _, message)
		add("failure", element, message);
		return nil, true;
	end);
	busted.subscribe({ "error", "it" }, function (element, _, message)
		add("error", element, message);
		return nil, true;
	end);
	-- Failures and errors outside a test (a file, a describe body, a hook
	-- of a block) count as errors, as `modhost test` reports them.
	local function outside(element, _, message)
		if element.descriptor ~= "it" then
			add("error", element, message);
		end
		return nil, true;
	end
	busted.subscribe({ "failure" }, outside);
	busted.subscribe({ "error" }, outside);

	busted.subscribe({ "suite", "end" }, function ()
		local out = {};
		for i, r in ipairs(results) do
			local fields = { '"status":' .. json_string(r.status), '"name":' .. json_string(r.name) };
			if r.defined_at ~= "" then fields[#fields + 1] = '"defined_at":' .. json_string(r.defined_at); end
			if r.message ~= "" then fields[#fields + 1] = '"message":' .. json_string(r.message); end
			out[i] = "{" .. table.concat(fields, ",") .. "}";
		end
		io.write('{"results":[', table.concat(out, ","), '],',
			'"passed":', counts.success, ',"failed":', counts.failure,
			',"errors":', counts.error, ',"pending":', counts.pending, "}\n");
		io.flush();
		return nil, true;
	end);

	return handler;
end
