package benchrun

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the runtime child, as the bench command
// is when started with its hidden subcommand.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) == "1" {
		if err := ServeChild(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStandaloneWayMeasuresATinyWorkloadWithoutErrors(t *testing.T) {
	opts := Defaults()
	opts.Users, opts.Contacts, opts.Rounds, opts.Logins = 3, 5, 2, 2
	opts.Concurrent, opts.ConcurrentUsers = 4, 2
	opts.Setups = "B"
	opts.Timeout = 60 * time.Second
	opts.RuntimeCommand = []string{os.Args[0]}
	report, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Setups) != 1 {
		t.Fatalf("setups measured: %+v", report.Setups)
	}
	b := report.Setups[0]
	if len(b.Errors) > 0 {
		t.Fatalf("errors: %v", b.Errors)
	}
	if report.LimitUsersPerSec <= 0 || report.FetchesUsersPerSec <= 0 {
		t.Fatalf("limit lines %.0f (decoded) and %.0f (fetches alone) users/s", report.LimitUsersPerSec, report.FetchesUsersPerSec)
	}
	if b.UsersPerSec <= 0 || b.RefreshP50 <= 0 || b.RefreshP99 < b.RefreshP50 || b.LoginP50 <= 0 ||
		b.RSSBeforeKiB <= 0 || b.ConcurrentDone != 4 || b.ConcurrentP99 <= 0 {
		t.Fatalf("implausible figures: %+v", b)
	}
	var out strings.Builder
	report.Print(&out)
	if !strings.Contains(out.String(), "B  modhost standalone") || !strings.Contains(out.String(), "total 0 errors") ||
		!strings.Contains(out.String(), "CPU per refreshed user") || !strings.Contains(out.String(), "of the fetches alone") {
		t.Fatalf("table:\n%s", out.String())
	}
	// The rounds end when their pushes have arrived, and the wait is said.
	if b.PushDrain <= 0 || !strings.Contains(out.String(), "after the last answer") {
		t.Fatalf("push drain %v not measured or not printed:\n%s", b.PushDrain, out.String())
	}
	// Each timed login is printed, so that a p99 (the slowest of a few) is
	// seen beside the others.
	if len(b.LoginMillis) != 2 || !strings.Contains(out.String(), fmt.Sprintf("  B: %.1f %.1f\n", b.LoginMillis[0], b.LoginMillis[1])) {
		t.Fatalf("timed logins %v not printed in order:\n%s", b.LoginMillis, out.String())
	}
	// The same users log in a second time, timed on their own.
	if len(b.AgainMillis) != 2 || b.AgainP50 <= 0 ||
		!strings.Contains(out.String(), fmt.Sprintf("  B: %.1f %.1f\n", b.AgainMillis[0], b.AgainMillis[1])) {
		t.Fatalf("second logins %v (p50 %.1f) not measured or not printed:\n%s", b.AgainMillis, b.AgainP50, out.String())
	}
}

// cpuSeconds reads a process's CPU time, every thread's: work on two
// goroutines shows, time asleep does not.
func TestCPUSecondsCountsWorkNotSleep(t *testing.T) {
	before, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	busy := func() {
		for end := time.Now().Add(150 * time.Millisecond); time.Now().Before(end); {
		}
	}
	done := make(chan struct{})
	go func() { busy(); close(done) }()
	busy()
	<-done
	worked, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	slept, err := cpuSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := worked - before; d < 0.1 {
		t.Errorf("300 ms of work on two goroutines read as %.2f s of CPU", d)
	}
	if d := slept - worked; d > 0.1 {
		t.Errorf("200 ms asleep read as %.2f s of CPU", d)
	}
	if _, err := cpuSeconds(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
