-- mod_http_files: serves a folder over HTTP, as Prosody 0.12's module does,
-- with modhost's net.http.files (files.lib.lua beside it), and gives modules that
-- depend on it that library's serve (module:depends"http_files".serve).
--
-- Options (Prosody 0.12's names): http_files_dir (or http_path), the folder;
-- http_index_files, tried in a folder (default index.html, index.htm);
-- http_dir_listing, list folders without an index (default off: 403);
-- mime_types_file (default /etc/mime.types), extensions beyond the built-in
-- ones. Mounted at /files unless http_paths says otherwise.

local http_files = module:require "files";

local base_dir = module:get_option_path("http_files_dir", module:get_option_path("http_path"));
local index_files = module:get_option_array("http_index_files", { "index.html", "index.htm" });
local dir_listing = module:get_option_boolean("http_dir_listing", false);
local mime_types_file = module:get_option_path("mime_types_file", "/etc/mime.types", "config");

if not base_dir then
	module:log("info", "http_files_dir is not set: no files are served (other modules may still use this one to serve theirs)");
end

-- For dependents: serve(opts) as net.http.files', with this module's
-- mime_types_file unless opts names a mime_map.
function serve(opts) -- luacheck: ignore 111 (a module's export is a global of its environment)
	if type(opts) ~= "table" then opts = { path = opts }; end
	if opts.mime_types_file == nil and opts.mime_map == nil then
		local copy = {};
		for k, v in pairs(opts) do copy[k] = v; end
		copy.mime_types_file = mime_types_file;
		opts = copy;
	end
	return http_files.serve(opts);
end

local handler = http_files.serve({ path = base_dir, index_files = index_files,
	directory_index = dir_listing, mime_types_file = mime_types_file });

module:provides("http", {
	route = {
		["GET /*"] = function (event, path)
			if not base_dir then return 404; end
			return handler(event, path);
		end;
	};
});
