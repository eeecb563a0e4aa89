-- net.http.files: serve(opts) makes an HTTP handler that serves a folder,
-- as Prosody 0.12's net.http.files does (mod_http_libjs, mod_register_apps
-- and mod_invites_page call it). modhost offers it under that name
-- (plugins.Libraries); mod_http_files loads it with module:require "files",
-- which finds it under Prosody too, where net.http.files is Prosody's own. opts is the folder, or a
-- table: path (the folder); index_files, tried in a folder (default
-- index.html, index.htm); directory_index, list folders without an index
-- (default off: 403); mime_map, extension to type, before the built-in
-- ones; and modhost's mime_types_file, a mime.types file consulted for
-- extensions neither knows.
--
-- The path is the one the HTTP server decoded, once (not again, unlike
-- Prosody's): a component holding NUL, or '..' climbing above the folder,
-- is refused with 400, so nothing outside the folder can be read.

local has_lfs, lfs = pcall(require, "lfs");

local builtin_types = {
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

-- content_type_of(path) for one serve's mime_map and mime_types_file:
-- mime_types_file is read on first use of an extension, what it says
-- remembered.
local function content_types(mime_map, mime_types_file)
	local known = {};
	local system_types;
	return function (path)
		local ext = path:match("%.([^./]+)$");
		if not ext then return "application/octet-stream"; end
		ext = ext:lower();
		local t = mime_map and mime_map[ext] or builtin_types[ext] or known[ext];
		if t then return t; end
		if system_types == nil then
			local f = mime_types_file and io.open(mime_types_file, "r");
			system_types = f and ("\n" .. (f:read("*a") or "") .. "\n") or false;
			if f then f:close(); end
		end
		local pattern = "\n(%S+)[^\n]-%s" .. ext:gsub("%p", "%%%0") .. "%s";
		known[ext] = system_types and system_types:match(pattern) or "application/octet-stream";
		return known[ext];
	end
end

local function serve(opts)
	if type(opts) ~= "table" then opts = { path = opts }; end
	local base_dir = opts.path;
	local index_files = opts.index_files or { "index.html", "index.htm" };
	local dir_listing = opts.directory_index;
	local content_type_of = content_types(opts.mime_map, opts.mime_types_file);

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

	return function (event, path)
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
end

return { serve = serve };
