package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A command name with spaces and parentheses (proc(5) prints it as is,
// in parentheses) does not shift the fields after it.
func TestStatReadsPastACommandNameWithSpacesAndParentheses(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "a b) (c")
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	fields, err := Stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if st := fields[0]; st != "S" && st != "R" {
		t.Fatalf("state %q, want S or R: fields %q", st, fields)
	}
	if !Alive(cmd.Process.Pid) {
		t.Fatal("a sleeping process with such a name is not alive")
	}
	if _, err := Stat(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
