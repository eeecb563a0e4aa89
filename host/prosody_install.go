package host

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// ProsodyInstall is an installed Prosody, as far as modhost's module search
// needs it: its own plugin folder (where Debian's prosody-modules puts the
// community modules too), its data folder (where `prosodyctl install`
// writes, below installer_plugin_path) and the Lua version it runs on (its
// share/lua/VERSION trees).
type ProsodyInstall struct {
	// PluginDirs are the launcher's CFG_PLUGINDIR, split at ";":
	// /usr/lib/prosody/modules on Debian.
	PluginDirs []string
	// DataDir is the launcher's CFG_DATADIR (/var/lib/prosody on Debian),
	// against which Prosody resolves a relative installer_plugin_path (not
	// against data_path).
	DataDir string
	// LuaVersion is "5.4" for a Prosody run by lua5.4.
	LuaVersion string
	// From says where this was learnt: the launcher script read, or what
	// named the folder.
	From string
}

// defaultLuaVersion is what Debian's Prosody 0.12 runs on, used when the
// launcher does not name its Lua.
const defaultLuaVersion = "5.4"

// prosodyLaunchers are the scripts Prosody's packages and `make install`
// install, tried after the one on PATH.
var prosodyLaunchers = []string{"/usr/bin/prosody", "/usr/local/bin/prosody"}

// debianPluginDir is where Debian's prosody and prosody-modules put their
// modules, used when no launcher is found.
const debianPluginDir = "/usr/lib/prosody/modules"

// DetectProsody finds the installed Prosody: the first launcher script
// (prosody on PATH, /usr/bin/prosody, /usr/local/bin/prosody) that sets
// CFG_PLUGINDIR, else Debian's /usr/lib/prosody/modules if it exists. It
// returns nil when there is none.
func DetectProsody() *ProsodyInstall {
	tried := map[string]bool{}
	launchers := prosodyLaunchers
	if p, err := exec.LookPath("prosody"); err == nil {
		launchers = append([]string{p}, launchers...)
	}
	for _, l := range launchers {
		if tried[l] {
			continue
		}
		tried[l] = true
		if in := readLauncher(l); in != nil {
			return in
		}
	}
	if st, err := os.Stat(debianPluginDir); err == nil && st.IsDir() {
		return &ProsodyInstall{PluginDirs: []string{debianPluginDir}, DataDir: "/var/lib/prosody",
			LuaVersion: defaultLuaVersion, From: debianPluginDir}
	}
	return nil
}

var (
	launcherSetting = regexp.MustCompile(`^(CFG_PLUGINDIR|CFG_DATADIR)\s*=\s*(?:'([^']*)'|"([^"]*)")`)
	launcherLua     = regexp.MustCompile(`^#!.*\blua(5\.[1-9])\b`)
)

// readLauncher reads the CFG_ settings a Prosody launcher script starts
// with (/usr/bin/prosody: CFG_PLUGINDIR='/usr/lib/prosody/modules/') and
// the Lua its #! line names; nil when the file sets no CFG_PLUGINDIR.
func readLauncher(file string) *ProsodyInstall {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	in := &ProsodyInstall{LuaVersion: defaultLuaVersion, From: file}
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 100; n++ {
		line := sc.Text()
		if m := launcherLua.FindStringSubmatch(line); n == 0 && m != nil {
			in.LuaVersion = m[1]
			continue
		}
		m := launcherSetting.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		value := m[2] + m[3]
		switch m[1] {
		case "CFG_PLUGINDIR":
			in.PluginDirs = splitPluginDirs(value)
		case "CFG_DATADIR":
			in.DataDir = filepath.Clean(value)
		}
	}
	if len(in.PluginDirs) == 0 {
		return nil
	}
	return in
}

// splitPluginDirs splits a ";"-separated folder list as util.pluginloader
// does, dropping empty entries and trailing separators.
func splitPluginDirs(list string) []string {
	var dirs []string
	for _, d := range strings.Split(list, ";") {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	return dirs
}

// ProsodyPluginDirNone, given as the installed Prosody's plugin folder
// (ProsodyWithPluginDir, MODHOST_PROSODY_PLUGIN_DIR), means no installed
// Prosody is searched.
const ProsodyPluginDirNone = "none"

// ProsodyWithPluginDir is the installed Prosody with its plugin folder(s)
// named by dirs (";"-separated) rather than detected: "" detects it all,
// "none" gives an empty ProsodyInstall (nothing searched). The data folder
// and Lua version still come from detection when there is an installed
// Prosody.
func ProsodyWithPluginDir(dirs string) *ProsodyInstall {
	switch dirs {
	case "":
		return DetectProsody()
	case ProsodyPluginDirNone:
		return &ProsodyInstall{From: ProsodyPluginDirNone}
	}
	in := &ProsodyInstall{LuaVersion: defaultLuaVersion}
	if d := DetectProsody(); d != nil {
		in.DataDir, in.LuaVersion = d.DataDir, d.LuaVersion
	}
	for _, d := range splitPluginDirs(dirs) {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		in.PluginDirs = append(in.PluginDirs, d)
	}
	in.From = dirs
	return in
}
