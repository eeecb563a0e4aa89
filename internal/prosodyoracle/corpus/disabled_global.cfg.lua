-- A global enabled = false is inherited: only a host that says
-- enabled = true is activated.
enabled = false

VirtualHost "inherits.example"
VirtualHost "back.example"
	enabled = true
Component "ext.example"
	component_secret = "x"
