// Command modhost runs Prosody plugins outside Prosody.
//
//	modhost run   --config prosody.cfg.lua   load the config and serve until SIGINT/SIGTERM
//	modhost check --config prosody.cfg.lua   report, per host, what would load; exit 1 on problems
//	modhost test  [--config FILE] [flags] [spec files or folders]
//	                                        run busted-style specs inside the runtime
//	modhost prosody-snippet --config FILE   the XMPP server's side of the link
//	modhost export-plugins DIR              write the bundled plugins for the server
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
  check  --config FILE [-v]
                         show, per host, which modules load, are skipped, disabled or missing
  test   [--config FILE] [--filter P] [--pattern P] [-v] [-o json] [paths...]
                         run busted-style specs (default folder: spec)
  prosody-snippet --config FILE [--server prosody|ejabberd|both] [--plugins-dir DIR]
                         print the XMPP server's side of the component link
  export-plugins DIR     write the bundled plugins to DIR (the server loads block_subscriptions)
  version                print the version

run flags for the XMPP link (override the host's component_client option):
  --component-addr, --component-jid, --component-secret, --component-secret-file
  (env MODHOST_COMPONENT_ADDR, _JID, _SECRET, _SECRET_FILE)

run and check: --prosody-plugin-dir DIR|none (env MODHOST_PROSODY_PLUGIN_DIR)
  the installed Prosody's plugin folder, searched after the bundled plugins
  (default: found from the prosody launcher, else /usr/lib/prosody/modules)
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
	case "prosody-snippet":
		return cmdProsodySnippet(args[1:], stdout, stderr)
	case "export-plugins":
		return cmdExportPlugins(args[1:], stdout, stderr)
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
