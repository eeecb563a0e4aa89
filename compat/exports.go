package compat

import (
	"os"
	"path/filepath"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// The API plugins' Go halves use (plugins/mod_NAME/*.go): the same JSON
// decoding and JID preparation the Lua libraries give plugins, so that a
// plugin's Go reader and its Lua reader cannot disagree.

// DecodeJSON decodes src as util.json.decode does: the value, or nil and the
// error util.json returns. null and arrayMT are util.json's null sentinel and
// array metatable. With a nil L it touches no Lua state and may run on any
// goroutine; nesting too deep is then a failure, not a raise.
func DecodeJSON(L *glua.LState, src string, null *glua.LTable, arrayMT glua.LValue) (glua.LValue, glua.LValue) {
	return decodeJSON(L, src, null, arrayMT)
}

// IsJSONSpace reports whether c is whitespace in JSON (RFC 8259 §2).
func IsJSONSpace(c byte) bool { return isJSONSpace(c) }

// NewTable allocates a Lua table with room for acap array and hcap hash
// entries. It needs no Lua state, so it is safe off the loop.
func NewTable(acap, hcap int) *glua.LTable { return newJSONTable(acap, hcap) }

// PrepJID prepares j as util.jid.prep does (nameprep, nodeprep,
// resourceprep; not strict) and returns the prepared JID and whether it has
// a resource; ok is false when j is not a valid JID.
func PrepJID(j string) (prepped string, hasResource, ok bool) {
	p, ok := prepJID(j, false)
	if !ok {
		return "", false, false
	}
	return p.join(), p.hasResource, true
}

// Nameprep prepares a domain name as util.encodings.stringprep.nameprep does
// (RFC 3491 with ICU's Unicode 3.2 tables; not strict): "Straße.example"
// becomes "strasse.example". ok is false where Prosody's returns nil.
func Nameprep(name string) (prepared string, ok bool) {
	return nameprepProfile.prepare(name, false)
}

// Nodeprep prepares s as util.encodings.stringprep.nodeprep does (not
// strict); ok is false when nodeprep refuses it.
func Nodeprep(s string) (prepped string, ok bool) { return nodeprepProfile.prepare(s, false) }

// DatamanagerPath is where Prosody's util.datamanager keeps user's data of
// store on host under root (getpath): root/HOST/STORE/USER.EXT, or
// root/HOST/STORE.EXT without a user; ext is "dat" for keyval data, "list"
// for lists.
func DatamanagerPath(root string, user *string, host, store, ext string) string {
	p, _ := (&dmState{dataPath: root}).path(user, &host, store, ext, false)
	return p
}

// DatamanagerUsers are the users with a STORE/USER.EXT file of store on
// host under root, decoded, as util.datamanager.users lists them.
func DatamanagerUsers(root, host, store, ext string) ([]string, error) {
	entries, err := os.ReadDir(filepath.FromSlash(root + "/" + dmEncode(host) + "/" + dmStoreEncode(store)))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), "."+ext); ok && !e.IsDir() {
			names = append(names, dmDecode(name))
		}
	}
	return names, nil
}

// DatamanagerText is v as util.datamanager.store writes a keyval file:
// "return <v serialised as Lua>;\n".
func DatamanagerText(v glua.LValue) (string, error) {
	text, err := serializeLua(v)
	if err != nil {
		return "", err
	}
	return "return " + text + ";\n", nil
}

// LoadDatamanagerFile runs a keyval file written by util.datamanager (or
// DatamanagerText) in an empty environment, as Prosody loads it, and
// returns its value; missing reports that the file does not exist.
func LoadDatamanagerFile(L *glua.LState, path string) (v glua.LValue, missing bool, err error) {
	return runDataFile(L, path, L.NewTable())
}
