package prosodytest_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/testproc"
)

func TestStartListensOnlyOnLoopbackWithItsOwnConfig(t *testing.T) {
	s := prosodytest.Start(t, prosodytest.Options{
		Users:  map[string]string{"alice": "pw"},
		Config: "Component \"roster.example.com\"\n\tcomponent_secret = \"s\"\n",
	})
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid()) + "/cmdline")
	if err != nil {
		t.Fatalf("read cmdline: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 2 || args[len(args)-2] != "--config" || args[len(args)-1] != s.ConfigPath {
		t.Errorf("prosody runs as %q, want it to end with --config %s", args, s.ConfigPath)
	}
	pid, err := os.ReadFile(s.PidPath)
	if err != nil {
		t.Fatalf("pidfile not written in the test folder: %v", err)
	}
	if strings.TrimSpace(string(pid)) != strconv.Itoa(s.Pid()) {
		t.Errorf("pidfile says %q, started pid %d", pid, s.Pid())
	}
	testproc.AssertLoopbackOnly(t, s.C2SPort, s.ComponentPort, s.HTTPPort)
	assertNoSystemProsody(t)
}

func TestStopEndsTheProcessAndRestartServesAgain(t *testing.T) {
	s := prosodytest.Start(t, prosodytest.Options{})
	first := s.Pid()
	if err := s.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if s.Pid() == first || s.Pid() == 0 {
		t.Errorf("restart kept pid %d", first)
	}
	if testproc.Alive(first) {
		t.Errorf("old prosody %d still alive after restart", first)
	}
	conn, err := net.DialTimeout("tcp", s.C2SAddr(), time.Second)
	if err != nil {
		t.Fatalf("c2s after restart: %v", err)
	}
	conn.Close()
	second := s.Pid()
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if testproc.Alive(second) {
		t.Errorf("prosody %d alive after Stop", second)
	}
	if _, err := net.DialTimeout("tcp", s.C2SAddr(), time.Second); err == nil {
		t.Errorf("c2s port still accepts after Stop")
	}
}

// assertNoSystemProsody fails if any prosody runs without an explicit
// --config: that one would be the system's, started from /etc/prosody.
func assertNoSystemProsody(t *testing.T) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(b), "/usr/bin/prosody") {
			continue
		}
		if !strings.Contains(string(b), "--config\x00") {
			t.Errorf("a prosody without --config runs (pid %s): %q", e.Name(), b)
		}
	}
}
