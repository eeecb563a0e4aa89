// Command modhost-sweep loads, one by one, every module in an installed
// Prosody's plugin folder (Debian: /usr/lib/prosody/modules, which holds
// Prosody 0.12's own modules and Debian's prosody-modules) on a minimal
// config, starts each for a while (2 s) and prints, per module, loaded,
// skipped (server-side: modhost skips it) or failed with the first error,
// then a summary by cause: a missing library, a missing module API, missing
// runtime state, a C library modhost does not provide, a syntax error, a dependency on a server-side module, or
// another error.
//
//	make sweep                       # builds nothing else; about a minute
//	go run ./cmd/modhost-sweep -all  # also loads what modhost skips
//
// -all loads the modules config.IsServerSide names too (host.Options
// LoadServerSide), to see what they stop on: what the README's sweep
// figures call "skipped" is the rule's judgement, not a failure.
//
// Each module gets its own runtime, temporary folder and config
// (modules_enabled = { NAME } and one VirtualHost), without listening
// sockets. It is not part of `make test`: it takes minutes and reports
// rather than asserts.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modhost/modhost/host"
	"github.com/modhost/modhost/host/config"
)

func main() {
	dir := flag.String("dir", "/usr/lib/prosody/modules", "the plugin folder whose modules are swept")
	wait := flag.Duration("wait", 2*time.Second, "how long each loaded module runs before it is stopped")
	all := flag.Bool("all", false, "also load the modules modhost skips as server-side")
	only := flag.String("only", "", "sweep only the modules whose name matches this regular expression")
	jobs := flag.Int("j", 2, "modules swept at once")
	flag.Parse()
	names, err := moduleNames(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "modhost-sweep:", err)
		os.Exit(2)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "modhost-sweep: -only:", err)
			os.Exit(2)
		}
		kept := names[:0]
		for _, n := range names {
			if re.MatchString(n) {
				kept = append(kept, n)
			}
		}
		names = kept
	}
	community := communityModules()
	results := make([]result, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(*jobs, 1))
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = sweep(name, *dir, *wait, *all)
			results[i].community = community[name]
		}()
	}
	wg.Wait()
	for _, r := range results {
		origin := "prosody"
		if r.community {
			origin = "community"
		}
		switch r.outcome {
		case failed:
			fmt.Printf("%-8s %-28s %-9s %s: %s\n", r.outcome, r.name, origin, r.cause, r.err)
		case skipped:
			if r.err != "" {
				fmt.Printf("%-8s %-28s %-9s server-side: %s\n", r.outcome, r.name, origin, r.err)
			} else {
				fmt.Printf("%-8s %-28s %-9s server-side\n", r.outcome, r.name, origin)
			}
		default:
			fmt.Printf("%-8s %-28s %s\n", r.outcome, r.name, origin)
		}
	}
	printSummary(os.Stdout, results)
}

type outcome string

const (
	loaded  outcome = "loaded"
	skipped outcome = "skipped"
	failed  outcome = "failed"
)

// The causes a failure is counted under.
const (
	causeLibrary    = "missing library"
	causeCLibrary   = "needs a C library"
	causeAPI        = "missing module API"
	causeState      = "missing runtime state"
	causeSyntax     = "syntax"
	causeServerSide = "depends on a server-side module"
	causeOther      = "other"
)

type result struct {
	name      string
	community bool
	outcome   outcome
	cause     string
	err       string
}

// moduleNames lists the modules in dir: mod_NAME.lua files and mod_NAME
// folders, each name once, sorted.
func moduleNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "mod_")
		if !ok {
			continue
		}
		if !e.IsDir() {
			if n, ok = strings.CutSuffix(n, ".lua"); !ok {
				continue
			}
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// communityModules are the modules Debian's prosody-modules installs, from
// dpkg's file list (none when there is no such list).
func communityModules() map[string]bool {
	out := map[string]bool{}
	f, err := os.Open("/var/lib/dpkg/info/prosody-modules.list")
	if err != nil {
		return out
	}
	defer f.Close()
	re := regexp.MustCompile(`/modules/mod_([^/]+?)(?:\.lua)?(?:/|$)`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// sweep loads module name on a minimal config of its own and runs it for
// wait.
func sweep(name, dir string, wait time.Duration, all bool) result {
	r := result{name: name}
	tmp, err := os.MkdirTemp("", "modhost-sweep-")
	if err != nil {
		return r.fail(causeOther, err.Error())
	}
	defer os.RemoveAll(tmp)
	cfgFile := filepath.Join(tmp, "prosody.cfg.lua")
	cfg := fmt.Sprintf("data_path = %q\nmodules_enabled = { %q }\nVirtualHost \"localhost\"\n", filepath.Join(tmp, "data"), name)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return r.fail(causeOther, err.Error())
	}
	errs := &firstError{}
	rt, err := host.New(host.Options{ConfigFile: cfgFile, NoListen: true, Stderr: io.Discard,
		Logger: slog.New(errs), Prosody: host.ProsodyWithPluginDir(dir), LoadServerSide: all})
	if err != nil {
		return r.fail(causeOther, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	defer func() {
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer stopCancel()
		rt.Stop(stopCtx)
	}()
	if err != nil {
		return r.fail(causeOther, err.Error())
	}
	for _, h := range report.Hosts {
		for _, b := range h.Broken {
			if b.Name == name {
				return r.fail(classify(b.Error), b.Error)
			}
		}
		for _, m := range h.Missing {
			if m.Name == name {
				return r.fail(causeOther, "not found")
			}
		}
		for _, m := range h.Skipped {
			if m.Name == name {
				r.outcome, r.err = skipped, m.Reason
				return r
			}
		}
	}
	errs.reset()
	time.Sleep(wait)
	if msg := errs.get(); msg != "" {
		return r.fail(classify(msg), "while running: "+msg)
	}
	r.outcome = loaded
	return r
}

func (r result) fail(cause, msg string) result {
	r.outcome, r.cause, r.err = failed, cause, firstLine(msg)
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

var (
	libraryMissing = regexp.MustCompile(`require "([^"]+)": .* is not available in modhost|module ([^\s]+) not found`)
	dependency     = regexp.MustCompile(`Unable to load required module, mod_([^:]+):`)
	// check's words for a library that is a C library's work (cLibraries)
	cLibrary    = regexp.MustCompile(`is not available in modhost \(.*\bC (?:library|core|part)\b`)
	syntaxError = regexp.MustCompile(`syntax error|unexpected symbol|near '|<eof>`)
	// what was nil: `module:daily`, `prosody.shutdown`, …
	nilExpr = regexp.MustCompile("`([^`]+)` is (?:nil|not a function|a \\w+ value)")
)

// classify says which cause an error (one line, in check's words) is
// counted under.
func classify(msg string) string {
	if m := dependency.FindStringSubmatch(msg); m != nil && config.IsServerSide(m[1]) {
		return causeServerSide
	}
	switch {
	case libraryMissing.MatchString(msg) && cLibrary.MatchString(msg):
		return causeCLibrary + " " + libraryName(msg)
	case libraryMissing.MatchString(msg):
		return causeLibrary + " " + libraryName(msg)
	case syntaxError.MatchString(msg):
		return causeSyntax
	}
	if m := nilExpr.FindStringSubmatch(msg); m != nil {
		if strings.HasPrefix(m[1], "module") {
			return causeAPI + " " + m[1]
		}
		return causeState + " " + m[1]
	}
	if strings.Contains(msg, "method '") || strings.Contains(msg, "module:") {
		return causeAPI
	}
	return causeOther
}

func libraryName(msg string) string {
	m := libraryMissing.FindStringSubmatch(msg)
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}

// printSummary prints the counts of each outcome and, for the failures,
// each cause with its modules, the most common first.
func printSummary(w io.Writer, results []result) {
	counts := map[outcome]int{}
	byCause := map[string][]string{}
	byKind := map[string]int{}
	for _, r := range results {
		counts[r.outcome]++
		if r.outcome == failed {
			byCause[r.cause] = append(byCause[r.cause], r.name)
			byKind[kindOf(r.cause)]++
		}
	}
	fmt.Fprintf(w, "\n%d modules: %d loaded, %d skipped (server-side), %d failed\n",
		len(results), counts[loaded], counts[skipped], counts[failed])
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if byKind[kinds[i]] != byKind[kinds[j]] {
			return byKind[kinds[i]] > byKind[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-34s %d\n", k+":", byKind[k])
	}
	causes := make([]string, 0, len(byCause))
	for c := range byCause {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(byCause[causes[i]]) != len(byCause[causes[j]]) {
			return len(byCause[causes[i]]) > len(byCause[causes[j]])
		}
		return causes[i] < causes[j]
	})
	if len(causes) > 0 {
		fmt.Fprintln(w, "\nby cause:")
	}
	for _, c := range causes {
		fmt.Fprintf(w, "  %3d  %s: %s\n", len(byCause[c]), c, strings.Join(byCause[c], ", "))
	}
}

// kindOf is a cause without its detail ("missing library util.sasl" is a
// missing library).
func kindOf(cause string) string {
	for _, k := range []string{causeLibrary, causeCLibrary, causeAPI, causeState, causeSyntax, causeServerSide} {
		if strings.HasPrefix(cause, k) {
			return k
		}
	}
	return causeOther
}

// firstError is a slog handler that keeps the first error-level record's
// message and attributes, dropping everything else.
type firstError struct {
	mu    sync.Mutex
	first string
}

func (h *firstError) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (h *firstError) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first != "" {
		return nil
	}
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" || a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	h.first = msg
	return nil
}

func (h *firstError) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *firstError) WithGroup(string) slog.Handler      { return h }

func (h *firstError) reset() {
	h.mu.Lock()
	h.first = ""
	h.mu.Unlock()
}

func (h *firstError) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first
}
