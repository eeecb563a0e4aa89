// Command modhost-bench measures the roster-admin workload three setups in one
// run: mod_http_roster_admin inside Prosody 0.12 (A), modhost standalone (B)
// and modhost linked to Prosody as its component (C). See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/modhost/modhost/cmd/modhost-bench/benchrun"
)

// serveRuntime is the hidden subcommand the bench starts itself with to host
// modhost's runtime in a process of its own.
const serveRuntime = "serve-runtime"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == serveRuntime {
		if err := benchrun.ServeChild(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "modhost-bench runtime:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts := benchrun.Defaults()
	fs := flag.NewFlagSet("modhost-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&opts.Users, "users", opts.Users, "online users (N)")
	fs.IntVar(&opts.Contacts, "contacts", opts.Contacts, "contacts in every roster")
	fs.IntVar(&opts.Rounds, "rounds", opts.Rounds, "refresh requests naming every online user (R)")
	fs.IntVar(&opts.Logins, "logins", opts.Logins, "timed logins (M)")
	fs.IntVar(&opts.Concurrent, "concurrent", opts.Concurrent, "simultaneous refresh requests against modhost standalone (0: skip)")
	fs.IntVar(&opts.ConcurrentUsers, "concurrent-users", opts.ConcurrentUsers, "users named by each simultaneous request")
	fs.StringVar(&opts.Setups, "setups", opts.Setups, "which setups to run: A (Prosody + plugin), B (modhost standalone), C (modhost linked)")
	fs.DurationVar(&opts.Timeout, "timeout", opts.Timeout, "bound on the whole run")
	fs.DurationVar(&opts.RefreshDeadline, "refresh-deadline", opts.RefreshDeadline, "the plugin's refresh request deadline (http_roster_admin_deadline), every setup")
	fs.BoolVar(&opts.ProsodyNoDelay, "prosody-nodelay", opts.ProsodyNoDelay,
		"Prosody with network_settings = { nagle = false } (A, C): logins timed without the ~40 ms a roster result waits at Prosody's default")
	verbose := fs.Bool("v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "modhost-bench: unexpected arguments %v\n", fs.Args())
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "modhost-bench: find own binary:", err)
		return 1
	}
	opts.RuntimeCommand = []string{self, serveRuntime}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	report, err := benchrun.Run(ctx, opts)
	if err != nil {
		if errors.Is(err, benchrun.ErrProsodyMissing) {
			fmt.Fprintln(stderr, "modhost-bench:", err)
			return 1
		}
		fmt.Fprintln(stderr, "modhost-bench:", err)
		return 1
	}
	report.Print(stdout)
	if n := report.Failed(); n > 0 {
		fmt.Fprintf(stderr, "modhost-bench: %d requests failed\n", n)
		return 1
	}
	return 0
}
