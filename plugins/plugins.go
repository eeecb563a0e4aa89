// Package plugins holds the plugins bundled with modhost, one folder each
// (mod_NAME/mod_NAME.lua beside its README, tests and, where it has one, its
// Go half), embedded into the binary so that it runs with nothing but its
// config file. They are searched after the config's plugin_paths and just
// before the installed Prosody's own folder, which Prosody searches last
// (host/module_search.go).
package plugins

import (
	"embed"

	"github.com/modhost/modhost/lua"
	rosteradmin "github.com/modhost/modhost/plugins/mod_http_roster_admin"
	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// FS holds every bundled plugin as mod_NAME/mod_NAME.lua, with the
// libraries it loads with module:require (mod_NAME/LIB.lib.lua).
//
//go:embed mod_*/mod_*.lua mod_*/*.lib.lua
var FS embed.FS

//go:embed mod_http_files/files.lib.lua
var httpFilesLib string

// Libraries are the Go libraries of the bundled plugins, for the runtime to
// offer beside Prosody's (compat.Libraries). Each plugin's folder says what
// its library is for.
func Libraries() []lua.Library {
	return []lua.Library{rosteradmin.Library(), storagememory.Library(),
		// Prosody's net.http.files, for the modules that serve a folder of
		// their own (mod_http_libjs, mod_register_apps, mod_invites_page).
		{Name: "net.http.files", Source: httpFilesLib, Chunkname: "plugins/mod_http_files/files.lib.lua"}}
}
