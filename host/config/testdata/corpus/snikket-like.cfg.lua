-- An appliance's config: one domain from the environment, and work only
-- the XMPP server itself should do, guarded by process_type.
local DOMAIN = assert(ENV_MODHOST_CORPUS_DOMAIN, "MODHOST_CORPUS_DOMAIN must be set")

if prosody.process_type == "prosody" and not prosody.config_loaded then
	-- The server waits for its certificates; modhost never gets here.
	local lfs = require "lfs"
	local socket = require "socket"
	local cert_path = "/etc/prosody/certs/" .. DOMAIN .. ".crt"
	while not lfs.attributes(cert_path, "mode") do
		print("Waiting for certificates...")
		socket.sleep(5)
	end
	waited_for_certificates = true
end

if prosody.process_type ~= "prosody" then
	print("config read by " .. prosody.process_type)
end

network_default_read_size = 66560
admins = {}
modules_enabled = { "roster", "saslauth", "tls", "http_files" }
http_paths = { files = "/" }

VirtualHost (DOMAIN)
	authentication = "internal_hashed"
	http_host = DOMAIN

Component ("groups." .. DOMAIN) "muc"
	modules_enabled = { "muc_mam" }
	restrict_room_creation = "local"
