package host

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/lua/busted"
)

func startTesting(t *testing.T, testingLib bool) *Runtime {
	t.Helper()
	rt, _ := startWith(t, Options{
		ConfigSource:   "log = { { levels = { min = \"error\" }, to = \"console\" } }\nstorage = \"memory\"\nVirtualHost \"example.com\"\n",
		NoListen:       true,
		TestingLibrary: testingLib,
	})
	return rt
}

func TestTestingLibraryLogsSpecsIn(t *testing.T) {
	rt := startTesting(t, true)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := busted.Run(ctx, rt.Loop(), busted.Options{Paths: []string{"testdata/spec/testing_spec.lua"}, Out: &out, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() || sum.Passed != 7 {
		t.Fatalf("spec run %+v:\n%s", sum, out.String())
	}
}

func TestTestingLibraryOnlyWhenAskedFor(t *testing.T) {
	rt := startTesting(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := rt.Loop().Do(ctx, func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `return require "modhost.testing"`, "probe", 1)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "modhost.testing") {
		t.Fatalf("require without Options.TestingLibrary = %v, want a module-not-found error", err)
	}
}

// The compat specs of the host's core libraries (core.configmanager, …)
// need a runtime; compat's own test runs the rest.
func TestCoreSpecsPassOnARuntime(t *testing.T) {
	rt := startTesting(t, false)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	files, err := filepath.Glob("../compat/spec/core_*_spec.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no core specs found (%v)", err)
	}
	sum, err := busted.Run(ctx, rt.Loop(), busted.Options{Paths: files, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Errorf("core specs: %+v\n%s", sum, out.String())
	}
}
