-- net.http.parser: an incremental HTTP/1.x message parser, as Prosody
-- 0.12's net.http.parser (under Prosody's net.http and net.http.server).
--
-- new(on_message, on_error, kind, options) with kind "server" (requests,
-- the default) or "client" (responses), and options() giving
-- body_size_limit (10 MiB), head_size_limit (10 KiB), buffer_size_limit
-- (twice the body limit) and, for a client, the request's method. The
-- parser's :feed(data) takes bytes as they come (nil at end of input) and
-- calls on_message(packet) for each message:
--   request:  method, url = { path, query } (or a parsed absolute URL),
--             path (decoded, nil when it climbs above /), httpversion,
--             headers (lower-case names, repeats joined with ","), body
--   response: code, httpversion, headers, body, body_length, chunked,
--             responseversion, responseheaders
-- A message is also passed early, with partial = true, when it has no
-- length, too large a length, or a chunked body: setting
-- packet.body_sink (an object with :write(data)) then streams the body
-- into it. Errors go to on_error(reason): "invalid-status-line",
-- "invalid-header-line", "invalid-url", "invalid-chunk-size",
-- "content-length-limit-exceeded", "max-buffer-size-exceeded",
-- "body-sink-write-failure", "unexpected-eof"; afterwards feed answers nil,
-- "parse has failed".
--
-- As in Prosody 0.12.3, only responses are read chunked (a request's
-- Transfer-Encoding is not looked at), and a response without a length is
-- given the body received so far. Request targets not starting with "/"
-- are split here (scheme, authority, host, port, path, query) rather than
-- by socket.url, which also knows ;params.

local dbuffer = require "util.dbuffer";
local urldecode = require "util.http".urldecode;

local tonumber, assert = tonumber, assert;

-- The decoded path, or nil when ".." would leave the root.
local function clean_path(path)
	path = urldecode((path:gsub("//+", "/")));
	if path:sub(1, 1) ~= "/" then
		path = "/" .. path;
	end
	local depth = 0;
	for segment in path:gmatch("([^/]+)/") do
		if segment == ".." then
			depth = depth - 1;
			if depth < 0 then return nil; end
		elseif segment ~= "." then
			depth = depth + 1;
		end
	end
	return path;
end

-- Splits a request target that does not start with "/" (absolute form,
-- http://host:port/path?query, or e.g. "*") the way socket.url.parse does.
local function parse_target(target)
	local url = {};
	local rest = target:gsub("#.*$", "");
	local scheme, after = rest:match("^(%a[%w+.-]*):(.*)$");
	if scheme then
		url.scheme, rest = scheme:lower(), after;
	end
	local authority, tail = rest:match("^//([^/]*)(.*)$");
	if authority then
		url.authority, rest = authority, tail;
		local hostport = authority:match("@(.*)$") or authority;
		local host, port = hostport:match("^(.-):(%d*)$");
		url.host = host or hostport;
		if port and port ~= "" then url.port = port; end
	end
	local path, query = rest:match("^([^?]*)%??(.*)$");
	if query ~= "" then url.query = query; end
	if path ~= "" then url.path = path; end
	return url;
end

local function new(on_message, on_error, kind, options)
	local client = false;
	if kind and kind ~= "server" then
		assert(kind == "client", "Invalid parser type");
		client = true;
	end
	local opts = options and options() or {};
	local body_limit = tonumber(opts.body_size_limit) or 10 * 1024 * 1024;
	local head_limit = tonumber(opts.head_size_limit) or 10 * 1024;
	local buffer_limit = tonumber(opts.buffer_size_limit) or body_limit * 2;

	local buffer = dbuffer.new(buffer_limit);
	local failed = false;
	local packet; -- the message being read (nil between messages)
	local remaining; -- body bytes still expected (nil: unknown)
	local chunked;
	local has_body;

	local function fail(reason)
		failed = true;
		return on_error(reason);
	end

	local function finish()
		packet.partial = nil;
		local done = packet;
		packet = nil;
		on_message(done);
	end

	-- Parses a head (request or status line, then headers) ending at
	-- position `stop` of the buffer; returns an error reason on failure.
	local function read_head(stop)
		local first, headers = nil, {};
		local method, target, version, code;
		for line in buffer:read(stop + 3):gmatch("([^\r\n]+)\r\n") do
			if not first then
				first = line;
				if client then
					version, code = line:match("^HTTP/(1%.[01]) (%d%d%d) (.*)$");
					code = tonumber(code);
					if not code then return "invalid-status-line"; end
					local method_asked = options and options().method;
					has_body = not (method_asked == "HEAD" or code == 204 or code == 304 or code == 301
						or (code >= 100 and code < 200));
				else
					method, target, version = line:match("^(%w+) (%S+) HTTP/(1%.[01])$");
					if not method then return "invalid-status-line"; end
				end
			else
				local name, value = line:match("^([^%s:]+): *(.*)$");
				if not name then return "invalid-header-line"; end
				name = name:lower();
				local previous = headers[name];
				headers[name] = previous and (previous .. "," .. value) or value;
			end
		end
		if not first then return "invalid-status-line"; end

		chunked = has_body and headers["transfer-encoding"] == "chunked";
		remaining = tonumber(headers["content-length"]);
		if client then
			if not has_body then remaining = 0; end
			packet = {
				code = code; httpversion = version; headers = headers;
				body = false; body_length = remaining; chunked = chunked; partial = true;
				responseversion = version; responseheaders = headers;
			};
		else
			local url;
			if target:sub(1, 1) == "/" then
				local path, query = target:match("^([^?]*)%??(.*)$");
				url = { path = path, query = query ~= "" and query or nil };
			else
				url = parse_target(target);
				if not (url and url.path) then return "invalid-url"; end
			end
			headers.host = url.host or headers.host;
			remaining = remaining or 0;
			packet = {
				method = method; url = url; path = clean_path(url.path); httpversion = version;
				headers = headers; body = false; chunked = chunked; partial = true;
			};
		end

		if not remaining or remaining > body_limit then
			on_message(packet);
			if remaining and remaining > body_limit and not packet.body_sink then
				return "content-length-limit-exceeded";
			end
		end
		if chunked and not packet.body_sink then
			on_message(packet);
			if not packet.body_sink then
				packet.body_buffer = dbuffer.new(buffer_limit);
			end
		end
	end

	-- Reads what it can of a chunked body: "wait", "next" or an error.
	local function read_chunked()
		local head = buffer:sub(1, 512);
		local size, data_at = head:match("^(%x+)[^\r\n]*\r\n()");
		if not size then return "wait"; end
		size = tonumber(size, 16);
		if not size then return "invalid-chunk-size"; end
		if size == 0 and head:find("\r\n\r\n", data_at - 2, true) then
			local body = packet.body_buffer;
			if body then
				packet.body_buffer = nil;
				body:collapse();
				packet.body = body:read_chunk() or "";
			end
			-- drop the last chunk and any trailers
			buffer:collapse();
			local rest = (buffer:read_chunk() or ""):gsub("^.-\r\n\r\n", "");
			buffer:write(rest);
			chunked = nil;
			finish();
			return "next";
		elseif buffer:length() - data_at - 1 >= size then
			buffer:discard(data_at - 1);
			(packet.body_sink or packet.body_buffer):write(buffer:read(size));
			buffer:discard(2);
			return "next";
		end
		return "wait";
	end

	local function feed(_, data)
		if failed then return nil, "parse has failed"; end
		if data == nil then
			if packet and client and not remaining then
				-- a response delimited by the end of the connection
				buffer:collapse();
				packet.body = buffer:read_chunk() or "";
				finish();
			elseif buffer:length() ~= 0 then
				return fail("unexpected-eof");
			end
			return;
		end
		if not buffer:write(data) then
			return fail("max-buffer-size-exceeded");
		end

		while buffer:length() > 0 do
			if not packet then
				local stop = buffer:sub(1, head_limit):find("\r\n\r\n", 1, true);
				if not stop then return; end
				local err = read_head(stop);
				if err then return fail(err); end
			end

			if chunked then
				local step = read_chunked();
				if step == "wait" then
					return;
				elseif step ~= "next" then
					return fail(step);
				end
			elseif packet.body_sink then
				local piece = buffer:read_chunk(remaining);
				while piece and (not remaining or remaining > 0) do
					if not packet.body_sink:write(piece) then
						return fail("body-sink-write-failure");
					end
					if remaining then remaining = remaining - #piece; end
					piece = buffer:read_chunk(remaining);
				end
				if remaining == 0 then
					finish();
				end
			elseif not remaining or buffer:length() >= remaining then
				packet.body = remaining and buffer:read(remaining) or buffer:read_chunk() or "";
				finish();
			else
				break;
			end
		end
	end

	return { feed = feed };
end

return { new = new };
