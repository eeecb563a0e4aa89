-- enabled = false leaves a host out: Prosody does not activate it.
modules_enabled = { "ping" }

VirtualHost "on.example"
VirtualHost "off.example"
	enabled = false
	modules_enabled = { "lay_flat" }
Component "offrooms.example" "muc"
	enabled = false
Component "offext.example"
	enabled = false
	component_secret = "x"
