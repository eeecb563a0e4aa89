-- The demo against ejabberd (`DEMO_SERVER=ejabberd make run`): the
-- standalone demo's config plus the link to a throwaway ejabberd 23.01 that
-- scripts/demo starts on 127.0.0.1:15222 (clients), 15347 (components) and
-- 15281 (its admin API, loopback only). Rosters are written through the API
-- (ejabberd_api): 23.01's privileged roster sets all fail.
-- `modhost prosody-snippet --server ejabberd --config examples/demo-ejabberd.cfg.lua`
-- prints that ejabberd's side of the link; scripts/demo uses exactly that.

Include "demo.cfg.lua"

VirtualHost "localhost"
	component_client = {
		host = "127.0.0.1";
		port = 15347;
		jid = "roster.localhost";
		secret = "demo-secret-change-me";
	}
	ejabberd_api = { url = "http://127.0.0.1:15281/api" }
