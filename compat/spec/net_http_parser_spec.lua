-- Behaviour of net.http.parser, fed whole and in pieces.

local parser = require "net.http.parser";

-- A parser recording the messages and errors it reports.
local function recorder(kind, options)
	local got = { messages = {}, errors = {} };
	got.parser = parser.new(function (packet)
		got.messages[#got.messages + 1] = packet;
		if got.on_message then got.on_message(packet); end
	end, function (reason)
		got.errors[#got.errors + 1] = reason;
	end, kind, options and function () return options; end);
	return got;
end

local function feed_all(p, data, step)
	if not step then return p:feed(data); end
	for i = 1, #data, step do p:feed(data:sub(i, i + step - 1)); end
end

describe("net.http.parser", function ()
	describe("requests", function ()
		for _, step in ipairs({ false, 1, 7 }) do
			it("reads a request with a body" .. (step and (", " .. step .. " bytes at a time") or ""), function ()
				local r = recorder();
				feed_all(r.parser, "POST /upload/a%20b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
					.. "X-Multi: a\r\nx-multi: b\r\n\r\nhello", step);
				assert.same({}, r.errors);
				assert.equal(1, #r.messages);
				local req = r.messages[1];
				assert.equal("POST", req.method);
				assert.equal("1.1", req.httpversion);
				assert.equal("/upload/a b", req.path);
				assert.same({ path = "/upload/a%20b", query = "x=1&y=2" }, req.url);
				assert.equal("example.com", req.headers.host);
				assert.equal("5", req.headers["content-length"]);
				assert.equal("a,b", req.headers["x-multi"]);
				assert.equal("hello", req.body);
				assert.is_nil(req.partial);
			end);
		end

		it("reads pipelined requests without bodies", function ()
			local r = recorder();
			r.parser:feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
			assert.equal(2, #r.messages);
			assert.equal("/a", r.messages[1].path);
			assert.equal("", r.messages[1].body);
			assert.is_nil(r.messages[1].url.query);
			assert.equal("/b", r.messages[2].path);
			assert.equal("1.0", r.messages[2].httpversion);
		end);

		it("cleans the path", function ()
			local r = recorder();
			r.parser:feed("GET //a///b/./c HTTP/1.1\r\n\r\nGET /a/../../etc/passwd HTTP/1.1\r\n\r\n");
			assert.equal("/a/b/./c", r.messages[1].path);
			assert.is_nil(r.messages[2].path);
		end);

		it("takes the host from an absolute URL", function ()
			local r = recorder();
			r.parser:feed("GET http://example.org:8080/x?q HTTP/1.1\r\nHost: other\r\n\r\n");
			local req = r.messages[1];
			assert.equal("example.org", req.headers.host);
			assert.equal("/x", req.path);
			assert.equal("/x", req.url.path);
			assert.equal("q", req.url.query);
			assert.equal("example.org", req.url.host);
			assert.equal("8080", req.url.port);
		end);

		it("waits for the whole head and body", function ()
			local r = recorder();
			r.parser:feed("GET / HTTP/1.1\r\nHost: x\r\n");
			assert.equal(0, #r.messages);
			r.parser:feed("Content-Length: 3\r\n\r\nab");
			assert.equal(0, #r.messages);
			r.parser:feed("c");
			assert.equal("abc", r.messages[1].body);
		end);

		it("reports malformed heads", function ()
			for input, reason in pairs({
				["NONSENSE\r\n\r\n"] = "invalid-status-line",
				["GET / HTTP/2.0\r\n\r\n"] = "invalid-status-line",
				["\r\n\r\n"] = "invalid-status-line",
				["GET / HTTP/1.1\r\nbad header\r\n\r\n"] = "invalid-header-line",
			}) do
				local r = recorder();
				r.parser:feed(input);
				assert.same({ reason }, r.errors, input);
				assert.same({ nil, "parse has failed" }, { r.parser:feed("GET / HTTP/1.1\r\n\r\n") });
			end
		end);

		it("refuses bodies over the limit unless a sink takes them", function ()
			local r = recorder(nil, { body_size_limit = 10, buffer_size_limit = 1000 });
			r.parser:feed("POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n");
			assert.same({ "content-length-limit-exceeded" }, r.errors);
			assert.is_true(r.messages[1].partial);

			local received = {};
			r = recorder(nil, { body_size_limit = 10, buffer_size_limit = 1000 });
			r.on_message = function (packet)
				if packet.partial then
					packet.body_sink = { write = function (_, data) received[#received + 1] = data; return true; end };
				end
			end;
			r.parser:feed("POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789");
			r.parser:feed("abcdefghij");
			assert.same({}, r.errors);
			assert.equal(2, #r.messages);
			assert.is_nil(r.messages[2].partial);
			assert.equal("0123456789abcdefghij", table.concat(received));
		end);

		it("reports a failing body sink", function ()
			local r = recorder(nil, { body_size_limit = 1, buffer_size_limit = 1000 });
			r.on_message = function (packet) packet.body_sink = { write = function () return false; end }; end;
			r.parser:feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
			assert.same({ "body-sink-write-failure" }, r.errors);
		end);

		it("limits the buffer", function ()
			local r = recorder(nil, { buffer_size_limit = 16 });
			r.parser:feed("GET / HTTP/1.1\r\n");
			r.parser:feed("X: y\r\n");
			assert.same({ "max-buffer-size-exceeded" }, r.errors);
		end);

		it("reports an unexpected end", function ()
			local r = recorder();
			r.parser:feed("GET / HT");
			r.parser:feed(nil);
			assert.same({ "unexpected-eof" }, r.errors);
			r = recorder();
			r.parser:feed("GET / HTTP/1.1\r\n\r\n");
			r.parser:feed(nil);
			assert.same({}, r.errors);
		end);

		it("refuses an unknown parser type", function ()
			assert.has_error(function () parser.new(print, print, "proxy"); end);
		end);
	end);

	describe("responses", function ()
		it("reads a response with a length", function ()
			local r = recorder("client");
			r.parser:feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
			local res = r.messages[1];
			assert.equal(200, res.code);
			assert.equal("1.1", res.httpversion);
			assert.equal("1.1", res.responseversion);
			assert.equal("text/plain", res.headers["content-type"]);
			assert.equal(res.headers, res.responseheaders);
			assert.equal(2, res.body_length);
			assert.equal("ok", res.body);
		end);

		for _, step in ipairs({ false, 1, 5 }) do
			it("reads a chunked response" .. (step and (", " .. step .. " bytes at a time") or ""), function ()
				local r = recorder("client");
				feed_all(r.parser, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					.. "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
					.. "HTTP/1.1 204 No Content\r\n\r\n", step);
				assert.same({}, r.errors);
				local last = r.messages[#r.messages];
				assert.equal(204, last.code);
				local res = r.messages[#r.messages - 1];
				assert.equal(200, res.code);
				assert.is_true(res.chunked);
				assert.equal("hello, world", res.body);
				assert.is_nil(res.partial);
				-- the partial message was reported first
				assert.equal(res, r.messages[1]);
			end);
		end

		it("drops trailers after the last chunk", function ()
			local r = recorder("client");
			r.parser:feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nTrailer: x\r\n\r\n"
				.. "HTTP/1.1 204 No Content\r\n\r\n");
			assert.same({}, r.errors);
			assert.equal("ab", r.messages[#r.messages - 1].body);
			assert.equal(204, r.messages[#r.messages].code);
		end);

		it("streams chunks into a body sink", function ()
			local got = {};
			local r = recorder("client");
			r.on_message = function (packet)
				if packet.partial then packet.body_sink = { write = function (_, d) got[#got + 1] = d; return true; end }; end
			end;
			r.parser:feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
			assert.same({ "abc", "de" }, got);
			assert.equal(false, r.messages[#r.messages].body);
		end);

		it("has no body for HEAD, 204, 304 and 1xx", function ()
			local r = recorder("client", { method = "HEAD" });
			r.parser:feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
			assert.equal("", r.messages[1].body);
			assert.equal(0, r.messages[1].body_length);
			for _, code in ipairs({ 204, 304, 101 }) do
				r = recorder("client");
				r.parser:feed("HTTP/1.1 " .. code .. " X\r\n\r\n");
				assert.equal("", r.messages[1].body, code);
			end
		end);

		it("gives a response without a length the body received with it", function ()
			local r = recorder("client");
			r.parser:feed("HTTP/1.0 200 OK\r\n\r\npartial body");
			-- reported twice: partial first, then (the same table) complete
			assert.equal(2, #r.messages);
			assert.equal(r.messages[1], r.messages[2]);
			assert.equal("partial body", r.messages[2].body);
			assert.is_nil(r.messages[2].partial);
			assert.is_nil(r.messages[2].body_length);
		end);

		it("reports a bad status line", function ()
			local r = recorder("client");
			r.parser:feed("HTTP/1.1 abc OK\r\n\r\n");
			assert.same({ "invalid-status-line" }, r.errors);
		end);
	end);
end);
