// Package prosodyoracle runs Prosody 0.12's own core.configmanager,
// core.hostmanager, core.modulemanager and util.pluginloader on a config
// file, under lua5.4 (oracle.lua), so that tests can compare what modhost
// makes of a config with what the installed Prosody makes of it: the hosts
// it activates and leaves out, each host's modules, and the file each
// module is found in.
//
// The corpus folder holds the configs and plugin folders written for that
// comparison (Corpus).
package prosodyoracle

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

//go:embed oracle.lua
var script string

// SourceDir is where Debian's prosody package puts Prosody's Lua.
const SourceDir = "/usr/lib/prosody"

// Result is what Prosody made of a config.
type Result struct {
	// Options are each section's own options ("*" for the global one).
	Options map[string]map[string]any
	// Hosts are the hosts Prosody activates: "local" or "component".
	Hosts map[string]string
	// Modules are the modules Prosody tries to load on each activated host,
	// the component module first, then in Prosody's hash order.
	Modules map[string][]string
	// Disabled are the hosts it leaves out (enabled = false).
	Disabled []string
	// Found is, for every module in Modules, the file util.pluginloader
	// finds it in ("" when none); relative paths are made absolute against
	// the config's folder, where the oracle runs (see Run).
	Found map[string]string
	// Printed is what the config printed (print, io.write).
	Printed string
	// Err is configmanager's error when it refused the file, else "".
	Err string
}

// Env stands for the installed Prosody's launcher settings.
type Env struct {
	PluginDir string // CFG_PLUGINDIR; "" for Debian's /usr/lib/prosody/modules/
	DataDir   string // CFG_DATADIR; "" for Debian's /var/lib/prosody
}

// Require returns lua5.4's path, or skips the test when lua5.4 or Prosody
// 0.12 is missing; under CI=true a missing one fails the test instead.
func Require(t testing.TB) string {
	t.Helper()
	lua, err := exec.LookPath("lua5.4")
	if err == nil {
		if _, err = os.Stat(filepath.Join(SourceDir, "core", "modulemanager.lua")); err == nil {
			return lua
		}
	}
	msg := "the Prosody oracle needs lua5.4 and Prosody 0.12 at " + SourceDir + " (make deps installs both): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
	return ""
}

// Run runs the oracle on file, in file's folder, so that relative
// plugin_paths resolve against the config's folder as modhost resolves
// them (Prosody itself resolves them against its working folder).
func Run(t testing.TB, file string, env Env) Result {
	t.Helper()
	lua := Require(t)
	file, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(file)
	cmd := exec.Command(lua, "-", file)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = os.Environ()
	if env.PluginDir != "" {
		cmd.Env = append(cmd.Env, "ORACLE_PLUGINDIR="+env.PluginDir)
	}
	if env.DataDir != "" {
		cmd.Env = append(cmd.Env, "ORACLE_DATADIR="+env.DataDir)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oracle on %s: %v\n%s%s", file, err, stdout.String(), stderr.String())
	}
	r := Result{Options: map[string]map[string]any{}, Hosts: map[string]string{},
		Modules: map[string][]string{}, Found: map[string]string{}, Printed: stderr.String()}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), "\t")
		name, value, _ := strings.Cut(rest, "\t")
		switch kind {
		case "OPTIONS":
			var m map[string]any
			if err := json.Unmarshal([]byte(value), &m); err != nil {
				t.Fatalf("oracle options %q: %v", value, err)
			}
			r.Options[name] = m
		case "HOST":
			r.Hosts[name] = value
		case "MODULES":
			r.Modules[name] = strings.Fields(value)
		case "ERROR":
			r.Err = rest
		case "DISABLED":
			r.Disabled = append(r.Disabled, name)
		case "FOUND":
			if value != "" {
				if !filepath.IsAbs(value) {
					value = filepath.Join(dir, value)
				}
				value = filepath.Clean(value)
			}
			r.Found[name] = value
		default:
			t.Fatalf("oracle on %s: %s", file, sc.Text())
		}
	}
	return r
}

// Corpus is the folder of configs and plugins written for the comparison:
// every plugin layout, a plugin folder holding server-side modules, a
// Unicode host, disabled hosts, components, sql storage, an installer
// (prosodyctl install) tree under corpus/data.
func Corpus(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("prosodyoracle: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "corpus")
}

// CorpusConfigs lists the corpus's config files, in name order.
func CorpusConfigs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Corpus(t), "*.cfg.lua"))
	if err != nil || len(files) == 0 {
		t.Fatalf("prosodyoracle: no corpus configs: %v", err)
	}
	return files
}
