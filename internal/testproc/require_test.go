package testproc

import (
	"strings"
	"testing"
)

func TestMissingServerFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	p := Prerequisite{Name: "Prosody", Binary: "/usr/bin/prosody", InstallHint: "make deps"}
	for _, tc := range []struct {
		ci        string
		wantFatal bool
	}{
		{"true", true},
		{"", false},
		{"false", false},
	} {
		fatal, msg := p.WhenMissing(tc.ci)
		if fatal != tc.wantFatal || !strings.Contains(msg, "make deps") || !strings.Contains(msg, "/usr/bin/prosody") {
			t.Errorf("CI=%q: fatal=%v %q", tc.ci, fatal, msg)
		}
	}
}
