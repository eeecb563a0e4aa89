module:provides("http", {
	route = {
		["GET /hello"] = function (event)
			return "hi " .. tostring(event.request.url.query);
		end;
		["GET /host"] = function ()
			return module.host;
		end;
		["POST /echo"] = function (event)
			event.response.headers.content_type = "application/json";
			return event.request.body;
		end;
	};
});
