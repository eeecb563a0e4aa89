// Package compat holds modhost's implementations of the libraries Prosody 0.12
// plugins require by name (util.stanza, util.jid, net.http, cjson, lfs, …),
// one file per library: Lua sources under util/ and socket/ (loaded as
// written), Go ones in files named after the library (util_json.go for
// util.json, net_http.go for net.http). compat/spec/ holds their busted spec suite, which also runs
// against Prosody's own libraries. Prosody's core.* modules live with the
// runtime (host/core), and plugins' own Go halves in their plugin's folder;
// exports.go is the small API those halves use.
package compat

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

//go:embed util socket net
var sources embed.FS

// goLibraries are the libraries implemented in Go, by their require name.
var goLibraries = map[string]glua.LGFunction{
	"modhost.xmlchars": openXMLChars,
	"util.xml":         openUtilXML,
	"util.hex":         openHex,
	"util.id":          openID,
	"util.logger":      openLogger,
	"util.random":      openRandom,
	"util.time":        openTime,
	"util.timer":       openTimer,
	"util.uuid":        openUUID,
	"net.http":         openNetHTTP,
	"modhost.loop":     openModhostLoop,
	"cjson":            openCJSON,
	"cjson.safe":       openCJSONSafe,
	"util.bitcompat":   openUtilBitcompat,
	"util.encodings":   openUtilEncodings,
	"util.hashes":      openUtilHashes,
	"util.jid":         openUtilJID,
	"util.json":        openUtilJSON,
	"util.pposix":      openUtilPposix,
	"lfs":              openLFS,
	"util.hmac":        openUtilHMAC,
	"util.strbitop":    openUtilStrbitop,
	"util.ringbuffer":  openUtilRingbuffer,
	"util.table":       openUtilTable,
	"util.datamanager": openUtilDatamanager,
	"modhost.xmlsax":   openXMLParser,
}

// loopLibraries need modhost's running loop (timers, I/O on its goroutine).
var loopLibraries = map[string]bool{
	"modhost.loop": true,
	"net.http":     true,
	"util.timer":   true,
	"util.async":   true,
}

// StandaloneLibraries are the libraries for a Lua state that has no loop,
// the config loader's: every library of Libraries, except that requiring
// one that needs the loop (net.http, util.timer, util.async, modhost.loop)
// raises an error saying so instead of failing later.
func StandaloneLibraries() []lua.Library {
	libs := Libraries()
	for i, lib := range libs {
		if loopLibraries[lib.Name] {
			name := lib.Name
			libs[i] = lua.Library{Name: name, Open: func(L *glua.LState) int {
				L.RaiseError("%s needs modhost's running loop and cannot be used while the config is read", name)
				return 0
			}}
		}
	}
	return libs
}

// Libraries returns every library in this package, Lua and Go, sorted by name.
func Libraries() []lua.Library {
	var libs []lua.Library
	// The tree is embedded in the binary: walking it cannot fail.
	_ = fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".lua" {
			return err
		}
		src, err := sources.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(strings.TrimSuffix(p, ".lua"), "/", ".")
		libs = append(libs, lua.Library{Name: name, Source: string(src), Chunkname: "compat/" + p})
		return nil
	})
	for name, open := range goLibraries {
		libs = append(libs, lua.Library{Name: name, Open: open})
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].Name < libs[j].Name })
	return libs
}
