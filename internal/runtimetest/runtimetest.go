// Package runtimetest starts standalone modhost runtimes for tests: a config
// of the test's own in a temp folder, HTTP on a loopback port the system
// picks, stopped when the test ends.
package runtimetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modhost/modhost/host"
)

// Start starts a runtime on config (global options and hosts, as in a
// prosody.cfg.lua) with the given plugin_paths and stanza sink (either may be
// nil). Logs go to logs at debug level, or to stderr from WARN up when logs
// is nil. The test fails if any module does not load.
func Start(t testing.TB, config string, pluginPaths []string, sink host.StanzaSink, logs io.Writer) *host.Runtime {
	t.Helper()
	dir := t.TempDir()
	src := "http_ports = { 0 }\nhttp_interfaces = { \"127.0.0.1\" }\n" + config
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return StartWith(t, host.Options{
		ConfigSource: src,
		ConfigName:   filepath.Join(dir, "modhost.cfg.lua"),
		PluginPaths:  pluginPaths,
		Logger:       logger,
		Sink:         sink,
	})
}

// StartWith starts a runtime with opts as they are, stopped when the test
// ends; the test fails if any module does not load.
func StartWith(t testing.TB, opts host.Options) *host.Runtime {
	t.Helper()
	rt, err := host.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	if !report.OK() {
		t.Fatalf("modules did not load: %+v", report)
	}
	return rt
}
