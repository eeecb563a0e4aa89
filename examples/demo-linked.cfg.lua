-- The demo with an XMPP server (`make run` when Prosody is installed): the
-- standalone demo's config plus the link to a throwaway local Prosody that
-- scripts/demo starts on 127.0.0.1:15222 (clients) and 15347 (components).
-- `modhost prosody-snippet --config examples/demo-linked.cfg.lua` prints
-- that Prosody's side of the link; scripts/demo uses exactly that.

Include "demo.cfg.lua"

VirtualHost "localhost"
	component_client = {
		host = "127.0.0.1";
		port = 15347;
		jid = "roster.localhost";
		secret = "demo-secret-change-me";
	}
