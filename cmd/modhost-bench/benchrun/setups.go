package benchrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/internal/prosodytest"
)

// runEnv is what every setup shares: the options, the run's temp folder, the
// bundled plugins' copy, the backend's URL and the HTTP client.
type runEnv struct {
	opts       Options
	dir        string
	pluginsDir string
	rosterURL  string
	http       httpDoer
}

// system is one setup's servers and users, as the common measurement drives
// them.
type system interface {
	// refreshURL is the POST /refresh endpoint.
	refreshURL() string
	// rssKiB is the resident memory of every process serving the users,
	// and of those modhost's own (all of it in B, none in A).
	rssKiB() (total, modhost int64, err error)
	// cpuSeconds is the CPU time Prosody and modhost have used so far
	// (0 for a process the setup does not run).
	cpuSeconds() (prosody, modhost float64, err error)
	// online logs users in (roster asked for, initial presence sent) and
	// keeps them online; a failure per user.
	online(ctx context.Context, users []string) []string
	// timedLogins logs each user in, one after the other, and times each
	// until its whole roster has arrived; the users then log out.
	timedLogins(ctx context.Context, users []string) (millis []float64, failures []string)
	// pushes is how many roster pushes the online users have received.
	pushes() (int, error)
	stop()
}

func (e *runEnv) runSetup(ctx context.Context, setup rune) (SetupResult, error) {
	dir := filepath.Join(e.dir, string(setup))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return SetupResult{}, fmt.Errorf("create %s: %w", dir, err)
	}
	var sys system
	var err error
	res := SetupResult{Setup: string(setup)}
	switch setup {
	case 'A':
		res.Name = "Prosody 0.12 + plugin"
		sys, err = e.startProsodyAlone(dir)
	case 'B':
		res.Name = "modhost standalone"
		sys, err = e.startStandalone(ctx, dir)
	case 'C':
		res.Name = "modhost linked to Prosody (delegated)"
		sys, err = e.startLinked(ctx, dir)
	}
	if err != nil {
		return res, err
	}
	defer sys.stop()
	return e.measure(ctx, sys, res, setup == 'B')
}

// warmupUsers log in and out before anything is measured.
var warmupUsers = []string{"warmup"}

// userNames are the online users; loginNames the ones whose logins are timed.
func userNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return names
}

// measure runs the workload on a started system: memory before, users
// online, memory after, refresh rounds, pushes checked, timed logins, and
// (concurrent) the burst of simultaneous refresh requests.
func (e *runEnv) measure(ctx context.Context, sys system, res SetupResult, concurrent bool) (SetupResult, error) {
	o := e.opts
	users := userNames("user", o.Users)
	// One login and logout first, in every setup: what the first login
	// loads (code, libraries, connections) is not a cost per user.
	if _, failures := sys.timedLogins(ctx, warmupUsers); len(failures) > 0 {
		return res, fmt.Errorf("warm-up login: %s", failures[0])
	}
	var err error
	if res.RSSBeforeKiB, res.ModhostBeforeKiB, err = sys.rssKiB(); err != nil {
		return res, err
	}
	res.Errors = append(res.Errors, sys.online(ctx, users)...)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("bringing users online: %w", err)
	}
	time.Sleep(settleTime)
	if res.RSSOnlineKiB, res.ModhostOnlineKiB, err = sys.rssKiB(); err != nil {
		return res, err
	}
	res.RSSPerUserKiB = float64(res.RSSOnlineKiB-res.RSSBeforeKiB) / float64(o.Users)

	pushesBefore, err := sys.pushes()
	if err != nil {
		return res, err
	}
	var latencies []float64
	var busy time.Duration
	var prosodyCPU, modhostCPU float64
	for round := range o.Rounds {
		p0, m0, err := sys.cpuSeconds()
		if err != nil {
			return res, err
		}
		start := time.Now()
		failures := refresh(ctx, e.http, sys.refreshURL(), users)
		took := time.Since(start)
		busy += took
		// Pushes and writes that follow a refresh answer count with the
		// next round (after the last, with the wait for its pushes,
		// below): a round's work is measured, not the readings of memory
		// between rounds.
		p1, m1, err := sys.cpuSeconds()
		if err != nil {
			return res, err
		}
		prosodyCPU, modhostCPU = prosodyCPU+p1-p0, modhostCPU+m1-m0
		latencies = append(latencies, float64(took.Microseconds())/1000)
		for _, f := range failures {
			res.Errors = append(res.Errors, fmt.Sprintf("round %d: %s", round+1, f))
		}
		if round == 0 && o.Rounds > 1 {
			// Memory once warm: what one round of refreshes leaves, read
			// when what the plugin keeps for a second is gone. Set beside
			// the reading after the last round, it says whether a soak
			// is flat. Not part of the rounds' time.
			if res.RSSAfterFirstRoundKiB, err = settledRSS(sys); err != nil {
				return res, err
			}
		}
		if n := round + 1; soakReadingAfter(n, o.Rounds) {
			// A soak: nine more readings on the way, so that growth that
			// levels off and growth that goes on look different.
			kib, err := settledRSS(sys)
			if err != nil {
				return res, err
			}
			res.RSSDuringRounds = append(res.RSSDuringRounds, RoundRSS{Round: n, KiB: kib})
		}
	}
	// Each refresh changed one contact of every online user: one push each.
	// The rounds are over when the last push has reached its client: in C
	// the refresh is answered once modhost has handed its stanzas to the
	// server, which may still be working through them (Prosody took ~20 s
	// more after 50 rounds of 500 users), and that time and CPU are the
	// rounds' too.
	want := pushesBefore + o.Users*o.Rounds
	p0, m0, err := sys.cpuSeconds()
	if err != nil {
		return res, err
	}
	drainStart := time.Now()
	got, err := waitPushes(ctx, sys, want, pushDrainBound(busy))
	if err != nil {
		return res, err
	}
	res.PushDrain = time.Since(drainStart)
	p1, m1, err := sys.cpuSeconds()
	if err != nil {
		return res, err
	}
	busy += res.PushDrain
	prosodyCPU, modhostCPU = prosodyCPU+p1-p0, modhostCPU+m1-m0
	if got != want {
		res.Errors = append(res.Errors, fmt.Sprintf("online users received %d roster pushes during the rounds, want %d (waited %.1f s after the last answer)",
			got-pushesBefore, want-pushesBefore, res.PushDrain.Seconds()))
	}
	res.UsersPerSec = float64(o.Users*o.Rounds) / busy.Seconds()
	refreshed := float64(o.Users * o.Rounds)
	res.ProsodyCPUPerUser, res.ModhostCPUPerUser = 1000*prosodyCPU/refreshed, 1000*modhostCPU/refreshed
	res.RefreshP50, res.RefreshP99 = percentile(latencies, 50), percentile(latencies, 99)
	// Memory after the rounds (the pushes counted, so forgotten by B's
	// in-process clients), settled as after the first round: the same if
	// nothing a refresh makes stays behind (a long run is a soak).
	time.Sleep(settleTime)
	if res.RSSAfterRoundsKiB, _, err = sys.rssKiB(); err != nil {
		return res, err
	}

	millis, failures := sys.timedLogins(ctx, userNames("login", o.Logins))
	res.Errors = append(res.Errors, failures...)
	res.LoginMillis = millis
	res.LoginP50, res.LoginP99 = percentile(millis, 50), percentile(millis, 99)
	// The same users again: a first login is once per user, the server
	// (A, C) having nothing of theirs yet; every later one finds the
	// roster the server kept.
	again, failures := sys.timedLogins(ctx, userNames("login", o.Logins))
	res.Errors = append(res.Errors, failures...)
	res.AgainMillis = again
	res.AgainP50, res.AgainP99 = percentile(again, 50), percentile(again, 99)

	if concurrent && o.Concurrent > 0 {
		burst := concurrentRefreshes(ctx, e.http, sys.refreshURL(), users, o.Concurrent, o.ConcurrentUsers)
		res.ConcurrentP99, res.ConcurrentWall, res.ConcurrentDone = burst.p99, burst.wall, o.Concurrent
		res.Errors = append(res.Errors, burst.failures...)
	}
	return res, ctx.Err()
}

// settleTime is how long memory is left to settle once users are online:
// presence broadcasts and probes are over, and the plugin has forgotten the
// answers it kept for logins to share (for one second, then forgotten
// within the next).
const settleTime = 2500 * time.Millisecond

// settledRSS reads RSS during the rounds as after them: settleTime later,
// and with the pushes so far counted, which makes B's in-process clients
// forget them (a real client's memory is its own; kept, 10,000 users'
// pushes grew the reading by ~2.5 MiB a round).
func settledRSS(sys system) (int64, error) {
	time.Sleep(settleTime)
	if _, err := sys.pushes(); err != nil {
		return 0, err
	}
	kib, _, err := sys.rssKiB()
	return kib, err
}

// soakRounds is the number of rounds from which a run reads memory at
// every tenth of them (RSSDuringRounds), each reading costing settleTime.
const soakRounds = 100

// soakReadingAfter says whether round n of rounds is followed by a soak
// reading: at every tenth of a run of soakRounds or more, the last round
// excepted (it has its own reading).
func soakReadingAfter(n, rounds int) bool {
	return rounds >= soakRounds && n < rounds && n%(rounds/10) == 0
}

// waitPushes waits up to a few seconds for the pushes count to reach want:
// pushes travel after the refresh answer on some setups.
func waitPushes(ctx context.Context, sys system, want int, bound time.Duration) (int, error) {
	deadline := time.Now().Add(bound)
	for {
		got, err := sys.pushes()
		if err != nil || got >= want || time.Now().After(deadline) || ctx.Err() != nil {
			return got, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushDrainBound is how long the pushes of rounds that took busy may take
// to arrive after the last answer: four times as long as the rounds, and
// at least 5 s (Prosody needed ~2× after 50 rounds of 500 users). Longer
// is a failure (pushes lost, or a server too far behind to measure).
func pushDrainBound(busy time.Duration) time.Duration {
	return max(5*time.Second, 4*busy)
}

// --- A: the plugin inside Prosody -------------------------------------------

// prosodyHostConfig loads the plugin on the VirtualHost as the example
// config does (memory roster storage, block_subscriptions).
func (e *runEnv) prosodyHostConfig() string {
	return fmt.Sprintf(`
	modules_enabled = { "http_roster_admin"; "block_subscriptions" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_deadline = %d
`, e.rosterURL, int(e.opts.RefreshDeadline/time.Second))
}

// prosodyGlobal is what A's and C's Prosody get in their global section.
func (e *runEnv) prosodyGlobal() string {
	if e.opts.ProsodyNoDelay {
		return "network_settings = { nagle = false }"
	}
	return ""
}

func (e *runEnv) accounts() map[string]string {
	accounts := map[string]string{}
	for _, u := range slices.Concat(userNames("user", e.opts.Users), userNames("login", e.opts.Logins), warmupUsers) {
		accounts[u] = password
	}
	return accounts
}

// startProsodyAlone is setup A. mod_roster stays on, unlike the example
// config: with it off, Prosody alone answers a client's roster query
// service-unavailable, and the plugin only fills what mod_roster serves.
func (e *runEnv) startProsodyAlone(dir string) (system, error) {
	s, err := prosodytest.Launch(dir, prosodytest.Options{
		Host:        domain,
		Users:       e.accounts(),
		HostConfig:  e.prosodyHostConfig(),
		PluginPaths: []string{e.pluginsDir},
		LogLevel:    "warn",
		Global:      e.prosodyGlobal(),
	})
	if err != nil {
		return nil, fmt.Errorf("start prosody: %w", err)
	}
	return &xmppSystem{env: e, prosody: s, refresh: s.HTTPURL("/roster_admin/refresh")}, nil
}

// --- B: modhost standalone -------------------------------------------------

func (e *runEnv) modhostConfig(link string) string {
	return fmt.Sprintf(`
http_ports = { 0 }
http_interfaces = { "127.0.0.1" }
-- One client (this bench) sends the burst of concurrent refreshes: the
-- default bound of 32 in-flight requests per client would answer most 429,
-- and the default 30 s handler deadline would cut the burst's tail.
http_max_requests_per_client = -1
http_request_deadline = %d
VirtualHost %q
	modules_enabled = { "http_roster_admin" }
	modules_disabled = { "roster" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_deadline = %d
%s`, int(e.opts.RefreshDeadline/time.Second)+5, domain, e.rosterURL, int(e.opts.RefreshDeadline/time.Second), link)
}

func (e *runEnv) startStandalone(ctx context.Context, dir string) (system, error) {
	p, url, err := e.startRuntime(ctx, dir, e.modhostConfig(""), "")
	if err != nil {
		return nil, err
	}
	return &standaloneSystem{env: e, proc: p, refresh: url + "/roster_admin/refresh"}, nil
}

func (e *runEnv) startRuntime(ctx context.Context, dir, config, linkHost string) (*runtimeProcess, string, error) {
	p, err := startRuntimeProcess(ctx, e.opts.RuntimeCommand, dir)
	if err != nil {
		return nil, "", err
	}
	reply, err := p.call(childRequest{Op: "start", Config: config, Name: filepath.Join(dir, "modhost.cfg.lua"), LinkHost: linkHost})
	if err != nil {
		p.stop()
		return nil, "", err
	}
	return p, reply.HTTP, nil
}

// --- C: modhost linked to Prosody ------------------------------------------

func (e *runEnv) startLinked(ctx context.Context, dir string) (system, error) {
	snippet, err := component.Snippet(component.SnippetOptions{
		Host: domain, Component: componentJID, Secret: componentPass, Mode: component.Delegated, PluginsDir: e.pluginsDir,
	})
	if err != nil {
		return nil, fmt.Errorf("server-side snippet: %w", err)
	}
	// The sections only: prosodytest writes the listeners and plugin_paths.
	sections := snippet[strings.Index(snippet, "VirtualHost"):]
	// The harness already declares the VirtualHost: its options go inside it.
	host, rest, _ := strings.Cut(sections, "\nComponent")
	host = host[strings.Index(host, "\n")+1:]
	s, err := prosodytest.Launch(filepath.Join(dir, "prosody"), prosodytest.Options{
		Host:        domain,
		Users:       e.accounts(),
		HostConfig:  host + "\tstorage = { roster = \"memory\" }\n",
		Config:      "Component" + rest,
		PluginPaths: []string{e.pluginsDir},
		LogLevel:    "warn",
		Global:      e.prosodyGlobal(),
	})
	if err != nil {
		return nil, fmt.Errorf("start prosody: %w", err)
	}
	link := fmt.Sprintf("\tcomponent_client = { host = \"127.0.0.1\"; port = %d; jid = %q; secret = %q }\n", s.ComponentPort, componentJID, componentPass)
	p, url, err := e.startRuntime(ctx, dir, e.modhostConfig(link), domain)
	if err != nil {
		_ = s.Stop() // the start error is the one to report
		return nil, err
	}
	// The privilege and delegation advertisements follow the handshake.
	time.Sleep(300 * time.Millisecond)
	return &xmppSystem{env: e, prosody: s, modhost: p, refresh: url + "/roster_admin/refresh"}, nil
}
