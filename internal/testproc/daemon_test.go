package testproc

import (
	"context"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is the daemon: with TESTPROC_HELPER set it serves a port
// (and, with "stubborn", ignores SIGTERM) instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("TESTPROC_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

func helper(mode string) {
	kind, port, _ := strings.Cut(mode, ":")
	switch kind {
	case "exit":
		os.Stderr.WriteString("helper gives up\n")
		os.Exit(3)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(2)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
}

func helperDaemon(t *testing.T, mode string, grace time.Duration) (*Daemon, string) {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := Loopback(ports[0])
	d := &Daemon{
		Name:         "helper",
		Path:         os.Args[0],
		Dir:          t.TempDir(),
		Env:          append(os.Environ(), "TESTPROC_HELPER="+mode+":"+strconv.Itoa(ports[0])),
		ReadyTimeout: 10 * time.Second,
		StopGrace:    grace,
	}
	d.OutputPath = filepath.Join(d.Dir, "out.log")
	d.Ready = func(ctx context.Context) error { return d.WaitPort(ctx, addr) }
	t.Cleanup(func() { _ = d.Kill() })
	return d, addr
}

func TestStartWaitsForThePortAndStopEndsTheProcess(t *testing.T) {
	d, addr := helperDaemon(t, "serve", 5*time.Second)
	if err := d.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	pid := d.Pid()
	if !Alive(pid) || !d.Running() {
		t.Fatalf("pid %d not alive after Start", pid)
	}
	AssertLoopbackOnly(t, portOf(t, addr))
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if Alive(pid) || d.Running() || d.Pid() != 0 {
		t.Errorf("pid %d alive (or still counted running) after Stop", pid)
	}
	if d.StoppedIn <= 0 || d.StoppedIn > 5*time.Second {
		t.Errorf("StoppedIn = %v", d.StoppedIn)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("stopping a stopped daemon: %v", err)
	}
}

func TestKillThenStartAgainServesOnTheSameCommand(t *testing.T) {
	d, addr := helperDaemon(t, "serve", 5*time.Second)
	if err := d.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := d.StartAgain(); err == nil {
		t.Errorf("StartAgain on a running daemon succeeded")
	}
	first := d.Pid()
	if err := d.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if Alive(first) {
		t.Fatalf("pid %d alive after Kill", first)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatalf("port still accepts after Kill")
	}
	if err := d.StartAgain(); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if d.Pid() == first || !Alive(d.Pid()) {
		t.Errorf("StartAgain: pid %d (was %d)", d.Pid(), first)
	}
	second := d.Pid()
	if err := d.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if d.Pid() == second || Alive(second) {
		t.Errorf("Restart kept pid %d or left it alive", second)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	d, _ := helperDaemon(t, "stubborn", 300*time.Millisecond)
	if err := d.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	pid := d.Pid()
	err := d.Stop()
	if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM") {
		t.Errorf("Stop of a stubborn process = %v, want it to say it ignored SIGTERM", err)
	}
	if Alive(pid) {
		t.Errorf("pid %d alive after Stop", pid)
	}
}

func TestStartFailsAtOnceWithTheOutputWhenTheProcessExits(t *testing.T) {
	d, _ := helperDaemon(t, "exit", time.Second)
	d.ReadyTimeout = time.Minute
	begin := time.Now()
	err := d.Start()
	if err == nil || !strings.Contains(err.Error(), "helper exited before") || !strings.Contains(err.Error(), "helper gives up") {
		t.Fatalf("Start of a process that exits = %v", err)
	}
	if time.Since(begin) > 10*time.Second {
		t.Errorf("Start waited %v for a process that had exited", time.Since(begin))
	}
	if d.Running() {
		t.Errorf("a failed Start leaves the daemon counted running")
	}
}

func TestCheckStopsTheStart(t *testing.T) {
	d, _ := helperDaemon(t, "serve", time.Second)
	d.Check = func() error { return os.ErrNotExist }
	if err := d.Start(); err == nil || d.Running() {
		t.Errorf("Start after a failed Check = %v, running %v", err, d.Running())
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
