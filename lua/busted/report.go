package busted

import (
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
type reporter struct {
	out      io.Writer
	verbose  bool
	summary  Summary
	problems []result
	pendings []result
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
	mark, word, _ := marks(res.status)
	if r.verbose {
		fmt.Fprintf(r.out, "%-7s %s\n", word, res.name)
		return
	}
	fmt.Fprint(r.out, mark)
}

func (r *reporter) close() {
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
