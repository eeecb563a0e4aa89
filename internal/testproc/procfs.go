package testproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Alive reports whether pid runs; a zombie is not serving anything.
func Alive(pid int) bool {
	fields, err := Stat(pid)
	return err == nil && fields[0] != "Z"
}

// Stat is /proc/PID/stat's fields after the command name, which may hold
// spaces and parentheses: Stat(pid)[0] is the state (field 3 of proc(5)),
// [11] and [12] utime and stime (fields 14 and 15).
func Stat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(fields))
	}
	return fields, nil
}

// Listeners are the local addresses (hex, as /proc/net/tcp writes them:
// 0100007F for 127.0.0.1) of the sockets listening on port.
func Listeners(port int) []string {
	hexPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(hexPort) < 4 {
		hexPort = "0" + hexPort
	}
	var addrs []string
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
			addrs = append(addrs, strings.TrimSuffix(f[1], ":"+hexPort))
		}
	}
	return addrs
}

// loopbackHex are the loopback addresses as /proc/net/tcp{,6} write them:
// 127.0.0.1 and ::1 (epmd adds ::1 to the addresses it is given).
var loopbackHex = map[string]bool{"0100007F": true, "00000000000000000000000001000000": true}

// AssertLoopbackOnly fails t for each port nothing listens on, and for
// each port something listens on beyond loopback (127.0.0.1, ::1).
func AssertLoopbackOnly(t testing.TB, ports ...int) {
	t.Helper()
	for _, port := range ports {
		addrs := Listeners(port)
		if len(addrs) == 0 {
			t.Errorf("nothing listens on %d", port)
		}
		for _, a := range addrs {
			if !loopbackHex[a] {
				t.Errorf("port %d listens beyond loopback (on %s)", port, a)
			}
		}
	}
}
