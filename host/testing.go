package host

import (
	_ "embed"
	"errors"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

//go:embed testing.lua
var testingSource string

// testingLibrary is "modhost.testing", offered to Lua only when
// Options.Testing is set (modhost test): specs log standalone users in
// through it, on the same sessions code as Runtime.Login. It is not part of
// the Prosody API, so a plugin never sees it in production.
func (rt *Runtime) testingLibrary() lua.Library {
	return lua.Library{Name: "modhost.testing", Open: func(L *glua.LState) int {
		api, err := rt.sessionsAPI(L)
		if err == nil {
			var rets []glua.LValue
			rets, err = lua.DoChunk(L, testingSource, "host/testing.lua", 1, api)
			if err == nil {
				if t, ok := rets[0].(*glua.LTable); ok {
					L.Push(t)
					return 1
				}
				err = errors.New("host/testing.lua returned no table")
			}
		}
		L.RaiseError("modhost.testing: %s", lua.ErrorMessage(err))
		return 0
	}}
}
