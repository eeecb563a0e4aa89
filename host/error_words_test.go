package host

import "testing"

func TestModuleErrorsInWords(t *testing.T) {
	files := map[string]string{
		"/p/mod_a.lua": "local x = 1\nlocal data_load = datamanager.load;\n",
		"/p/mod_b.lua": "local n = prosody.stanza_counter.iq;\n",
		"/p/mod_c.lua": "module:provides(\"http\", {\n\t[\"GET /*\"] = serve({ path = p });\n})\n",
	}
	source := func(p string) []byte {
		if s, ok := files[p]; ok {
			return []byte(s)
		}
		return nil
	}
	tests := []struct{ name, msg, want string }{
		{"a missing Prosody library",
			"/p/mod_x.lua:7: module util.sasl not found:\n\tno field package.preload['util.sasl']\n\t\n\tno file './util/sasl.lua'\nstack traceback:\n\t[G]: in function 'require'",
			`/p/mod_x.lua:7: require "util.sasl": Prosody's library util.sasl is not available in modhost`},
		{"a missing Lua library", "/p/mod_x.lua:20: module socket not found:\n\tno field package.preload['socket']",
			`/p/mod_x.lua:20: require "socket": the Lua library socket is not available in modhost (LuaSocket's C core, which modhost does not provide)`},
		{"a nil variable indexed", "/p/mod_a.lua:2: attempt to index a non-table object(nil) with key 'load'",
			"/p/mod_a.lua:2: `datamanager` is nil, so `datamanager.load` cannot be read"},
		{"a nil field of prosody indexed", "/p/mod_b.lua:1: attempt to index a non-table object(nil) with key 'iq'",
			"/p/mod_b.lua:1: `prosody.stanza_counter` is nil, so `prosody.stanza_counter.iq` cannot be read"},
		{"an unreadable line keeps the key", "/q/mod_z.lua:3: attempt to index a non-table object(nil) with key 'k'",
			"/q/mod_z.lua:3: a nil value was indexed with key 'k'"},
		{"the one call on the line named", "/p/mod_c.lua:2: attempt to call a non-function object",
			"/p/mod_c.lua:2: `serve` is not a function (nil, often: something modhost does not provide), so it cannot be called"},
		{"a dependency's error in words",
			"/p/mod_d.lua:1: Unable to load required module, mod_pep: /usr/lib/prosody/modules/mod_pep.lua:1: module util.pubsub not found:\n\tno field",
			`/p/mod_d.lua:1: Unable to load required module, mod_pep: /usr/lib/prosody/modules/mod_pep.lua:1: require "util.pubsub": Prosody's library util.pubsub is not available in modhost`},
		{"a plugin's own error kept, traceback dropped", "/p/mod_e.lua:8: No RTBL JID supplied\nstack traceback:\n\t[C]: in ?",
			"/p/mod_e.lua:8: No RTBL JID supplied"},
		{"no position", "something failed", "something failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inWords(tt.msg, source); got != tt.want {
				t.Errorf("inWords =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}
