package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/host/link"
	"github.com/modhost/modhost/lua"
	"github.com/modhost/modhost/lua/busted"
)

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", envOr("MODHOST_CONFIG", ""), "the prosody.cfg.lua to load (env MODHOST_CONFIG)")
}

// prosodyFlag names the installed Prosody's plugin folder, searched after
// the bundled plugins; "" detects it, "none" searches none.
func prosodyFlag(fs *flag.FlagSet) *string {
	return fs.String("prosody-plugin-dir", envOr("MODHOST_PROSODY_PLUGIN_DIR", ""),
		"the installed Prosody's plugin folder(s), ';'-separated, searched after the bundled plugins; \"none\" for none; default: found from the prosody launcher (env MODHOST_PROSODY_PLUGIN_DIR)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "modhost %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	cfg := configFlag(fs)
	prosodyDir := prosodyFlag(fs)
	verbose := fs.Bool("v", false, "also print the log lines of loading (info and up), after the report")
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	if *cfg == "" {
		fmt.Fprintln(stderr, "modhost check: --config FILE is required")
		return 2
	}
	// The report comes first and alone: what loading logs (every module
	// skipped, each failure with its traceback) is the report's matter,
	// kept for -v and printed after it.
	var logged bytes.Buffer
	quiet := slog.New(slog.DiscardHandler)
	if *verbose {
		quiet = slog.New(config.ConsoleHandler(&logged, slog.LevelInfo))
	}
	rt, err := host.New(host.Options{ConfigFile: *cfg, NoListen: true, Stderr: stderr, Logger: quiet,
		Prosody: host.ProsodyWithPluginDir(*prosodyDir)})
	if err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	report, err := rt.Start(ctx)
	rt.Stop(context.Background())
	defer func() {
		if *verbose && logged.Len() > 0 {
			fmt.Fprintf(stderr, "\nlog while loading:\n%s", logged.Bytes())
		}
	}()
	if err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	printReport(stdout, report)
	if !report.OK() {
		fmt.Fprintln(stdout, "\nproblems found: fix the missing or broken modules above (or disable them with modules_disabled)")
		return 1
	}
	if len(report.Warnings) > 0 {
		fmt.Fprintln(stdout, "\nconfig OK, with the warnings above")
		return 0
	}
	fmt.Fprintln(stdout, "\nconfig OK")
	return 0
}

// printReport prints check's report: per host what is loaded (and from
// where), skipped as server-side, disabled, missing (with every folder
// searched) or broken (file:line and what was missing), then the warnings.
func printReport(w io.Writer, report host.Report) {
	for i, h := range report.Hosts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		kind := "VirtualHost"
		if h.Component {
			kind = "Component"
		}
		fmt.Fprintf(w, "%s %q\n", kind, h.Name)
		if h.HostDisabled {
			fmt.Fprintln(w, "  disabled:    the whole host (enabled = false): Prosody does not activate it, nothing is loaded")
			continue
		}
		if len(h.Loaded) == 0 {
			fmt.Fprintln(w, "  loaded:      (none)")
		}
		for _, m := range h.Loaded {
			fmt.Fprintf(w, "  loaded:      %-24s %s\n", m.Name, m.File)
			for _, other := range m.Shadowed {
				fmt.Fprintf(w, "               %-24s (this copy won; not loaded: %s)\n", "", other)
			}
		}
		var listed []string
		for _, m := range h.Skipped {
			if m.Reason == "" {
				listed = append(listed, m.Name)
			}
		}
		if len(listed) > 0 {
			fmt.Fprintf(w, "  server-side: %s (skipped: the XMPP server runs these)\n", strings.Join(listed, ", "))
		}
		for _, m := range h.Skipped {
			if m.Reason != "" {
				fmt.Fprintf(w, "  server-side: %s (skipped, needs the XMPP server: %s)\n", m.Name, m.Reason)
			}
		}
		if len(h.Disabled) > 0 {
			fmt.Fprintf(w, "  disabled:    %s\n", strings.Join(h.Disabled, ", "))
		}
		for _, m := range h.Missing {
			fmt.Fprintf(w, "  MISSING:     %s: none of %s in:\n", m.Name, strings.Join(m.Layouts, ", "))
			for _, f := range m.Folders {
				fmt.Fprintf(w, "                 %s\n", f)
			}
		}
		for _, m := range h.Broken {
			fmt.Fprintf(w, "  BROKEN:      %s: %s\n", m.Name, firstLine(m.Error))
		}
	}
	if len(report.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, warning := range report.Warnings {
			fmt.Fprintf(w, "warning: %s\n", strings.ReplaceAll(warning, "\n", "\n         "))
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfg := configFlag(fs)
	prosodyDir := prosodyFlag(fs)
	lf := addLinkFlags(fs)
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	if *cfg == "" {
		fmt.Fprintln(stderr, "modhost run: --config FILE is required")
		return 2
	}
	rt, err := host.New(host.Options{ConfigFile: *cfg, Stderr: stderr, Prosody: host.ProsodyWithPluginDir(*prosodyDir), Link: link.Options{
		Addr: *lf.addr, JID: *lf.jid, Secret: *lf.secret, SecretFile: *lf.secretFile}})
	if err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	log := rt.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	report, err := rt.Start(startCtx)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	for _, h := range report.Hosts {
		if h.HostDisabled {
			log.Info("host disabled (enabled = false): nothing loaded", "host", h.Name)
			continue
		}
		names := make([]string, 0, len(h.Loaded))
		for _, m := range h.Loaded {
			names = append(names, m.Name)
		}
		log.Info("host ready", "host", h.Name, "modules", strings.Join(names, ","), "skipped", len(h.Skipped))
	}
	if !report.OK() {
		log.Error("some modules are missing or broken; running without them (see `modhost check`)")
	}
	// SIGHUP re-reads the config, as it makes Prosody do (mod_posix).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			log.Info("Received SIGHUP")
			// A config that does not load is logged by the reload itself,
			// and the one in use stays.
			_ = rt.ReloadConfig(ctx)
			continue
		case <-ctx.Done():
		case reason := <-rt.ShutdownRequested():
			log.Info("a module called prosody.shutdown", "reason", reason)
		}
		return shutdown(rt, log, stop)
	}
}

// cmdTest runs specs inside a runtime: the given config's hosts and
// modules, or a single VirtualHost "localhost" with memory storage.
func cmdTest(args []string, stdout, stderr io.Writer) int {
	var configFile string
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "modhost test: --config needs a file")
				return 2
			}
			configFile = args[i+1]
			i++
		case strings.HasPrefix(a, "--config="):
			configFile = strings.TrimPrefix(a, "--config=")
		default:
			rest = append(rest, a)
		}
	}
	var runtimes []*host.Runtime
	var startErr error
	newLoop := func() *lua.Loop {
		opts := host.Options{NoListen: true, Stderr: stderr, TestingLibrary: true}
		if configFile != "" {
			opts.ConfigFile = configFile
		} else {
			wd, _ := os.Getwd()
			opts.ConfigName = filepath.Join(wd, "modhost-test.cfg.lua")
			opts.ConfigSource = "log = { { levels = { min = \"warn\" }, to = \"console\" } }\nstorage = \"memory\"\nVirtualHost \"localhost\"\n"
		}
		rt, err := host.New(opts)
		if err == nil {
			_, err = rt.Start(context.Background())
		}
		if err != nil {
			startErr = err
			return lua.NewLoop(lua.Options{}) // Main reports the specs' failure to find the runtime
		}
		runtimes = append(runtimes, rt)
		return rt.Loop()
	}
	code := busted.Main(rest, newLoop, stdout, stderr)
	for _, rt := range runtimes {
		rt.Stop(context.Background())
	}
	if startErr != nil {
		fmt.Fprintf(stderr, "modhost test: %v\n", startErr)
		if !errors.Is(startErr, context.Canceled) {
			return 1
		}
	}
	return code
}
