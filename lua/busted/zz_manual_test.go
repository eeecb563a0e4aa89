package busted_test

import (
	"os"
	"strings"
	"testing"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/lua/busted"
)

func TestManual(t *testing.T) {
	if os.Getenv("SPECS") == "" {
		t.Skip()
	}
	code := busted.Main(strings.Fields(os.Getenv("SPECS")), func() *lua.Loop { return lua.NewLoop(lua.Options{Libraries: compat.Libraries()}) }, os.Stdout, os.Stderr)
	t.Log("exit", code)
}
