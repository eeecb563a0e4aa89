package benchrun

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/modhost/modhost/internal/testproc"
)

// rssKiB reads a process's resident set size (VmRSS) from /proc.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest) // "12345 kB"
			if len(fields) >= 1 {
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("read RSS of pid %d: no VmRSS line", pid)
}

// userHZ is the unit of /proc/PID/stat's times: Linux reports them in
// USER_HZ, 100 a second on every architecture's user ABI.
const userHZ = 100

// cpuSeconds is the CPU time (user and system, every thread) pid has used.
func cpuSeconds(pid int) (float64, error) {
	fields, err := testproc.Stat(pid)
	if err != nil {
		return 0, fmt.Errorf("read CPU time of pid %d: %w", pid, err)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time of pid %d: %w", pid, err)
		}
		ticks += n
	}
	return float64(ticks) / userHZ, nil
}

// percentile is the nearest-rank percentile (p in 0..100) of samples; NaN
// when there are none.
func percentile(samples []float64, p float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Machine describes where a run happened.
type Machine struct {
	CPUs   int
	Model  string
	MemMiB int64
	// Load is /proc/loadavg's 1-minute figure when the run began: on a
	// shared machine it says how much of the CPUs the run really had.
	Load string
}

func (m Machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %d MiB memory, %s/%s, load average %s at start",
		m.CPUs, m.Model, m.MemMiB, runtime.GOOS, runtime.GOARCH, m.Load)
}

// thisMachine reads the CPU count usable by this process (what nproc
// prints), the CPU model, the memory size and the load.
func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Model: "unknown CPU", Load: "unknown"}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load = f[0]
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					kib, _ := strconv.ParseInt(f[0], 10, 64)
					m.MemMiB = kib / 1024
				}
			}
		}
	}
	return m
}
