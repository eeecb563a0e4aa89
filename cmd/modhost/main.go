// Command modhost runs Prosody plugins outside Prosody.
//
//	modhost run   --config prosody.cfg.lua   load the config and serve until SIGINT/SIGTERM
//	modhost check --config prosody.cfg.lua   report, per host, what would load; exit 1 on problems
//	modhost test  [--config FILE] [flags] [spec files or folders]
//	                                        run busted-style specs inside the runtime
//
// The work is done by package host; this file only reads arguments.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: modhost <command> [flags]

commands:
  run    --config FILE   load a prosody.cfg.lua and run its plugins until stopped
  check  --config FILE   show, per host, which modules load, are skipped, disabled or missing
  test   [--config FILE] [--filter P] [--pattern P] [-v] [paths...]
                         run busted-style specs (default folder: spec)
  version                print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "test":
		return cmdTest(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "modhost", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "modhost: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
