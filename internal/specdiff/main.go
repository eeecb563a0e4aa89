// Command specdiff compares two spec reports test by test: the one
// `modhost test -o json` writes and the one Debian's busted writes with
// scripts/busted-json.lua (the same JSON document, busted.JSONReport).
// scripts/spec-diff runs both over compat/spec and calls it:
//
//	specdiff MODHOST.json PROSODY.json
//
// Every test must be in both reports with the same outcome, except those
// tagged #modhost_only (only in modhost's) and #prosody_only (only in
// Prosody's), as compat/spec/README.md says. Tests are matched by full
// name; several tests with one name are matched in the order reported. It
// lists each disagreement and each test that did not pass, prints a
// summary, and exits 1 when there is either (2 when a report is unreadable).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/modhost/modhost/lua/busted"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: specdiff MODHOST.json PROSODY.json")
		os.Exit(2)
	}
	modhost, err := readReport(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "specdiff:", err)
		os.Exit(2)
	}
	prosody, err := readReport(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "specdiff:", err)
		os.Exit(2)
	}
	d := Compare(modhost, prosody)
	d.Print(os.Stdout)
	if !d.OK() {
		os.Exit(1)
	}
}

func readReport(path string) (busted.JSONReport, error) {
	var r busted.JSONReport
	raw, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	// A spec may print to stdout too: the report is the last line that
	// starts as one.
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], `{"results":`) {
			if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
				return r, fmt.Errorf("%s: not a spec report: %w", path, err)
			}
			return r, nil
		}
	}
	return r, fmt.Errorf("%s: no spec report in it", path)
}

// Tags that put a test on one side only (compat/spec/README.md).
const (
	modhostOnly = "#modhost_only"
	prosodyOnly = "#prosody_only"
)

// Disagreement is one test the two runs do not agree on: Modhost and
// Prosody are its outcome in each ("" when it is missing there).
type Disagreement struct {
	Name             string
	Modhost, Prosody string
	Why              string
}

// Diff is the comparison of two reports.
type Diff struct {
	Agree         int // tests with one outcome in both
	OnlyModhost   int // tagged #modhost_only, found in modhost's report only
	OnlyProsody   int // tagged #prosody_only, found in Prosody's report only
	Disagreements []Disagreement
	// NotPassed lists the tests (either side) that failed or errored:
	// agreeing on a failure is still a failure.
	NotPassed []string
}

// OK is true when the runs agree and nothing failed.
func (d Diff) OK() bool { return len(d.Disagreements) == 0 && len(d.NotPassed) == 0 }

// Compare matches the results of two reports by name.
func Compare(modhost, prosody busted.JSONReport) Diff {
	var d Diff
	m, p := byName(modhost.Results), byName(prosody.Results)
	names := map[string]bool{}
	for n := range m {
		names[n] = true
	}
	for n := range p {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		ms, ps := m[name], p[name]
		switch {
		case strings.Contains(name, modhostOnly) && strings.Contains(name, prosodyOnly):
			d.add(name, ms, ps, "tagged both #modhost_only and #prosody_only")
			continue
		case strings.Contains(name, modhostOnly):
			if len(ps) > 0 {
				d.add(name, ms, ps, "tagged #modhost_only but ran under Prosody")
			} else {
				d.OnlyModhost += len(ms)
			}
			d.notPassed(name, "modhost", ms)
			continue
		case strings.Contains(name, prosodyOnly):
			if len(ms) > 0 {
				d.add(name, ms, ps, "tagged #prosody_only but ran under modhost")
			} else {
				d.OnlyProsody += len(ps)
			}
			d.notPassed(name, "Prosody", ps)
			continue
		}
		for i := 0; i < len(ms) || i < len(ps); i++ {
			var mo, po string
			if i < len(ms) {
				mo = ms[i]
			}
			if i < len(ps) {
				po = ps[i]
			}
			switch {
			case mo == "":
				d.Disagreements = append(d.Disagreements, Disagreement{name, mo, po, "only under Prosody (untagged)"})
			case po == "":
				d.Disagreements = append(d.Disagreements, Disagreement{name, mo, po, "only under modhost (untagged)"})
			case mo != po:
				d.Disagreements = append(d.Disagreements, Disagreement{name, mo, po, "outcomes differ"})
			default:
				d.Agree++
			}
		}
		d.notPassed(name, "modhost", ms)
		d.notPassed(name, "Prosody", ps)
	}
	return d
}

func (d *Diff) add(name string, ms, ps []string, why string) {
	d.Disagreements = append(d.Disagreements, Disagreement{name, strings.Join(ms, ","), strings.Join(ps, ","), why})
}

func (d *Diff) notPassed(name, side string, statuses []string) {
	for _, s := range statuses {
		if s == "failure" || s == "error" {
			d.NotPassed = append(d.NotPassed, fmt.Sprintf("%s under %s: %s", s, side, name))
		}
	}
}

func byName(results []busted.JSONResult) map[string][]string {
	m := map[string][]string{}
	for _, r := range results {
		m[r.Name] = append(m[r.Name], r.Status)
	}
	return m
}

func orMissing(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// Print lists the disagreements and failures, then one summary line.
func (d Diff) Print(w io.Writer) {
	for _, x := range d.Disagreements {
		fmt.Fprintf(w, "DIFFER  %s\n        modhost: %s, Prosody: %s (%s)\n", x.Name, orMissing(x.Modhost), orMissing(x.Prosody), x.Why)
	}
	for _, x := range d.NotPassed {
		fmt.Fprintf(w, "FAILED  %s\n", x)
	}
	fmt.Fprintf(w, "%d tests agree, %d only under modhost (#modhost_only), %d only under Prosody (#prosody_only), %d disagree, %d not passed\n",
		d.Agree, d.OnlyModhost, d.OnlyProsody, len(d.Disagreements), len(d.NotPassed))
}
