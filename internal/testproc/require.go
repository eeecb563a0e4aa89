package testproc

import (
	"fmt"
	"os"
	"testing"
)

// Prerequisite is a server a test starts: what it is called, where its
// installation is looked for, and how a developer installs it.
type Prerequisite struct {
	Name        string // "Prosody", "ejabberd"
	Binary      string // the file whose absence means not installed
	InstallHint string
	Available   func() bool
}

// Require skips the test when the server is missing, except under CI=true
// where a missing server is a failure: CI must never pass by skipping.
// Under -short (make unit, the fast loop) every test that starts the server
// is skipped: make test runs them.
func (p Prerequisite) Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skipf("starts a real %s: not in the -short loop (make unit); make test runs it", p.Name)
	}
	if p.Available() {
		return
	}
	if fatal, msg := p.WhenMissing(os.Getenv("CI")); fatal {
		t.Fatal(msg)
	} else {
		t.Skip(msg)
	}
}

// WhenMissing decides what a missing server means for a test, given CI's value.
func (p Prerequisite) WhenMissing(ci string) (fatal bool, msg string) {
	if ci == "true" {
		return true, fmt.Sprintf("%s not installed at %s (CI=true: not skipping); install with: %s", p.Name, p.Binary, p.InstallHint)
	}
	return false, fmt.Sprintf("%s not installed at %s; install with: %s", p.Name, p.Binary, p.InstallHint)
}
