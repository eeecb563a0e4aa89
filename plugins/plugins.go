// Package plugins holds the plugins bundled with modhost (mod_*.lua), embedded
// into the binary so that it runs with nothing but its config file. They are
// searched after the config's plugin_paths, as Prosody searches its own
// plugins folder last.
package plugins

import "embed"

// FS holds every bundled mod_*.lua, at its top level or in a folder of its
// own name (mod_NAME/mod_NAME.lua).
//
//go:embed *.lua
var FS embed.FS
