// Package benchrun measures the roster-admin workload (mod_http_roster_admin
// serving rosters from a web application and refreshing them on request)
// three setups on one machine in one run:
//
//	A  the plugin inside real Prosody 0.12, real XMPP clients;
//	B  modhost standalone, standalone sessions (Runtime.Login);
//	C  modhost linked to Prosody as its component (delegated rosters),
//	   real XMPP clients through Prosody.
//
// Each setup gets the same workload: Users online users with Contacts-contact
// rosters served by an in-process backend that changes one contact per user
// at every fetch; Rounds POST /refresh requests naming every online user;
// Logins timed logins until the full roster is received; resident memory
// per online user. modhost runs in a child process (the caller's binary
// started again, see ServeRuntime) so its memory is measured on its own.
package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/plugins"
)

// Options are the workload's sizes and where the runtime child comes from.
type Options struct {
	Users            int           // online users (N)
	Contacts         int           // contacts per roster
	Rounds           int           // refresh requests naming every online user (R)
	Logins           int           // timed logins (M)
	Concurrent       int           // simultaneous refresh requests, setup B only (0: skipped)
	ConcurrentUsers  int           // users named by each of those requests
	Setups           string        // which of A, B, C to run, e.g. "ABC"
	Timeout          time.Duration // bound on the whole run
	RefreshDeadline  time.Duration // http_roster_admin_deadline given to the plugin
	LoginConcurrency int           // parallel logins when bringing the users online
	RuntimeCommand   []string      // argv that starts a child serving ServeRuntime
	// ProsodyNoDelay turns Nagle's algorithm off in Prosody (A, C):
	// network_settings = { nagle = false }. At Prosody's default a
	// roster result of a hundred items reaches the client ~40 ms late
	// (its last segment waits for the client's delayed ACK), which is most
	// of a login's time in A and C; off, a login's time is its work.
	ProsodyNoDelay bool
	Logger         *slog.Logger
}

// Defaults is the workload `make bench-roster` runs.
func Defaults() Options {
	return Options{
		Users: 50, Contacts: 100, Rounds: 50, Logins: 20,
		Concurrent: 1000, ConcurrentUsers: 10,
		Setups: "ABC", Timeout: 3 * time.Minute, RefreshDeadline: 90 * time.Second,
		LoginConcurrency: 8,
	}
}

// RoundRSS is the RSS read after a round of a soak.
type RoundRSS struct {
	Round int
	KiB   int64
}

// SetupResult is what one setup measured. Times are milliseconds.
type SetupResult struct {
	Setup       string
	Name        string
	UsersPerSec float64
	RefreshP50  float64
	RefreshP99  float64
	LoginP50    float64
	LoginP99    float64
	// AgainP50 and AgainP99 time the same users' second logins, right
	// after the first: the server (A, C) already holds their rosters,
	// unchanged in the web app since.
	AgainP50 float64
	AgainP99 float64
	// ProsodyCPUPerUser and ModhostCPUPerUser are each process's CPU time
	// during the refresh rounds per refreshed user, in milliseconds: one
	// core cannot refresh more than 1000/ms users a second through it.
	// The rounds end when their pushes have arrived (PushDrain after the
	// last answer); UsersPerSec counts that time too.
	ProsodyCPUPerUser, ModhostCPUPerUser float64
	PushDrain                            time.Duration
	RSSBeforeKiB                         int64
	RSSOnlineKiB                         int64
	RSSPerUserKiB                        float64
	// RSSAfterFirstRoundKiB and RSSAfterRoundsKiB are read after the
	// first refresh round and once they are all over, each once what the
	// plugin keeps for a second is gone (0: one round only).
	RSSAfterFirstRoundKiB, RSSAfterRoundsKiB int64
	// RSSDuringRounds are readings at every tenth of the rounds, settled
	// as the others, in runs of at least 100 rounds (soaks).
	RSSDuringRounds []RoundRSS
	// LoginMillis are the timed logins, in the order they ran: p99 of a
	// few is their slowest, which these show beside the others.
	LoginMillis []float64
	AgainMillis []float64
	// modhost's own part of RSSBeforeKiB and RSSOnlineKiB.
	ModhostBeforeKiB, ModhostOnlineKiB int64
	// The Concurrent-request test (setup B): p99 and wall time.
	ConcurrentP99  float64
	ConcurrentWall time.Duration
	ConcurrentDone int
	// Errors lists every request, login or push that failed.
	Errors []string
}

// Report is a whole run.
type Report struct {
	Machine Machine
	Options Options
	Setups  []SetupResult
	// LimitUsersPerSec is the machine's limit line (measureLimit): the
	// same fetches, decoded, nothing applied.
	LimitUsersPerSec float64
	// FetchesUsersPerSec is the same fetches alone, read and not decoded.
	FetchesUsersPerSec float64
	LimitErrors        []string
	Elapsed            time.Duration
}

// Failed counts every failure of every setup.
func (r Report) Failed() int {
	n := len(r.LimitErrors)
	for _, w := range r.Setups {
		n += len(w.Errors)
	}
	return n
}

// ErrProsodyMissing is returned when setup A or C is asked for without Prosody.
var ErrProsodyMissing = errors.New("prosody 0.12 is not installed at " + prosodytest.Binary + ": run `make deps` (or apt-get install prosody prosody-modules)")

const (
	domain        = "example.com"
	componentJID  = "roster.example.com"
	componentPass = "bench-secret"
	password      = "pw"
)

// Run performs the setups asked for, one after the other, and returns what
// they measured. It returns an error when a setup could not be set up at all;
// failed requests are counted in the report instead.
func Run(ctx context.Context, opts Options) (Report, error) {
	if err := opts.check(); err != nil {
		return Report{}, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if strings.ContainsAny(opts.Setups, "AC") && !prosodytest.Available() {
		return Report{}, ErrProsodyMissing
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	started := time.Now()
	report := Report{Machine: thisMachine(), Options: opts}

	dir, err := os.MkdirTemp("", "modhost-bench-")
	if err != nil {
		return report, fmt.Errorf("create temp folder: %w", err)
	}
	defer os.RemoveAll(dir)
	pluginsDir := filepath.Join(dir, "plugins")
	if err := copyBundledPlugins(pluginsDir); err != nil {
		return report, err
	}

	backend := newContactsBackend(domain, opts.Contacts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return report, fmt.Errorf("listen for the contacts backend: %w", err)
	}
	server := &http.Server{Handler: backend, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(ln) }() // ends with ErrServerClosed at the Close below
	defer server.Close()
	env := &runEnv{
		opts:       opts,
		dir:        dir,
		pluginsDir: pluginsDir,
		rosterURL:  "http://" + ln.Addr().String() + "/contacts/%s",
		http:       newHTTPClient(max(opts.Concurrent, 64), opts.RefreshDeadline+15*time.Second),
	}
	defer env.http.CloseIdleConnections()

	for _, setup := range opts.Setups {
		opts.Logger.Info("starting setup", "setup", string(setup))
		res, err := env.runSetup(ctx, setup)
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return report, fmt.Errorf("setup %c: the run's bound of %v passed (-timeout): %w", setup, opts.Timeout, err)
		case ctx.Err() != nil:
			return report, fmt.Errorf("setup %c: interrupted: %w", setup, err)
		case err != nil:
			return report, fmt.Errorf("setup %c: %w", setup, err)
		}
		report.Setups = append(report.Setups, res)
	}
	opts.Logger.Info("measuring the machine's limit line")
	report.LimitUsersPerSec, report.LimitErrors = env.measureLimit(ctx, true)
	var fetchErrors []string
	report.FetchesUsersPerSec, fetchErrors = env.measureLimit(ctx, false)
	report.LimitErrors = append(report.LimitErrors, fetchErrors...)
	if n := backend.failed.Load(); n > 0 {
		report.Setups[len(report.Setups)-1].Errors = append(report.Setups[len(report.Setups)-1].Errors, fmt.Sprintf("contacts backend answered %d malformed requests", n))
	}
	report.Elapsed = time.Since(started)
	return report, nil
}

func (o Options) check() error {
	switch {
	case o.Users < 1 || o.Contacts < 1 || o.Rounds < 1 || o.Logins < 1:
		return errors.New("users, contacts, rounds and logins must be at least 1")
	case o.Concurrent < 0 || (o.Concurrent > 0 && o.ConcurrentUsers < 1):
		return errors.New("concurrent requests must be 0 or more, each naming at least one user")
	case o.Setups == "" || strings.Trim(o.Setups, "ABC") != "":
		return fmt.Errorf("setups %q: want a combination of A, B and C", o.Setups)
	case o.Timeout <= 0 || o.RefreshDeadline <= 0:
		return errors.New("timeout and refresh deadline must be positive")
	case strings.ContainsAny(o.Setups, "BC") && len(o.RuntimeCommand) == 0:
		return errors.New("setups B and C need a RuntimeCommand to start modhost's runtime in")
	}
	return nil
}

// copyBundledPlugins writes the plugins modhost embeds into dir, so Prosody
// loads exactly the bytes modhost runs, wherever the binary was built.
func copyBundledPlugins(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create plugins folder: %w", err)
	}
	return fs.WalkDir(plugins.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := plugins.FS.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read bundled %s: %w", path, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("copy bundled %s: %w", path, err)
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return fmt.Errorf("copy bundled %s: %w", path, err)
		}
		return nil
	})
}

// newHTTPClient keeps up to conns connections, so a burst of requests is
// not measured through connection set-up, and gives every request timeout.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever the environment says
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// Print writes the report as a table with the ratios to setup A.
func (r Report) Print(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "roster-admin bench: %d online users, %d contacts each, %d refresh rounds, %d timed logins\n",
		o.Users, o.Contacts, o.Rounds, o.Logins)
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	if o.ProsodyNoDelay {
		fmt.Fprintf(w, "Prosody: network_settings = { nagle = false } (-prosody-nodelay)\n\n")
	} else {
		fmt.Fprintf(w, "Prosody: its default network settings (Nagle on: -prosody-nodelay times logins without it)\n\n")
	}
	fmt.Fprintf(w, "%-43s %8s %20s %18s %18s %13s %7s\n", "setup", "users/s", "refresh p50/p99", "login p50/p99", "again p50/p99", "RSS/user", "errors")
	for _, res := range r.Setups {
		fmt.Fprintf(w, "%-43s %8.0f %20s %18s %18s %9.1f KiB %7d\n", res.Setup+"  "+res.Name, res.UsersPerSec,
			msPair(res.RefreshP50, res.RefreshP99), msPair(res.LoginP50, res.LoginP99), msPair(res.AgainP50, res.AgainP99),
			res.RSSPerUserKiB, len(res.Errors))
	}
	if r.LimitUsersPerSec > 0 {
		fmt.Fprintf(w, "%-43s %8.0f   (the same fetches, %d at a time, decoded with encoding/json, nothing applied)\n",
			"limit of this machine", r.LimitUsersPerSec, limitConcurrency)
	}
	if r.FetchesUsersPerSec > 0 {
		fmt.Fprintf(w, "%-43s %8.0f   (the same fetches, read, not decoded: no roster host can go faster here)\n",
			"fetches alone", r.FetchesUsersPerSec)
	}
	var a *SetupResult
	for i := range r.Setups {
		if r.Setups[i].Setup == "A" {
			a = &r.Setups[i]
		}
	}
	if a != nil {
		fmt.Fprintln(w)
		for _, res := range r.Setups {
			if res.Setup == "A" {
				continue
			}
			fmt.Fprintf(w, "%s/A: throughput ×%.2f, login p50 ×%.2f, login p99 ×%.2f, again p50 ×%.2f, again p99 ×%.2f, RSS/user ×%.2f\n", res.Setup,
				res.UsersPerSec/a.UsersPerSec, res.LoginP50/a.LoginP50, res.LoginP99/a.LoginP99,
				res.AgainP50/a.AgainP50, res.AgainP99/a.AgainP99, res.RSSPerUserKiB/a.RSSPerUserKiB)
		}
	}
	if r.LimitUsersPerSec > 0 {
		for _, res := range r.Setups {
			fmt.Fprintf(w, "%s: %.0f%% of the limit line", res.Setup, 100*res.UsersPerSec/r.LimitUsersPerSec)
			if r.FetchesUsersPerSec > 0 {
				fmt.Fprintf(w, ", %.0f%% of the fetches alone", 100*res.UsersPerSec/r.FetchesUsersPerSec)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\nCPU per refreshed user during the rounds, which end when their last push has arrived (a process on one core refreshes at most 1000/ms users/s):\n")
	for _, res := range r.Setups {
		// Per process the setup runs (A Prosody, B modhost, C both); a
		// short run can read 0 (the kernel counts in 10 ms ticks).
		var parts []string
		if res.Setup != "B" {
			parts = append(parts, fmt.Sprintf("Prosody %.2f ms", res.ProsodyCPUPerUser))
		}
		if res.Setup != "A" {
			parts = append(parts, fmt.Sprintf("modhost %.2f ms", res.ModhostCPUPerUser))
		}
		fmt.Fprintf(w, "  %s: %s; last push %s after the last answer\n", res.Setup, strings.Join(parts, ", "), drainText(res.PushDrain))
	}
	for _, e := range r.LimitErrors[:min(len(r.LimitErrors), 10)] {
		fmt.Fprintf(w, "limit error: %s\n", e)
	}
	for _, res := range r.Setups {
		if res.ConcurrentDone > 0 {
			fmt.Fprintf(w, "\n%s: %d concurrent refresh requests of %d users: p99 %.1f ms, all answered in %.2f s\n",
				res.Setup, res.ConcurrentDone, o.ConcurrentUsers, res.ConcurrentP99, res.ConcurrentWall.Seconds())
		}
	}
	fmt.Fprintf(w, "\nRSS/user = (VmRSS with the users online − VmRSS before their logins) / users; A: Prosody, B: modhost, C: Prosody + modhost;\n")
	fmt.Fprintf(w, "each reading %.1f s after the work before it (a soak is flat when the last reading is the first round's):\n", settleTime.Seconds())
	for _, res := range r.Setups {
		after := fmt.Sprintf("%.1f MiB after the %d rounds", float64(res.RSSAfterRoundsKiB)/1024, o.Rounds)
		if res.RSSAfterFirstRoundKiB > 0 {
			after = fmt.Sprintf("%.1f MiB after round 1, %s (%+.1f%%)", float64(res.RSSAfterFirstRoundKiB)/1024, after,
				100*float64(res.RSSAfterRoundsKiB-res.RSSAfterFirstRoundKiB)/float64(res.RSSAfterFirstRoundKiB))
		}
		fmt.Fprintf(w, "  %s: %.1f MiB before, %.1f MiB online, %s\n", res.Setup,
			float64(res.RSSBeforeKiB)/1024, float64(res.RSSOnlineKiB)/1024, after)
		if len(res.RSSDuringRounds) > 0 {
			var b strings.Builder
			for _, r := range res.RSSDuringRounds {
				fmt.Fprintf(&b, " %d: %.1f,", r.Round, float64(r.KiB)/1024)
			}
			fmt.Fprintf(w, "     on the way (MiB after round):%s %d: %.1f\n", b.String(), o.Rounds, float64(res.RSSAfterRoundsKiB)/1024)
		}
		if res.ModhostOnlineKiB > 0 && res.ModhostOnlineKiB != res.RSSOnlineKiB {
			own := float64(res.ModhostOnlineKiB-res.ModhostBeforeKiB) / float64(o.Users)
			fmt.Fprintf(w, "     of which modhost: %.1f MiB before, %.1f MiB online: %.1f KiB/user, Prosody %.1f KiB/user\n",
				float64(res.ModhostBeforeKiB)/1024, float64(res.ModhostOnlineKiB)/1024, own, res.RSSPerUserKiB-own)
		}
	}
	fmt.Fprintf(w, "\ntimed logins, in order (ms), the first of each user then the second:\n")
	for _, res := range r.Setups {
		for _, run := range [][]float64{res.LoginMillis, res.AgainMillis} {
			var b strings.Builder
			for _, ms := range run {
				fmt.Fprintf(&b, " %.1f", ms)
			}
			fmt.Fprintf(w, "  %s:%s\n", res.Setup, b.String())
		}
	}
	for _, res := range r.Setups {
		for i, e := range res.Errors {
			if i == 10 {
				fmt.Fprintf(w, "%s: … %d more errors\n", res.Setup, len(res.Errors)-10)
				break
			}
			fmt.Fprintf(w, "%s error: %s\n", res.Setup, e)
		}
	}
	fmt.Fprintf(w, "total %d errors, run took %.1f s\n", r.Failed(), r.Elapsed.Seconds())
}

func msPair(p50, p99 float64) string {
	if math.IsNaN(p50) {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f ms", p50, p99)
}

// drainText is how long the pushes took to arrive after the last answer.
func drainText(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
