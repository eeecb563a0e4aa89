-- Host names are nameprepped as Prosody prepares them (RFC 3491).
VirtualHost "Straße.example"       -- case folding: strasse.example
VirtualHost "ＦＵＬＬ.example"       -- NFKC: full.example
VirtualHost "cafe\204\129.example" -- e + combining acute: NFKC composes café.example
VirtualHost "LOCALHOST"
	modules_enabled = { "ping" }
VirtualHost "localhost"            -- the same host again
	modules_disabled = { "c2s" }
Component "ＣＨＡＴ.Straße.example" "muc"
