package busted

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/modhost/modhost/lua"
)

// Exit codes of Main.
const (
	ExitOK     = 0 // every selected test passed (or was pending)
	ExitFailed = 1 // a failure or error, a spec file that did not load, or no test found
	ExitUsage  = 2 // bad flags or paths; nothing ran
)

// Main is `modhost test [flags] [paths]`: it parses args (without the
// command name), runs the specs on a loop from newLoop (closed afterwards)
// and returns the exit code. With no paths it runs the "spec" folder, as
// busted does.
//
// A run that finds no test at all exits 1: in CI a mistyped path or a filter
// that matches nothing must not pass silently.
func Main(args []string, newLoop func() *lua.Loop, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("modhost test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	var excludeTags string
	fs.StringVar(&opts.Filter, "filter", "", "run only tests whose full name matches this Lua pattern")
	fs.StringVar(&opts.FilterOut, "filter-out", "", "skip tests whose full name matches this Lua pattern")
	fs.StringVar(&opts.Pattern, "pattern", "_spec", "run files in folders whose name ends in `PATTERN`.lua")
	fs.StringVar(&excludeTags, "exclude-tags", DefaultExcludeTag, "skip tests tagged #TAG (comma-separated `tags`)")
	fs.DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "how long one test may wait")
	fs.BoolVar(&opts.Verbose, "v", false, "print each test's name and outcome")
	fs.BoolVar(&opts.Verbose, "verbose", false, "same as -v")
	fs.StringVar(&opts.Output, "o", "plain", "report `format`: plain, or json (every test's name, status, place and message)")
	fs.StringVar(&opts.Output, "output", "plain", "same as -o")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: modhost test [flags] [spec files or folders]")
		fs.PrintDefaults()
	}
	// Flags may come after paths too (`modhost test compat/spec -v`), as
	// busted allows; the flag package stops at the first path, so go on
	// from there.
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return ExitUsage
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		opts.Paths = append(opts.Paths, rest[0])
		rest = rest[1:]
	}
	if len(opts.Paths) == 0 {
		opts.Paths = []string{"spec"}
	}
	opts.ExcludeTags = []string{}
	for _, t := range strings.Split(excludeTags, ",") {
		if t = strings.TrimPrefix(strings.TrimSpace(t), "#"); t != "" {
			opts.ExcludeTags = append(opts.ExcludeTags, t)
		}
	}
	if opts.Output != "plain" && opts.Output != "json" {
		fmt.Fprintf(stderr, "modhost test: unknown output format %q (plain or json)\n", opts.Output)
		return ExitUsage
	}
	if _, err := specFiles(opts.Paths, opts.Pattern); err != nil {
		fmt.Fprintln(stderr, "modhost test:", err)
		return ExitUsage
	}
	opts.Out = stdout

	loop := newLoop()
	defer loop.Close(nil)
	sum, err := Run(context.Background(), loop, opts)
	if err != nil {
		fmt.Fprintln(stderr, "modhost test:", err)
		return ExitFailed
	}
	if sum.Ran() == 0 {
		fmt.Fprintln(stderr, "modhost test: no tests ran (check the paths, --pattern and --filter)")
		return ExitFailed
	}
	if !sum.OK() {
		return ExitFailed
	}
	return ExitOK
}
