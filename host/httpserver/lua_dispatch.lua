-- Runs one plugin HTTP handler the way Prosody 0.12's net.http.server does:
-- the handler gets the event (request and response) and, for wildcard routes,
-- the captured rest of the path; what it returns decides the answer.
-- The Go side (lua_handlers.go) passes the functions that deliver the answer.

local type, pairs, tostring, pcall, require = type, pairs, tostring, pcall, require;
local co_create, co_resume, co_status = coroutine.create, coroutine.resume, coroutine.status;
local traceback = debug.traceback;

-- These libraries are optional: a plugin can only return a promise or an
-- error object if it could load them itself.
local function optional(name)
	local ok, lib = pcall(require, name);
	if ok and type(lib) == "table" then
		return lib;
	end
end

local async = optional "util.async";
local promise = optional "util.promise";
local errors = optional "util.error";

local function is_err(v)
	return errors ~= nil and type(errors.is_err) == "function" and errors.is_err(v);
end

local function is_promise(v)
	return promise ~= nil and type(promise.is_promise) == "function" and promise.is_promise(v);
end

local function new_response(request, answer, answer_error)
	local response = {
		request = request;
		status_code = 200;
		headers = {};
		is_head_request = request.method == "HEAD";
		finished = false;
	};
	function response.send(self, body)
		if self.finished then return; end
		self.finished = true;
		if body == nil then body = self.body; end
		if body == nil then body = ""; end
		answer(self.status_code, self.headers, tostring(body));
		return true;
	end
	-- The server writes the whole answer at once; writing the head early
	-- has nothing to do.
	function response.write_headers()
	end
	function response.done(self)
		return self:send();
	end
	function response.send_file(self, f)
		local data = f:read("*a");
		if f.close then f:close(); end
		return self:send(data);
	end
	-- An error answer: the server's JSON error body instead of the HTML page
	-- Prosody's mod_http_errors renders.
	local function send_error(code, message)
		if response.finished then return; end
		response.finished = true;
		answer_error(code, response.headers, message);
		return true;
	end
	return response, send_error;
end

local handle_result;

function handle_result(response, send_error, result)
	if result == nil then
		result = 404;
	end
	if result == true then
		return; -- the handler answers later with response:send()
	end
	local kind = type(result);
	if kind == "number" then
		response.status_code = result;
		if result >= 400 then
			return send_error(result);
		end
	elseif kind == "string" then
		return response:send(result);
	elseif is_err(result) then
		local code = result.code or 500;
		response.status_code = code;
		return send_error(code, result.text or result.condition);
	elseif is_promise(result) then
		result:next(function (value)
			handle_result(response, send_error, value);
		end, function (err)
			response.status_code = 500;
			handle_result(response, send_error, err or 500);
		end);
		return;
	elseif kind == "table" then
		for k, v in pairs(result) do
			if k == "headers" and type(v) == "table" then
				for name, value in pairs(v) do
					response.headers[name] = value;
				end
			else
				response[k] = v;
			end
		end
	end
	return response:send();
end

-- serve(handler, request, rest, answer, answer_error, fail)
return function (handler, request, rest, answer, answer_error, fail)
	local response, send_error = new_response(request, answer, answer_error);
	local event = { request = request, response = response };
	local function run()
		handle_result(response, send_error, handler(event, rest));
	end
	-- Prosody runs handlers in an async runner so they may wait; do the same
	-- when util.async is there. Coroutines, not pcall: gopher-lua cannot
	-- yield across pcall.
	if async ~= nil and type(async.runner) == "function" then
		local runner = async.runner(run, {
			error = function (_, err)
				fail(tostring(err));
			end;
		});
		runner:run(event);
		return;
	end
	local thread = co_create(run);
	local ok, err = co_resume(thread);
	if not ok then
		fail(tostring(err), traceback(thread));
	elseif co_status(thread) == "suspended" then
		-- Whoever it waits for resumes it; the server's deadline bounds it.
		return;
	end
end
