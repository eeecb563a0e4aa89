package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// oracleResult is what Prosody 0.12's configmanager made of a config.
type oracleResult struct {
	options map[string]map[string]any // per section, its own options
	modules map[string][]string       // per host, the modules modulemanager tries
	printed string                    // what the config printed
	err     string                    // the load error, if configmanager refused the file
}

// runOracle runs testdata/prosody_oracle.lua on file. It needs no server and
// runs in -short too; when Prosody 0.12 or lua5.4 is missing it skips the
// test, except under CI=true, where that is a failure (make deps installs
// both).
func runOracle(t *testing.T, file string) oracleResult {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true: not skipping); run make deps", what)
		}
		t.Skipf("%s not installed (make deps installs it)", what)
	}
	lua, err := exec.LookPath("lua5.4")
	if err != nil {
		missing("lua5.4")
	}
	if _, err := os.Stat("/usr/lib/prosody/core/modulemanager.lua"); err != nil {
		missing("Prosody 0.12")
	}
	script, err := filepath.Abs("testdata/prosody_oracle.lua")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(lua, script, file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oracle: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	r := oracleResult{options: map[string]map[string]any{}, modules: map[string][]string{}, printed: stderr.String()}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), "\t")
		name, value, _ := strings.Cut(rest, "\t")
		switch kind {
		case "OPTIONS":
			var m map[string]any
			if err := json.Unmarshal([]byte(value), &m); err != nil {
				t.Fatalf("oracle options %q: %v", value, err)
			}
			r.options[name] = m
		case "MODULES":
			r.modules[name] = strings.Fields(value)
		case "ERROR":
			r.err = rest
		default:
			t.Fatalf("oracle: %s", sc.Text())
		}
	}
	return r
}

// matchOracle checks that c has Prosody's sections, each with Prosody's
// options, and that every enabled host gets the modules Prosody loads.
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
		if got := jsonShape(t, s.Options); !reflect.DeepEqual(got, jsonShape(t, options)) {
			t.Errorf("options of %q = %v, Prosody has %v", section, got, options)
		}
	}
	for host, attempted := range want.modules {
		if !c.HostEnabled(host) {
			continue // Prosody's hostmanager would not activate it
		}
		set := c.Modules(host)
		modules := attempted
		if cm, _ := c.Get(host, "component_module"); cm != nil {
			if attempted[0] != cm {
				t.Errorf("%s: Prosody loads %s first, component_module is %v", host, attempted[0], cm)
			}
			modules = attempted[1:]
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
