-- mod_http_files: serves a folder over HTTP, as Prosody 0.12's module does.
--
-- Options (Prosody 0.12's names): http_files_dir (or http_path), the folder;
-- http_index_files, tried in a folder (default index.html, index.htm);
-- http_dir_listing, list folders without an index (default off: 403);
-- mime_types_file (default /etc/mime.types), extensions beyond the built-in
-- ones. Mounted at /files unless http_paths says otherwise.
--
-- The path is the one the HTTP server decoded, once (not again, unlike
-- Prosody's net.http.files); a component holding NUL, or '..' climbing above
-- the folder, is refused with 400, so nothing outside http_files_dir can be
-- read.

local has_lfs, lfs = pcall(require, "lfs");

local base_dir = module:get_option_path("http_files_dir", module:get_option_path("http_path"));
local index_files = module:get_option_array("http_index_files", { "index.html", "index.htm" });
local dir_listing = module:get_option_boolean("http_dir_listing", false);
local mime_types_file = module:get_option_path("mime_types_file", "/etc/mime.types", "config");

if not base_dir then
	module:log("info", "http_files_dir is not set: no files are served (other modules may still use this one to serve theirs)");
end

local content_types = {
	html = "text/html", htm = "text/html",
	xml = "application/xml",
	txt = "text/plain",
	css = "text/css",
	js = "application/javascript",
	json = "application/json",
	png = "image/png",
	gif = "image/gif",
	jpeg = "image/jpeg", jpg = "image/jpeg",
	svg = "image/svg+xml",
};

-- Looked up in mime_types_file on first use of an extension, then remembered.
local system_types;
local function content_type_of(path)
	local ext = path:match("%.([^./]+)$");
	if not ext then return "application/octet-stream"; end
	ext = ext:lower();
	if content_types[ext] then return content_types[ext]; end
	if system_types == nil then
		local f = io.open(mime_types_file, "r");
		system_types = f and ("\n" .. (f:read("*a") or "") .. "\n") or false;
		if f then f:close(); end
	end
	local pattern = "\n(%S+)[^\n]-%s" .. ext:gsub("%p", "%%%0") .. "%s";
	local found = system_types and system_types:match(pattern);
	content_types[ext] = found or "application/octet-stream";
	return content_types[ext];
end

-- The request path as a list of safe components, or nil if it is not safe.
local function safe_components(path)
	local parts = {};
	-- The server has percent-decoded the path once; decoding again (as
	-- Prosody's net.http.files does) would let %2541.txt name A.txt and
	-- walk past a proxy's rules for A.txt.
	for part in path:gmatch("[^/]+") do
		if part:find("%z") then return nil; end
		if part == ".." then
			if #parts == 0 then return nil; end
			table.remove(parts);
		elseif part ~= "." then
			table.insert(parts, part);
		end
	end
	return parts;
end

-- "file", "directory" or nil. Without lfs, a directory is what io.open can
-- open but not read (EISDIR).
local function kind_of(path)
	if has_lfs then return lfs.attributes(path, "mode"); end
	local f = io.open(path, "rb");
	if not f then return nil; end
	local _, _, code = f:read(0);
	f:close();
	return code == 21 and "directory" or "file";
end

local function html_escape(s)
	return (s:gsub("[<>&\"']", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ["\""] = "&quot;", ["'"] = "&#39;" }));
end

-- A name as a relative URL: percent-encoded, so that a browser asks for
-- this very file ("%41.txt" is not "A.txt"), and a name holding ':' is not
-- read as a scheme.
local function href_of(name)
	return (name:gsub("[^A-Za-z0-9%-%._~/]", function (c) return ("%%%02X"):format(c:byte()); end));
end

local function listing(url_path, dir)
	local names = {};
	for name in lfs.dir(dir) do
		if name ~= "." and name ~= ".." then
			if lfs.attributes(dir .. "/" .. name, "mode") == "directory" then name = name .. "/"; end
			table.insert(names, name);
		end
	end
	table.sort(names);
	local out = { "<!DOCTYPE html><html><head><title>Index of ", html_escape(url_path),
		"</title></head><body><h1>Index of ", html_escape(url_path), "</h1><ul>" };
	for _, name in ipairs(names) do
		table.insert(out, ("<li><a href=\"%s\">%s</a></li>"):format(href_of(name), html_escape(name)));
	end
	table.insert(out, "</ul></body></html>");
	return table.concat(out);
end

local function send_file(event, full_path)
	local request, response = event.request, event.response;
	if has_lfs then
		local attr = lfs.attributes(full_path);
		local last_modified = os.date("!%a, %d %b %Y %H:%M:%S GMT", attr.modification);
		local etag = ("\"%x-%x-%x\""):format(attr.change or 0, attr.size or 0, attr.modification or 0);
		response.headers.last_modified, response.headers.etag = last_modified, etag;
		local if_none_match = request.headers.if_none_match;
		if if_none_match == etag or (not if_none_match and request.headers.if_modified_since == last_modified) then
			return 304;
		end
	end
	local f = io.open(full_path, "rb");
	if not f then return 403; end
	local data = f:read("*a");
	f:close();
	if not data then return 403; end
	response.headers.content_type = content_type_of(full_path);
	return response:send(data);
end

local function serve(event, path)
	if not base_dir then return 404; end
	local parts = safe_components(path or "");
	if not parts then return 400; end
	local full_path = base_dir;
	if #parts > 0 then full_path = base_dir .. "/" .. table.concat(parts, "/"); end
	local kind = kind_of(full_path);
	if kind == nil then return 404; end
	if kind == "directory" then
		local request_path = event.request.path;
		if request_path:sub(-1) ~= "/" then
			event.response.headers.location = request_path .. "/";
			return 301;
		end
		for _, index in ipairs(index_files) do
			if kind_of(full_path .. "/" .. index) == "file" then
				return send_file(event, full_path .. "/" .. index);
			end
		end
		if dir_listing and has_lfs then
			event.response.headers.content_type = "text/html";
			return event.response:send(listing(request_path, full_path));
		end
		return 403;
	end
	return send_file(event, full_path);
end

module:provides("http", {
	route = {
		["GET /*"] = serve;
	};
});
