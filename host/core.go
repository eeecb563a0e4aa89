package host

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/modhost/modhost/lua"
)

// coreSources are the Lua half of Prosody's core (core.moduleapi,
// core.modulemanager, core.storagemanager, …). They live beside the runtime
// because every one of them calls the Go half through "modhost.native"
// (natives.go); compat holds Prosody's util.* and net.* libraries only.
//
//go:embed core/*.lua
var coreSources embed.FS

// coreLibraries returns core/*.lua as libraries named core.NAME.
func coreLibraries() []lua.Library {
	entries, _ := fs.ReadDir(coreSources, "core")
	libs := make([]lua.Library, 0, len(entries))
	for _, e := range entries {
		p := path.Join("core", e.Name())
		src, err := coreSources.ReadFile(p)
		if err != nil {
			panic(err) // embedded at build time: cannot fail
		}
		name := "core." + strings.TrimSuffix(e.Name(), ".lua")
		libs = append(libs, lua.Library{Name: name, Source: string(src), Chunkname: "host/" + p})
	}
	return libs
}
