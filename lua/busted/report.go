package busted

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// result is one test's outcome as runner.lua reports it. status is one of
// success, failure, error, pending. definedAt is where the test (or the
// block, for errors outside tests) was declared; where is the file:line the
// failure or error was raised at, when known.
type result struct {
	status, name, definedAt, where, message string
}

// reporter prints progress while the run goes and the details and counts at
// the end, in the layout of busted's plain terminal output, except for the
// closing lines:
//
//	N errors, N pending
//	N passed, N failed
//
// The last line stands alone so CI can match ^\d+ passed, \d+ failed$.
//
// With json set it prints nothing while the run goes, and at the end one
// JSON document (a JSONReport): every result in the order it was reported.
type reporter struct {
	out      io.Writer
	verbose  bool
	json     bool
	summary  Summary
	problems []result
	pendings []result
	all      []JSONResult
}

// JSONReport is what `modhost test -o json` prints: every test (and every
// error outside a test: a file that does not load, a describe body or a
// setup that breaks) in the order reported, and the counts.
type JSONReport struct {
	Results []JSONResult `json:"results"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Errors  int          `json:"errors"`
	Pending int          `json:"pending"`
}

// JSONResult is one outcome. Status is success, failure, error or pending;
// Name the full name (describe names and the test's, space-separated, as
// busted prints them); DefinedAt where the test was declared (file:line);
// Where the file:line a failure or error was raised at, when known.
type JSONResult struct {
	Status    string `json:"status"`
	Name      string `json:"name"`
	DefinedAt string `json:"defined_at,omitempty"`
	Where     string `json:"where,omitempty"`
	Message   string `json:"message,omitempty"`
}

func newReporter(out io.Writer, verbose bool) *reporter {
	return &reporter{out: out, verbose: verbose}
}

// marks gives a status's progress mark, its word in verbose mode and its
// heading in the closing report.
func marks(status string) (mark, word, heading string) {
	switch status {
	case "success":
		return "+", "ok", ""
	case "failure":
		return "-", "FAIL", "Failure"
	case "pending":
		return ".", "PENDING", "Pending"
	default:
		return "*", "ERROR", "Error"
	}
}

func (r *reporter) add(res result) {
	switch res.status {
	case "success":
		r.summary.Passed++
	case "failure":
		r.summary.Failed++
		r.problems = append(r.problems, res)
	case "pending":
		r.summary.Pending++
		r.pendings = append(r.pendings, res)
	default:
		res.status = "error"
		r.summary.Errors++
		r.problems = append(r.problems, res)
	}
	if r.json {
		r.all = append(r.all, JSONResult{Status: res.status, Name: res.name, DefinedAt: res.definedAt, Where: res.where, Message: res.message})
		return
	}
	mark, word, _ := marks(res.status)
	if r.verbose {
		fmt.Fprintf(r.out, "%-7s %s\n", word, res.name)
		return
	}
	fmt.Fprint(r.out, mark)
}

func (r *reporter) close() {
	if r.json {
		doc := JSONReport{Results: r.all, Passed: r.summary.Passed, Failed: r.summary.Failed, Errors: r.summary.Errors, Pending: r.summary.Pending}
		if doc.Results == nil {
			doc.Results = []JSONResult{}
		}
		enc := json.NewEncoder(r.out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(doc) // a failed write has nowhere to be reported
		return
	}
	if !r.verbose && r.summary.Ran() > 0 {
		fmt.Fprintln(r.out)
	}
	for _, p := range r.pendings {
		fmt.Fprintf(r.out, "\nPending -> %s\n%s\n", p.definedAt, p.name)
		if p.message != "" {
			fmt.Fprintln(r.out, p.message)
		}
	}
	for _, p := range r.problems {
		_, _, heading := marks(p.status)
		fmt.Fprintf(r.out, "\n%s -> %s\n%s\n", heading, p.definedAt, p.name)
		msg := strings.TrimRight(p.message, "\n")
		if p.status == "failure" && p.where != "" {
			msg = p.where + ": " + msg
		}
		fmt.Fprintln(r.out, msg)
	}
	if len(r.pendings)+len(r.problems) > 0 {
		fmt.Fprintln(r.out)
	}
	fmt.Fprintf(r.out, "%d errors, %d pending\n", r.summary.Errors, r.summary.Pending)
	fmt.Fprintf(r.out, "%d passed, %d failed\n", r.summary.Passed, r.summary.Failed)
}
