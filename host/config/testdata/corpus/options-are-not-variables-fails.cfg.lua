-- Both Prosody 0.12 and modhost refuse this: an option read back is nil.
admins = { "admin@example.com" }
VirtualHost "example.com"
admin_count = #admins
