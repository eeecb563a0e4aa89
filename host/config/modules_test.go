package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/modhost/modhost/internal/prosodyoracle"
)

// Expectations below are derived by hand from Prosody 0.12's
// core/modulemanager.lua, get_modules_for_host:
//
//	global  = autoload + global modules_enabled − global modules_disabled
//	global  = global ∩ component_inheritable          (components)
//	modules = (global + host modules_enabled) − host modules_disabled
//	minus vcard when vcard_legacy is there
//
// with autoload = posix presence message iq offline c2s s2s s2s_auth_certs
// and component_inheritable = tls saslauth dialback iq s2s s2s_bidi smacks
// server_contact_info. Where lua5.4 and Prosody are installed, the same
// configs are also run through Prosody's own configmanager and
// modulemanager (internal/prosodyoracle) and the sets compared.
var moduleCases = []struct {
	name  string
	src   string
	host  string
	want  ModuleSet
	notes string
}{
	{
		name: "a VirtualHost without lists gets autoload plus the global list",
		src:  "modules_enabled = { \"roster\", \"disco\" }\nVirtualHost \"a\"",
		host: "a",
		// autoload + {roster, disco}; nothing disabled.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs", "roster", "disco"}},
	},
	{
		name: "global modules_disabled removes autoloaded modules",
		src:  "modules_disabled = { \"s2s\", \"offline\" }\nVirtualHost \"a\"",
		host: "a",
		// autoload − {s2s, offline}.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "c2s", "s2s_auth_certs"}, Disabled: []string{"s2s", "offline"}},
	},
	{
		name: "host lists add to and remove from the global result",
		src:  "modules_enabled = { \"roster\", \"disco\" }\nVirtualHost \"a\"\nmodules_enabled = { \"x\" }\nmodules_disabled = { \"disco\", \"c2s\" }",
		host: "a",
		// (autoload + {roster, disco}) + {x} − {disco, c2s}.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "s2s", "s2s_auth_certs", "roster", "x"}, Disabled: []string{"disco", "c2s"}},
	},
	{
		name: "a host re-enables a globally disabled module",
		src:  "modules_enabled = { \"ping\", \"disco\" }\nmodules_disabled = { \"ping\" }\nVirtualHost \"a\"\nmodules_enabled = { \"ping\" }",
		host: "a",
		// autoload + {ping, disco} − {ping} = autoload + {disco}; + {ping}.
		// ping first appears in the global list, so it sorts before disco.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs", "ping", "disco"}},
	},
	{
		name: "the global line alone for \"*\"",
		src:  "modules_enabled = { \"ping\" }\nmodules_disabled = { \"c2s\" }\nVirtualHost \"a\"\nmodules_enabled = { \"x\" }",
		host: "*",
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "s2s", "s2s_auth_certs", "ping"}, Disabled: []string{"c2s"}},
	},
	{
		name: "a Component inherits only the component-inheritable global modules",
		src:  "modules_enabled = { \"roster\", \"tls\", \"saslauth\", \"smacks\" }\nComponent \"rooms\" \"muc\"\nmodules_enabled = { \"muc_mam\" }",
		host: "rooms",
		// (autoload + {roster, tls, saslauth, smacks}) ∩ inheritable = {iq, s2s,
		// tls, saslauth, smacks}; + {muc_mam}. muc itself is loaded first.
		want: ModuleSet{Enabled: []string{"iq", "s2s", "tls", "saslauth", "smacks", "muc_mam"}, ComponentModule: "muc"},
	},
	{
		name: "a plain Component gets Prosody's component module first",
		src:  "modules_enabled = { \"dialback\" }\nComponent \"ext\"\ncomponent_secret = \"x\"",
		host: "ext",
		// Prosody loads mod_component first (the server's end of XEP-0114);
		// the set is {iq, s2s, dialback}.
		want: ModuleSet{Enabled: []string{"iq", "s2s", "dialback"}, ComponentModule: "component"},
	},
	{
		name: "a globally disabled module is listed for a component too",
		src:  "modules_disabled = { \"s2s\", \"roster\" }\nComponent \"ext\"",
		host: "ext",
		// ({iq, s2s, ...} − {s2s, roster}) ∩ inheritable = {iq}.
		want: ModuleSet{Enabled: []string{"iq"}, Disabled: []string{"s2s", "roster"}, ComponentModule: "component"},
	},
	{
		name: "vcard is dropped when vcard_legacy is enabled too",
		src:  "modules_enabled = { \"vcard\", \"vcard_legacy\" }\nVirtualHost \"a\"",
		host: "a",
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs", "vcard_legacy"}},
	},
	{
		name: "a host sharing the global modules_disabled table does not apply it twice",
		src: "local off = { \"ping\" }\nmodules_disabled = off\nVirtualHost \"a\"\n" +
			"modules_enabled = { \"ping\" }\nmodules_disabled = off",
		host: "a",
		// The host's modules_disabled == the global one, so Prosody drops it:
		// autoload + {} − {ping} + {ping} keeps ping.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs", "ping"}},
	},
	{
		name: "a host's own equal but distinct table does apply",
		src: "modules_disabled = { \"ping\" }\nVirtualHost \"a\"\n" +
			"modules_enabled = { \"ping\" }\nmodules_disabled = { \"ping\" }",
		host: "a",
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs"}, Disabled: []string{"ping"}},
	},
	{
		name: "a list given as a string counts as empty",
		src:  "modules_enabled = \"roster\"\nVirtualHost \"a\"",
		host: "a",
		// set.new("roster") iterates nothing.
		want: ModuleSet{Enabled: []string{"posix", "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs"}},
	},
	{
		name: "a disabled host loads nothing",
		src:  "modules_enabled = { \"roster\" }\nVirtualHost \"a\"\nenabled = false",
		host: "a",
		want: ModuleSet{},
	},
	{
		name: "an undeclared host loads nothing",
		src:  "modules_enabled = { \"roster\" }",
		host: "nowhere",
		want: ModuleSet{},
	},
}

func TestModulesFollowProsodysArithmetic(t *testing.T) {
	for _, tt := range moduleCases {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			if got := c.Modules(tt.host); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Modules(%q) =\n %+v\nwant\n %+v", tt.host, got, tt.want)
			}
		})
	}
}

// debianConfig is the config Debian's prosody package installs; the
// comparison runs on it unchanged when it is there (always under CI, where
// make deps installs prosody).
const debianConfig = "/etc/prosody/prosody.cfg.lua"

// TestModulesAndOptionsMatchProsodyItself runs every config of the module
// corpus (internal/prosodyoracle/corpus), the module cases above, the
// examples and Debian's installed config through Prosody 0.12's own
// configmanager, hostmanager and modulemanager, and compares (matchOracle):
// the same options per section, the same hosts activated (of the same
// kind), the same hosts left out, the same modules per host.
func TestModulesAndOptionsMatchProsodyItself(t *testing.T) {
	prosodyoracle.Require(t)
	configs := map[string]string{"example": "../../examples/prosody.cfg.lua"}
	for _, f := range prosodyoracle.CorpusConfigs(t) {
		configs["corpus/"+filepath.Base(f)] = f
	}
	if _, err := os.Stat(debianConfig); err == nil {
		configs["debian"] = debianConfig
	} else if os.Getenv("CI") == "true" {
		t.Errorf("%s missing under CI=true (make deps installs prosody)", debianConfig)
	}
	dir := t.TempDir()
	for i, tt := range moduleCases {
		path := filepath.Join(dir, "case"+string(rune('a'+i))+".cfg.lua")
		if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
			t.Fatal(err)
		}
		configs[tt.name] = path
	}
	includes := writeFiles(t, map[string]string{
		"main.cfg.lua":     "a = 1\nVirtualHost \"h\"\nInclude \"conf.d/*.cfg.lua\"\nafter = 1\nInclude \"./extra/one.lua\"\n",
		"conf.d/1.cfg.lua": "from_glob = 1\nVirtualHost \"g\"\nmodules_enabled = { \"ping\" }\n",
		"conf.d/2.cfg.lua": "second = true\n",
		"extra/one.lua":    "Include \"two.lua\"\n",
		"extra/two.lua":    "nested = \"relative to extra/one.lua\"\n",
	})
	configs["includes"] = filepath.Join(includes, "main.cfg.lua")
	for name, path := range configs {
		t.Run(name, func(t *testing.T) {
			want := runOracle(t, path)
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			matchOracle(t, c, want)
		})
	}
}
