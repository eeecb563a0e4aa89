package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/modhost/modhost/plugins"
)

// moduleSearch finds a module's file as Prosody 0.12's util.pluginloader
// does: folder by folder, and in each folder the six layouts of layouts().
// The folders, in order (searchFolders):
//
//  1. the installer's folder, installer_plugin_path (default
//     custom_plugins) under the installed Prosody's data folder, where
//     `prosodyctl install` writes: Prosody puts it first;
//  2. the config's plugin_paths, then Options.PluginPaths;
//  3. the bundled plugins;
//  4. the installed Prosody's own plugin folder (Debian:
//     /usr/lib/prosody/modules, which holds prosody-modules too).
//
// The bundled plugins stand where Prosody's own folder begins (before it
// even when plugin_paths names it): they are modhost's versions of modules
// Prosody ships there (storage_memory, http_files) and must win over those,
// which are written for the server; plugin_paths before that point can
// still replace them, as plugin_paths replace Prosody's own modules.
type moduleSearch struct {
	folders    []searchFolder
	luaVersion string
	bundled    fs.FS
}

// searchFolder is one folder of the search and why it is searched.
type searchFolder struct {
	dir  string // absolute; bundledDir for the bundled plugins
	from string // "installer_plugin_path", "plugin_paths", …
}

const (
	bundledDir    = "bundled:plugins"
	bundledPrefix = bundledDir + "/"
)

// Why a folder is searched, as check prints it.
const (
	fromInstaller = "installer_plugin_path"
	fromConfig    = "plugin_paths"
	fromOptions   = "Options.PluginPaths"
	fromBundled   = "modhost's bundled plugins"
	fromProsody   = "the installed Prosody's"
)

// searchFolders lists the folders of the search (see moduleSearch), each
// once. pluginPaths are absolute already.
func searchFolders(installerPath string, pluginPaths, optionPaths []string, in *ProsodyInstall) []searchFolder {
	var folders []searchFolder
	seen := map[string]bool{}
	add := func(dir, from string) {
		dir = filepath.Clean(dir)
		if !seen[dir] {
			seen[dir] = true
			folders = append(folders, searchFolder{dir: dir, from: from})
		}
	}
	if installerPath != "" {
		add(installerPath, fromInstaller)
	}
	for _, d := range pluginPaths {
		add(d, fromConfig)
	}
	for _, d := range optionPaths {
		add(d, fromOptions)
	}
	var prosodyDirs []string
	if in != nil {
		for _, d := range in.PluginDirs {
			prosodyDirs = append(prosodyDirs, filepath.Clean(d))
		}
	}
	for _, d := range prosodyDirs {
		add(d, fromProsody)
	}
	bundled := searchFolder{dir: bundledDir, from: fromBundled}
	for i, f := range folders {
		for _, d := range prosodyDirs {
			if sameFolder(f.dir, d) {
				if f.from != fromProsody {
					folders[i].from = f.from + ": " + fromProsody
				}
				return append(folders[:i], append([]searchFolder{bundled}, folders[i:]...)...)
			}
		}
	}
	return append(folders, bundled)
}

// sameFolder compares two cleaned folder names, through symbolic links
// when both exist.
func sameFolder(a, b string) bool {
	if a == b {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// installerFolder is where Prosody's util.startup puts the installer's
// folder: installer_plugin_path (default custom_plugins), relative to the
// installed Prosody's data folder; "" when it is relative and there is no
// installed Prosody.
func installerFolder(option any, in *ProsodyInstall) string {
	p, _ := option.(string)
	if p == "" {
		p = "custom_plugins"
	}
	if filepath.IsAbs(p) {
		return p
	}
	if in == nil || in.DataDir == "" {
		return ""
	}
	return filepath.Join(in.DataDir, p)
}

func newModuleSearch(folders []searchFolder, luaVersion string) *moduleSearch {
	if luaVersion == "" {
		luaVersion = defaultLuaVersion
	}
	return &moduleSearch{folders: folders, luaVersion: luaVersion, bundled: plugins.FS}
}

// layouts are the names util.pluginloader tries for resource of plugin in
// each folder, in its order: for mod_hello, mod_hello/hello/mod_hello.lua,
// mod_hello/mod_hello.lua, hello/mod_hello.lua, mod_hello.lua, and the
// LuaRocks trees `prosodyctl install` writes, share/lua/5.4/mod_hello.lua
// and share/lua/5.4/mod_hello/mod_hello.lua.
func (s *moduleSearch) layouts(plugin, resource string) []string {
	share := "share/lua/" + s.luaVersion
	return []string{
		"mod_" + plugin + "/" + plugin + "/" + resource,
		"mod_" + plugin + "/" + resource,
		plugin + "/" + resource,
		resource,
		share + "/" + resource,
		share + "/mod_" + plugin + "/" + resource,
	}
}

// layoutNames are the layouts searched for module name.
func (s *moduleSearch) layoutNames(name string) []string {
	return s.layouts(name, "mod_"+name+".lua")
}

func (f searchFolder) file(rel string) string {
	if f.dir == bundledDir {
		return bundledPrefix + rel
	}
	return filepath.Join(f.dir, filepath.FromSlash(rel))
}

// folderNames lists the folders searched, each with why, and whether it
// is there at all: for MISSING.
func (s *moduleSearch) folderNames() []string {
	out := make([]string, 0, len(s.folders))
	for _, f := range s.folders {
		note := ""
		if f.dir != bundledDir {
			switch st, err := os.Stat(f.dir); {
			case errors.Is(err, fs.ErrNotExist):
				note = "; not there"
			case err != nil:
				note = "; cannot be read: " + err.Error()
			case !st.IsDir():
				note = "; not a folder"
			}
		}
		out = append(out, f.dir+" ("+f.from+note+")")
	}
	return out
}

// candidates lists, in order, every file name tried for a module.
func (s *moduleSearch) candidates(name string) []string {
	var out []string
	for _, f := range s.folders {
		for _, rel := range s.layoutNames(name) {
			out = append(out, f.file(rel))
		}
	}
	return out
}

// find returns the source of module name and the file it came from, or
// fs.ErrNotExist; searched lists every file tried.
func (s *moduleSearch) find(name string) (src []byte, where string, searched []string, err error) {
	if !validModuleName(name) {
		return nil, "", nil, fmt.Errorf("invalid module name %q", name)
	}
	searched = s.candidates(name)
	src, where, err = s.first(func(yield func(searchFolder, string) bool) {
		for _, f := range s.folders {
			for _, rel := range s.layoutNames(name) {
				if !yield(f, rel) {
					return
				}
			}
		}
	})
	return src, where, searched, err
}

// locate says where module name would be found without reading it: ""
// when nowhere.
func (s *moduleSearch) locate(name string) string {
	if !validModuleName(name) {
		return ""
	}
	_, where, _, err := s.find(name)
	if err != nil {
		return ""
	}
	return where
}

// first reads the first of the files files yields that is there, skipping
// what Prosody's io.open-and-read skips: a missing file, a folder, a path
// through a file, a folder that does not exist or cannot be entered. Other
// errors (a file that cannot be read) stop the search.
func (s *moduleSearch) first(files func(yield func(searchFolder, string) bool)) (src []byte, where string, err error) {
	usable := map[string]bool{}
	err = fs.ErrNotExist
	files(func(f searchFolder, rel string) bool {
		p := f.file(rel)
		if f.dir == bundledDir {
			b, rerr := fs.ReadFile(s.bundled, path.Clean(rel))
			if rerr == nil {
				src, where, err = b, p, nil
				return false
			}
			return true
		}
		ok, known := usable[f.dir]
		if !known {
			st, serr := os.Stat(f.dir)
			ok = serr == nil && st.IsDir()
			usable[f.dir] = ok
		}
		if !ok {
			return true
		}
		b, rerr := os.ReadFile(p)
		switch {
		case rerr == nil:
			src, where, err = b, p, nil
			return false
		case notThere(rerr):
			return true
		default:
			where, err = p, fmt.Errorf("read %s: %w", p, rerr)
			return false
		}
	})
	return src, where, err
}

// source reads a file the search found (bundled or not), nil when it
// cannot: for messages that quote a line.
func (s *moduleSearch) source(p string) []byte {
	var b []byte
	var err error
	if rel, ok := strings.CutPrefix(p, bundledPrefix); ok {
		b, err = fs.ReadFile(s.bundled, rel)
	} else {
		b, err = os.ReadFile(p)
	}
	if err != nil {
		return nil
	}
	return b
}

// notThere is an error that means "no such file here" to a search.
func notThere(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// findLib finds NAME.lib.lua for module:require(NAME) in module plugin, as
// util.pluginloader's load_code_ext does: the layouts of plugin for
// NAME.lib.lua in every folder, then for NAME.lua, then the layouts of a
// plugin called NAME for NAME.lib.lua (so mod_carbons_adhoc's
// module:require "adhoc" finds Prosody's adhoc/adhoc.lib.lua).
func (s *moduleSearch) findLib(plugin, lib string) (src []byte, where string, err error) {
	passes := [][2]string{{plugin, lib + ".lib.lua"}, {plugin, lib + ".lua"}, {lib, lib + ".lib.lua"}}
	return s.first(func(yield func(searchFolder, string) bool) {
		for _, pass := range passes {
			for _, f := range s.folders {
				for _, rel := range s.layouts(pass[0], pass[1]) {
					if !yield(f, rel) {
						return
					}
				}
			}
		}
	})
}

// describe says where a search looked, for messages: the layouts tried for
// module name (or resource) and every folder.
func (s *moduleSearch) describe(layouts []string) string {
	return "as " + strings.Join(layouts, ", ") + " in " + strings.Join(s.folderNames(), ", ")
}

// validModuleName keeps module names to what can be a file name part, so a
// name from a config cannot walk out of a plugin folder.
func validModuleName(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return name != "." && name != ".." && !containsDotDot(name)
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return true
		}
	}
	return false
}

// shadowed lists the files of module name, after the one the search found
// (where), that the search did not load: Prosody's own copy of a module
// modhost bundles (http_files, storage_memory), for check to say which won.
func (s *moduleSearch) shadowed(name, where string) []string {
	if !validModuleName(name) {
		return nil
	}
	var out []string
	past := false
	for _, f := range s.folders {
		for _, rel := range s.layoutNames(name) {
			p := f.file(rel)
			if p == where {
				past = true
				continue
			}
			if !past || f.dir == bundledDir {
				continue
			}
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				out = append(out, p)
			}
		}
	}
	return out
}
