package host

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/internal/prosodyoracle"
)

func folderDirs(folders []searchFolder) []string {
	out := make([]string, 0, len(folders))
	for _, f := range folders {
		out = append(out, f.dir)
	}
	return out
}

func TestSearchFoldersFollowProsodyWithBundledBeforeItsOwnFolder(t *testing.T) {
	prosody := &ProsodyInstall{PluginDirs: []string{"/usr/lib/prosody/modules/"}, DataDir: "/var/lib/prosody", LuaVersion: "5.4"}
	tests := []struct {
		name         string
		installer    string
		pluginPaths  []string
		optionPaths  []string
		in           *ProsodyInstall
		want         []string
		prosodyLabel string // the from of the Prosody folder
	}{
		{"no installed Prosody: plugin_paths, then bundled", "", []string{"/etc/p"}, []string{"/opt/x"}, nil,
			[]string{"/etc/p", "/opt/x", bundledDir}, ""},
		{"installer, plugin_paths, bundled, Prosody's own", "/var/lib/prosody/custom_plugins", []string{"/etc/p"}, nil, prosody,
			[]string{"/var/lib/prosody/custom_plugins", "/etc/p", bundledDir, "/usr/lib/prosody/modules"}, fromProsody},
		{"Prosody's folder named in plugin_paths: bundled just before it, searched once", "",
			[]string{"/etc/p", "/usr/lib/prosody/modules", "/opt/later"}, nil, prosody,
			[]string{"/etc/p", bundledDir, "/usr/lib/prosody/modules", "/opt/later"}, fromConfig + ": " + fromProsody},
		{"an empty install searches no Prosody folder", "", []string{"/etc/p"}, nil, &ProsodyInstall{},
			[]string{"/etc/p", bundledDir}, ""},
		{"a folder named twice is searched once", "", []string{"/etc/p", "/etc/p/"}, []string{"/etc/p"}, nil,
			[]string{"/etc/p", bundledDir}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folders := searchFolders(tt.installer, tt.pluginPaths, tt.optionPaths, tt.in)
			if got := folderDirs(folders); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("folders %v, want %v", got, tt.want)
			}
			for _, f := range folders {
				if f.dir == "/usr/lib/prosody/modules" && f.from != tt.prosodyLabel {
					t.Errorf("Prosody's folder is searched as %q, want %q", f.from, tt.prosodyLabel)
				}
			}
		})
	}
}

func TestInstallerFolderResolvesAgainstProsodysDataFolder(t *testing.T) {
	in := &ProsodyInstall{DataDir: "/var/lib/prosody"}
	for _, tt := range []struct {
		option any
		in     *ProsodyInstall
		want   string
	}{
		{nil, in, "/var/lib/prosody/custom_plugins"},
		{"mine", in, "/var/lib/prosody/mine"},
		{"/srv/plugins", in, "/srv/plugins"},
		{"/srv/plugins", nil, "/srv/plugins"},
		{nil, nil, ""},
		{"mine", &ProsodyInstall{}, ""},
	} {
		if got := installerFolder(tt.option, tt.in); got != tt.want {
			t.Errorf("installerFolder(%v, %+v) = %q, want %q", tt.option, tt.in, got, tt.want)
		}
	}
}

func TestReadLauncherTakesDebiansSettings(t *testing.T) {
	dir := t.TempDir()
	launcher := filepath.Join(dir, "prosody")
	src := "#!/usr/bin/env lua5.4\n-- Prosody IM\nCFG_SOURCEDIR='/usr/lib/prosody';\nCFG_CONFIGDIR='/etc/prosody';\n" +
		"CFG_PLUGINDIR='/usr/lib/prosody/modules/;/opt/more';\nCFG_DATADIR='/var/lib/prosody';\n"
	if err := os.WriteFile(launcher, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	got := readLauncher(launcher)
	want := &ProsodyInstall{PluginDirs: []string{"/usr/lib/prosody/modules", "/opt/more"}, DataDir: "/var/lib/prosody", LuaVersion: "5.4", From: launcher}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readLauncher = %+v, want %+v", got, want)
	}
	if err := os.WriteFile(launcher, []byte("#!/bin/sh\nexec lua prosody.lua\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := readLauncher(launcher); got != nil {
		t.Errorf("a launcher without CFG_PLUGINDIR gives %+v", got)
	}
}

func TestProsodyWithPluginDir(t *testing.T) {
	if in := ProsodyWithPluginDir("none"); len(in.PluginDirs) != 0 || in.DataDir != "" {
		t.Errorf("none gives %+v", in)
	}
	in := ProsodyWithPluginDir("/opt/prosody/plugins;/opt/more/")
	if !reflect.DeepEqual(in.PluginDirs, []string{"/opt/prosody/plugins", "/opt/more"}) || in.LuaVersion == "" {
		t.Errorf("named folders give %+v", in)
	}
}

// corpusProsody is the installed Prosody as the corpus comparison sees it:
// Debian's plugin folder, the corpus's data folder (its installer trees).
func corpusProsody(t *testing.T) *ProsodyInstall {
	return &ProsodyInstall{PluginDirs: []string{prosodyoracle.SourceDir + "/modules"},
		DataDir: filepath.Join(prosodyoracle.Corpus(t), "data"), LuaVersion: "5.4"}
}

// compareFound wants modhost's search to find every module of res where
// Prosody's pluginloader finds it. Modules modhost does itself (http,
// storage_internal) are not searched; a bundled plugin that stands in for
// Prosody's own module (storage_memory, http_files) is found in the bundle
// where Prosody finds its own copy in its own folder.
func compareFound(t *testing.T, s *moduleSearch, res prosodyoracle.Result, prosodyDir string) {
	t.Helper()
	if len(res.Found) == 0 {
		t.Fatal("the oracle found no modules to compare")
	}
	for name, want := range res.Found {
		if builtInModules[name] {
			continue
		}
		got := s.locate(name)
		if strings.HasPrefix(got, bundledPrefix) {
			if want != "" && !strings.HasPrefix(want, prosodyDir+"/") {
				t.Errorf("mod_%s: modhost takes its bundled %s; Prosody finds %s, outside its own folder", name, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("mod_%s: modhost finds %q, Prosody's pluginloader %q", name, got, want)
		}
	}
}

// TestModuleSearchMatchesProsodysPluginloader runs every corpus config
// (every layout, the installer's trees, Prosody's folder in plugin_paths)
// and Debian's installed config through Prosody's own util.pluginloader
// and wants modhost's search to find each module in the same file.
func TestModuleSearchMatchesProsodysPluginloader(t *testing.T) {
	prosodyoracle.Require(t)
	configs := prosodyoracle.CorpusConfigs(t)
	if _, err := os.Stat("/etc/prosody/prosody.cfg.lua"); err == nil {
		configs = append(configs, "/etc/prosody/prosody.cfg.lua")
	}
	in := corpusProsody(t)
	for _, file := range configs {
		t.Run(filepath.Base(file), func(t *testing.T) {
			res := prosodyoracle.Run(t, file, prosodyoracle.Env{DataDir: in.DataDir})
			rt, err := New(Options{ConfigFile: file, NoListen: true, Prosody: in})
			if err != nil {
				t.Fatal(err)
			}
			compareFound(t, rt.search, res, in.PluginDirs[0])
		})
	}
}

// installedModules lists the modules in Prosody's installed folder (its
// own and Debian's prosody-modules), in the layouts Prosody finds.
func installedModules(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: scripts/install-deps installs prosody and prosody-modules)", err)
		}
		t.Skip(err)
	}
	var names []string
	for _, e := range entries {
		n := strings.TrimSuffix(strings.TrimPrefix(e.Name(), "mod_"), ".lua")
		if !validModuleName(n) || strings.HasSuffix(e.Name(), ".lib.lua") {
			continue
		}
		for _, rel := range []string{e.Name(), e.Name() + "/mod_" + n + ".lua", e.Name() + "/" + n + "/mod_" + n + ".lua"} {
			if st, err := os.Stat(filepath.Join(dir, rel)); err == nil && st.Mode().IsRegular() && strings.HasSuffix(rel, "mod_"+n+".lua") {
				names = append(names, n)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestInstalledCommunityModulesAreFoundWhereProsodyFindsThem enables every
// module of the installed /usr/lib/prosody/modules (Prosody's and Debian's
// prosody-modules) in a config that does not name the folder, and wants
// each found in the same file as Prosody's pluginloader finds it, and, once
// loaded, reported: server-side ones skipped with that file, the others
// loaded from it or broken with their error, none missing.
func TestInstalledCommunityModulesAreFoundWhereProsodyFindsThem(t *testing.T) {
	prosodyoracle.Require(t)
	dir := prosodyoracle.SourceDir + "/modules"
	names := installedModules(t, dir)
	var community int
	for _, n := range names {
		if n == "turncredentials" || n == "cloud_notify" {
			community++
		}
	}
	if community != 2 {
		t.Fatalf("turncredentials and cloud_notify not installed in %s (Debian's prosody-modules): %v", dir, names)
	}
	var src strings.Builder
	src.WriteString("storage = \"memory\"\nVirtualHost \"community.example\"\n\tmodules_enabled = {\n")
	for _, n := range names {
		src.WriteString("\t\t\"" + n + "\";\n")
	}
	src.WriteString("\t}\n")
	file := filepath.Join(t.TempDir(), "community.cfg.lua")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &ProsodyInstall{PluginDirs: []string{dir}, DataDir: t.TempDir(), LuaVersion: "5.4"}
	res := prosodyoracle.Run(t, file, prosodyoracle.Env{DataDir: in.DataDir})
	rt, report := startWith(t, Options{ConfigFile: file, NoListen: true, Prosody: in})
	compareFound(t, rt.search, res, dir)

	h := report.Hosts[0]
	for _, m := range h.Missing {
		t.Errorf("mod_%s missing; Prosody finds it at %q", m.Name, res.Found[m.Name])
	}
	skipped := map[string]string{}
	for _, m := range h.Skipped {
		skipped[m.Name] = m.File
		if !config.IsServerSide(m.Name) {
			t.Errorf("mod_%s skipped but not server-side", m.Name)
		}
		if m.File != res.Found[m.Name] {
			t.Errorf("server-side mod_%s reported at %q, Prosody finds it at %q", m.Name, m.File, res.Found[m.Name])
		}
	}
	for _, m := range h.Loaded {
		if config.IsServerSide(m.Name) {
			t.Errorf("server-side mod_%s loaded from %s", m.Name, m.File)
		}
	}
	for _, m := range h.Broken {
		if config.IsServerSide(m.Name) {
			t.Errorf("server-side mod_%s loaded and broken: %s", m.Name, m.Error)
		}
	}
	for _, n := range []string{"turncredentials", "cloud_notify", "roster", "c2s", "muc"} {
		if skipped[n] == "" {
			t.Errorf("mod_%s not reported as server-side where Prosody finds it (%q): %v", n, res.Found[n], skipped)
		}
	}
}

func writePlugins(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func reportOf(t *testing.T, dir, hosts string) HostReport {
	t.Helper()
	src := "plugin_paths = { \"" + dir + "\" }\nstorage = \"memory\"\n" + hosts
	_, report := startWith(t, Options{ConfigSource: src, ConfigName: filepath.Join(dir, "test.cfg.lua"),
		NoListen: true, Prosody: &ProsodyInstall{}})
	return report.Hosts[0]
}

func TestServerSideModulesAreSkippedWhereverFound(t *testing.T) {
	dir := writePlugins(t, map[string]string{
		"mod_roster.lua":          `error("a server-side module was loaded")`,
		"mod_disco/mod_disco.lua": `error("a server-side module was loaded")`,
	})
	h := reportOf(t, dir, "VirtualHost \"a.example\"\n\tmodules_enabled = { \"roster\", \"disco\", \"ping\" }\n")
	if len(h.Broken) != 0 || len(h.Loaded) != 0 || len(h.Missing) != 0 {
		t.Fatalf("server-side modules were loaded or searched for: %+v", h)
	}
	got := map[string]string{}
	for _, m := range h.Skipped {
		got[m.Name] = m.File
	}
	want := map[string]string{"roster": filepath.Join(dir, "mod_roster.lua"), "disco": filepath.Join(dir, "mod_disco", "mod_disco.lua"), "ping": ""}
	for name, file := range want {
		if f, ok := got[name]; !ok || f != file {
			t.Errorf("mod_%s: skipped %v at %q, want skipped at %q", name, ok, f, file)
		}
	}
}

func TestExternalComponentShowsProsodysComponentModuleAsServerSide(t *testing.T) {
	h := reportOf(t, t.TempDir(), "Component \"ext.example\"\n\tcomponent_secret = \"x\"\n")
	if len(h.Skipped) == 0 || h.Skipped[0].Name != "component" || !h.Component {
		t.Errorf("external component: %+v", h)
	}
}

func TestDependsOnBuiltInWorksAndOnServerSideSaysSo(t *testing.T) {
	dir := writePlugins(t, map[string]string{
		"mod_web_dep.lua":   `local http = module:depends("http"); assert(http and http.module, "no module for mod_http")`,
		"mod_disco_dep.lua": `module:depends("disco")`,
	})
	h := reportOf(t, dir, "VirtualHost \"a.example\"\n\tmodules_enabled = { \"web_dep\", \"disco_dep\", \"http\" }\n")
	loaded := map[string]string{}
	for _, m := range h.Loaded {
		loaded[m.Name] = m.File
	}
	if loaded["web_dep"] == "" || loaded["http"] != builtIn {
		t.Errorf("depends(\"http\") or enabling http: loaded %v, broken %+v", loaded, h.Broken)
	}
	// Needing a server-side module makes it need the server too: skipped, not broken.
	skipped := map[string]string{}
	for _, m := range h.Skipped {
		skipped[m.Name] = m.Reason
	}
	if len(h.Broken) != 0 || !strings.Contains(skipped["disco_dep"], "depends on mod_disco") {
		t.Errorf("depends on a server-side module: skipped %v, broken %+v", skipped, h.Broken)
	}
}

func TestRequireSearchesAsPluginloaderDoes(t *testing.T) {
	dir := writePlugins(t, map[string]string{
		// beside the module, in its own folder
		"mod_uses_own/mod_uses_own.lua": `assert(module:require("own").name == "own")`,
		"mod_uses_own/own.lib.lua":      `return { name = "own" }`,
		// another plugin's folder: adhoc/adhoc.lib.lua, as Prosody's own
		// folder holds it for mod_carbons_adhoc's module:require "adhoc"
		"mod_uses_other.lua":    `assert(module:require("shared").name == "shared")`,
		"shared/shared.lib.lua": `return { name = "shared" }`,
		// NAME.lua when there is no NAME.lib.lua
		"mod_uses_plain/mod_uses_plain.lua": `assert(module:require("plain").name == "plain")`,
		"mod_uses_plain/plain.lua":          `return { name = "plain" }`,
	})
	h := reportOf(t, dir, "VirtualHost \"a.example\"\n\tmodules_enabled = { \"uses_own\", \"uses_other\", \"uses_plain\" }\n")
	if len(h.Loaded) != 3 {
		t.Errorf("loaded %+v, broken %+v", h.Loaded, h.Broken)
	}
}

func TestRequireOfAMissingLibrarySaysWhereItLooked(t *testing.T) {
	dir := writePlugins(t, map[string]string{"mod_needs_lib.lua": `module:require("nolib")`})
	h := reportOf(t, dir, "VirtualHost \"a.example\"\n\tmodules_enabled = { \"needs_lib\" }\n")
	want := filepath.Join(dir, "mod_needs_lib.lua") + ":1: Failed to load plugin library 'nolib', error: not found (searched as nolib.lib.lua, nolib.lua in " + dir + " (plugin_paths), bundled:plugins (modhost's bundled plugins))"
	if len(h.Broken) != 1 || h.Broken[0].Error != want {
		t.Errorf("broken %+v, want\n%s", h.Broken, want)
	}
}
