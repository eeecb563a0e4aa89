package config

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/modhost/modhost/internal/prosodyoracle"
)

// oracleResult is what Prosody 0.12's configmanager, hostmanager and
// modulemanager made of a config (internal/prosodyoracle).
type oracleResult struct {
	options  map[string]map[string]any // per section, its own options
	hosts    map[string]string         // hosts activated: "local" or "component"
	modules  map[string][]string       // per activated host, the modules modulemanager tries
	disabled []string                  // hosts left out (enabled = false)
	printed  string                    // what the config printed
	err      string                    // the load error, if configmanager refused the file
}

// runOracle runs Prosody's own code on file (prosodyoracle.Run, with the
// module corpus's data folder as Prosody's). It needs no server and runs in
// -short too; when Prosody 0.12 or lua5.4 is missing it skips the test,
// except under CI=true, where that is a failure (make deps installs both).
func runOracle(t *testing.T, file string) oracleResult {
	t.Helper()
	r := prosodyoracle.Run(t, file, prosodyoracle.Env{DataDir: filepath.Join(prosodyoracle.Corpus(t), "data")})
	return oracleResult{options: r.Options, hosts: r.Hosts, modules: r.Modules, disabled: r.Disabled,
		printed: r.Printed, err: r.Err}
}

// matchOracle checks that c has Prosody's sections, each with Prosody's
// options, that the hosts Prosody activates are c's enabled ones (of the
// same kind) and the ones it leaves out c's disabled ones, and that every
// enabled host gets the modules Prosody loads.
func matchOracle(t *testing.T, c *Config, want oracleResult) {
	t.Helper()
	if want.err != "" {
		t.Fatalf("Prosody refused the config: %s", want.err)
	}
	for _, s := range append([]*Section{c.Global}, c.Hosts...) {
		if _, ok := want.options[s.Name]; !ok {
			t.Errorf("section %q is not one of Prosody's", s.Name)
		}
	}
	for section, options := range want.options {
		s := c.Host(section)
		if s == nil {
			t.Errorf("section %q missing", section)
			continue
		}
		if got := jsonShape(t, s.Options); !reflect.DeepEqual(got, mixedTables(jsonShape(t, options))) {
			t.Errorf("options of %q = %v, Prosody has %v", section, got, options)
		}
	}
	gotHosts, gotDisabled := map[string]string{}, []string{}
	for _, h := range c.Hosts {
		if !c.HostEnabled(h.Name) {
			gotDisabled = append(gotDisabled, h.Name)
			continue
		}
		gotHosts[h.Name] = map[Kind]string{VirtualHost: "local", Component: "component"}[h.Kind]
	}
	if !reflect.DeepEqual(gotHosts, want.hosts) {
		t.Errorf("hosts activated %v, Prosody activates %v", gotHosts, want.hosts)
	}
	wantDisabled := append([]string{}, want.disabled...)
	sort.Strings(gotDisabled)
	sort.Strings(wantDisabled)
	if !reflect.DeepEqual(gotDisabled, wantDisabled) {
		t.Errorf("hosts left out %v, Prosody leaves out %v", gotDisabled, wantDisabled)
	}
	for host, attempted := range want.modules {
		set := c.Modules(host)
		modules := attempted
		if set.ComponentModule != "" {
			if len(attempted) == 0 || attempted[0] != set.ComponentModule {
				t.Errorf("%s: Prosody loads %v, component module first; modhost's is %q", host, attempted, set.ComponentModule)
			} else {
				modules = attempted[1:]
			}
		}
		got := append([]string(nil), set.Enabled...)
		modules = append([]string(nil), modules...)
		sort.Strings(got)
		sort.Strings(modules)
		if !reflect.DeepEqual(got, modules) {
			t.Errorf("%s: modules %v, Prosody loads %v", host, got, modules)
		}
	}
}

// jsonShape passes v through JSON, as the oracle's output was.
func jsonShape(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// mixedTables rewrites util.json's form of a table with both array and hash
// parts, {"__array": [a, b], "k": v}, into lua.ToGo's, {"1": a, "2": b, "k": v}.
func mixedTables(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = mixedTables(e)
		}
		if arr, ok := v["__array"].([]any); ok {
			delete(out, "__array")
			for i, e := range arr {
				out[strconv.Itoa(i+1)] = mixedTables(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = mixedTables(e)
		}
		return out
	}
	return v
}
