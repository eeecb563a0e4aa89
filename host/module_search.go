package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/modhost/modhost/plugins"
)

// moduleSearch finds mod_NAME.lua in the config's plugin_paths, then in the
// bundled plugins, as Prosody searches plugin_paths and then its own folder.
type moduleSearch struct {
	dirs    []string // absolute
	bundled fs.FS
}

const bundledPrefix = "bundled:plugins/"

func newModuleSearch(dirs []string) *moduleSearch {
	return &moduleSearch{dirs: dirs, bundled: plugins.FS}
}

// candidates lists, in order, every file name tried for a module.
func (s *moduleSearch) candidates(name string) []string {
	var out []string
	for _, d := range s.dirs {
		out = append(out,
			filepath.Join(d, "mod_"+name+".lua"),
			filepath.Join(d, "mod_"+name, "mod_"+name+".lua"))
	}
	out = append(out,
		bundledPrefix+"mod_"+name+".lua",
		bundledPrefix+"mod_"+name+"/mod_"+name+".lua")
	return out
}

// find returns the source of module name and the path it came from, or the
// list of every path searched.
func (s *moduleSearch) find(name string) (src []byte, where string, searched []string, err error) {
	if !validModuleName(name) {
		return nil, "", nil, fmt.Errorf("invalid module name %q", name)
	}
	searched = s.candidates(name)
	for _, p := range searched {
		b, err := s.read(p)
		if err == nil {
			return b, p, searched, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, p, searched, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return nil, "", searched, fs.ErrNotExist
}

// findLib looks for NAME.lib.lua next to the module at modulePath, then in
// every plugin path and the bundled plugins (module:require).
func (s *moduleSearch) findLib(modulePath, name string) ([]byte, string, []string) {
	var tries []string
	if modulePath != "" {
		if len(modulePath) > len(bundledPrefix) && modulePath[:len(bundledPrefix)] == bundledPrefix {
			tries = append(tries, path.Join(path.Dir(modulePath), name+".lib.lua"))
		} else {
			tries = append(tries, filepath.Join(filepath.Dir(modulePath), name+".lib.lua"))
		}
	}
	for _, d := range s.dirs {
		tries = append(tries, filepath.Join(d, name+".lib.lua"))
	}
	tries = append(tries, bundledPrefix+name+".lib.lua")
	for _, p := range tries {
		if b, err := s.read(p); err == nil {
			return b, p, tries
		}
	}
	return nil, "", tries
}

func (s *moduleSearch) read(p string) ([]byte, error) {
	if len(p) > len(bundledPrefix) && p[:len(bundledPrefix)] == bundledPrefix {
		return fs.ReadFile(s.bundled, p[len(bundledPrefix):])
	}
	return os.ReadFile(p)
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
