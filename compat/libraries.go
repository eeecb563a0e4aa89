// Package compat holds modhost's implementations of the libraries Prosody 0.12
// plugins require by name (util.stanza, util.jid, net.http, cjson, lfs, …),
// one file per library: Lua sources under util/ (loaded as written), Go ones
// in files named after the library (util_json.go for util.json, net_http.go
// for net.http). compat/spec/ holds their busted spec suite, which also runs
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

//go:embed util
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
