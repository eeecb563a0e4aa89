package prosodytest_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
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
	for _, port := range []int{s.C2SPort, s.ComponentPort, s.HTTPPort} {
		if !listensOnLoopbackOnly(t, port) {
			t.Errorf("port %d listens beyond 127.0.0.1", port)
		}
	}
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
	if processAlive(first) {
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
	if processAlive(second) {
		t.Errorf("prosody %d alive after Stop", second)
	}
	if _, err := net.DialTimeout("tcp", s.C2SAddr(), time.Second); err == nil {
		t.Errorf("c2s port still accepts after Stop")
	}
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// A zombie is not serving anything.
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}

// listensOnLoopbackOnly reads /proc/net/tcp{,6} for LISTEN sockets on port.
func listensOnLoopbackOnly(t *testing.T, port int) bool {
	t.Helper()
	hexPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(hexPort) < 4 {
		hexPort = "0" + hexPort
	}
	found := false
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" || !strings.HasSuffix(f[1], ":"+hexPort) {
				continue
			}
			found = true
			if f[1] != "0100007F:"+hexPort {
				return false
			}
		}
	}
	if !found {
		t.Errorf("nothing listens on %d", port)
	}
	return found
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
