// Package ejabberdtest starts a real ejabberd (Debian's 23.01) for tests: a
// private temp folder holding a generated ejabberd.yml, the Mnesia spool and
// the log; free loopback ports for c2s, the component listener, the HTTP API
// and the Erlang distribution; a node name and cookie of its own.
//
// The Erlang VM is run directly (not through ejabberdctl, which as root
// switches to the ejabberd user and reads /etc/ejabberd): the distribution
// listens on a port of its own without epmd (-erl_epmd_port, -start_epmd
// false), so tests neither collide with each other nor touch a system epmd or
// ejabberd. The node is stopped by its pid.
//
// StartCluster starts several nodes joined into one ejabberd cluster
// (cluster.go); their distribution then goes through a private epmd.
package ejabberdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testproc"
)

// Where Debian's packages put the Erlang runtime and ejabberd's applications.
const (
	Erl     = "/usr/bin/erl"
	LibsDir = "/usr/lib/x86_64-linux-gnu" // ERL_LIBS: ejabberd-23.01 and its dependencies
	AppDir  = LibsDir + "/ejabberd-23.01"
)

// installHint is what a developer runs to get the tests' dependencies.
const installHint = "make deps (or: apt-get install ejabberd)"

// Options say what the test needs from the server.
type Options struct {
	// Host is the one virtual host ejabberd serves. Default "example.com".
	Host string
	// Users maps usernames to passwords, registered once the server runs.
	Users map[string]string
	// Components maps component JIDs to passwords for an ejabberd_service
	// listener the harness declares on ComponentPort.
	Components map[string]string
	// Config is YAML that the harness's ejabberd.yml includes
	// (include_config_file): ejabberd appends its lists (listen) and merges
	// its maps (modules, acl, access_rules, api_permissions) into the
	// harness's. Placeholders {{COMPONENT_PORT}}, {{HTTP_PORT}}, {{DIR}}.
	Config string
	// ConfigFor, when set, builds Config once the ports are known.
	ConfigFor func(s *Server) string
	// APIFromConfig: Config itself declares the mod_http_api listener on
	// HTTPPort and its api_permissions (the snippet under test); the harness
	// declares neither, and registers Users through ejabberd_ctl instead.
	APIFromConfig bool
	// StartTimeout bounds the wait for the server. Default 30s.
	StartTimeout time.Duration
	// LogLevel is ejabberd's loglevel. Default "info".
	LogLevel string
	// RosterOptions are mod_roster's options, as a YAML flow mapping
	// (e.g. "{ access: client_roster }"). Default "{}". Config cannot
	// give them: a module declared twice stops ejabberd.
	RosterOptions string
}

// Server is one running (or stopped) ejabberd owned by a test.
type Server struct {
	Host          string
	Dir           string
	ConfigPath    string // the harness's ejabberd.yml
	IncludePath   string // Options.Config, as included by ConfigPath
	LogPath       string
	SpoolPath     string // the Mnesia directory
	Node          string // the Erlang node name, unique per server
	Cookie        string
	C2SPort       int
	ComponentPort int
	HTTPPort      int
	DistPort      int // the Erlang distribution's listening port
	// EPMDPort is the cluster's private epmd, which maps node names to
	// distribution ports; 0 for a node alone, found without any epmd.
	EPMDPort int

	// Daemon is the node's process: Pid, Stop, Kill, StartAgain, Restart,
	// StartedIn and StoppedIn.
	*testproc.Daemon

	opts Options
	// hasService says whether a component listener is declared, so
	// ComponentPort is expected to open.
	hasService bool
	ctlCalls   atomic.Uint64
}

// Available reports whether Erlang and ejabberd are installed here.
func Available() bool {
	for _, p := range []string{Erl, AppDir} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// prerequisite is ejabberd as a test needs it installed.
var prerequisite = testproc.Prerequisite{Name: "ejabberd", Binary: AppDir, InstallHint: installHint, Available: Available}

// Require skips the test when ejabberd is missing, except under CI=true
// where a missing ejabberd is a failure. Under -short every test that needs
// ejabberd is skipped.
func Require(t testing.TB) {
	t.Helper()
	prerequisite.Require(t)
}

// Start writes the config, starts ejabberd, waits until it serves and
// registers the Users. The server is stopped when the test ends; if the test
// failed, ejabberd's log is attached to its output.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	s := launch(t, t.TempDir(), opts, nil)
	s.registerUsers(t)
	return s
}

// launch prepares and starts a node in dir, stopped when the test ends
// (with its log attached if the test failed). dist nil: a node alone.
func launch(t testing.TB, dir string, opts Options, dist *distribution) *Server {
	t.Helper()
	s, err := prepare(dir, opts, dist)
	if err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("ejabberdtest: stop %s: %v", s.Node, err)
		}
		if t.Failed() {
			t.Logf("ejabberd log of %s (%s):\n%s", s.Node, s.LogPath, s.Log())
		}
	})
	if err := s.Start(); err != nil {
		t.Fatalf("ejabberdtest: %s: %v", s.Node, err)
	}
	return s
}

func (s *Server) registerUsers(t testing.TB) {
	t.Helper()
	for _, u := range sortedKeys(s.opts.Users) {
		if err := s.Register(u, s.opts.Users[u]); err != nil {
			t.Fatalf("ejabberdtest: %v", err)
		}
	}
}

func prepare(dir string, opts Options, dist *distribution) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "example.com"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if dist == nil {
		alone, err := newDistribution()
		if err != nil {
			return nil, err
		}
		dist = alone
	}
	s := &Server{
		Host:        opts.Host,
		Dir:         dir,
		ConfigPath:  filepath.Join(dir, "ejabberd.yml"),
		IncludePath: filepath.Join(dir, "included.yml"),
		LogPath:     filepath.Join(dir, "log", "ejabberd.log"),
		SpoolPath:   filepath.Join(dir, "spool"),
		Node:        dist.node,
		Cookie:      dist.cookie,
		EPMDPort:    dist.epmdPort,
		opts:        opts,
	}
	ports, err := testproc.FreePorts(4)
	if err != nil {
		return nil, err
	}
	s.C2SPort, s.ComponentPort, s.HTTPPort, s.DistPort = ports[0], ports[1], ports[2], ports[3]
	for _, d := range []string{s.SpoolPath, filepath.Dir(s.LogPath)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	included := opts.Config
	if opts.ConfigFor != nil {
		included = opts.ConfigFor(s)
	}
	included = strings.NewReplacer(
		"{{COMPONENT_PORT}}", strconv.Itoa(s.ComponentPort),
		"{{HTTP_PORT}}", strconv.Itoa(s.HTTPPort),
		"{{DIR}}", s.Dir,
	).Replace(included)
	s.hasService = len(opts.Components) > 0 || strings.Contains(included, "ejabberd_service")
	if err := os.WriteFile(s.IncludePath, []byte(included+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write included config: %w", err)
	}
	if err := os.WriteFile(s.ConfigPath, []byte(s.config()), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	s.Daemon = &testproc.Daemon{
		Name: "ejabberd",
		Path: Erl,
		Args: append(append([]string{"-sname", s.Node, "-setcookie", s.Cookie, "-noinput"}, s.distArgs(true)...),
			"-kernel", "inet_dist_use_interface", "{127,0,0,1}",
			"+K", "true",
			"-mnesia", "dir", strconv.Quote(s.SpoolPath),
			"-s", "ejabberd",
		),
		Dir:          dir,
		Env:          s.env(),
		OutputPath:   filepath.Join(dir, "stdout.log"),
		Ready:        s.waitServing,
		ReadyTimeout: opts.StartTimeout,
		// SIGTERM is the VM's init:stop: ejabberd stops its modules and
		// Mnesia closes its files, which takes a few seconds.
		StopGrace: 15 * time.Second,
	}
	return s, nil
}

// config renders the harness's ejabberd.yml. Strings are written as YAML
// double-quoted scalars (Go's quoting is a subset for ordinary text).
func (s *Server) config() string {
	q := strconv.Quote
	var b bytes.Buffer
	fmt.Fprintf(&b, "# generated by modhost's ejabberdtest for one test\n")
	fmt.Fprintf(&b, "loglevel: %s\n", s.opts.LogLevel)
	fmt.Fprintf(&b, "hosts:\n  - %s\n", q(s.Host))
	// No TLS anywhere: clients log in with SASL over plain TCP on loopback.
	fmt.Fprintf(&b, "auth_method: internal\nauth_password_format: scram\n")
	fmt.Fprintf(&b, "listen:\n")
	fmt.Fprintf(&b, "  -\n    port: %d\n    ip: \"127.0.0.1\"\n    module: ejabberd_c2s\n    starttls_required: false\n", s.C2SPort)
	if len(s.opts.Components) > 0 {
		fmt.Fprintf(&b, "  -\n    port: %d\n    ip: \"127.0.0.1\"\n    module: ejabberd_service\n    hosts:\n", s.ComponentPort)
		for _, jid := range sortedKeys(s.opts.Components) {
			fmt.Fprintf(&b, "      %s:\n        password: %s\n", q(jid), q(s.opts.Components[jid]))
		}
	}
	if !s.opts.APIFromConfig {
		fmt.Fprintf(&b, "  -\n    port: %d\n    ip: \"127.0.0.1\"\n    module: ejabberd_http\n    request_handlers:\n      /api: mod_http_api\n", s.HTTPPort)
	}
	fmt.Fprintf(&b, "api_permissions:\n")
	// ejabberd_ctl needs the node's cookie, which only this test knows.
	fmt.Fprintf(&b, "  \"ejabberdtest ctl\":\n    from:\n      - ejabberd_ctl\n    who: all\n    what: \"*\"\n")
	if !s.opts.APIFromConfig {
		fmt.Fprintf(&b, "  \"ejabberdtest api\":\n    from:\n      - mod_http_api\n    who:\n      ip: 127.0.0.1/8\n    what: \"*\"\n")
	}
	roster := s.opts.RosterOptions
	if roster == "" {
		roster = "{}"
	}
	fmt.Fprintf(&b, "modules:\n  mod_roster: %s\n  mod_disco: {}\n  mod_admin_extra: {}\n", roster)
	fmt.Fprintf(&b, "include_config_file:\n  - %s\n", q(s.IncludePath))
	return b.String()
}

// C2SAddr is the client listener's address.
func (s *Server) C2SAddr() string { return testproc.Loopback(s.C2SPort) }

// ComponentAddr is the XEP-0114 listener's address.
func (s *Server) ComponentAddr() string { return testproc.Loopback(s.ComponentPort) }

// APIURL is the URL of mod_http_api's command.
func (s *Server) APIURL(command string) string {
	return "http://" + testproc.Loopback(s.HTTPPort) + "/api/" + command
}

// Log is ejabberd's log so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// API calls a mod_http_api command with args as its JSON body and returns
// the HTTP status and the raw body.
func (s *Server) API(ctx context.Context, command string, args any) (int, []byte, error) {
	body, err := json.Marshal(args)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.APIURL(command), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// Register creates an account on Host: over the HTTP API (about a
// millisecond), or through ejabberd_ctl when the API is the Config's.
func (s *Server) Register(user, pass string) error {
	if s.opts.APIFromConfig {
		if _, err := s.Ctl("register", user, s.Host, pass); err != nil {
			return fmt.Errorf("register %s@%s: %w", user, s.Host, err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := s.API(ctx, "register", map[string]string{"user": user, "host": s.Host, "password": pass})
	if err != nil {
		return fmt.Errorf("register %s@%s: %w", user, s.Host, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("register %s@%s: HTTP %d %s", user, s.Host, code, body)
	}
	return nil
}

// Ctl runs an ejabberdctl command against this node, the way ejabberdctl
// does (a hidden Erlang node running ejabberd_ctl) but with this server's
// cookie and distribution port, as the current user. About 0.7 s a call.
func (s *Server) Ctl(args ...string) (string, error) {
	if !s.Running() {
		return "", errors.New("ejabberd is not running")
	}
	name := fmt.Sprintf("ctl%d-%s", s.ctlCalls.Add(1), s.Node)
	argv := append(append([]string{"-sname", name, "-hidden", "-noinput", "-setcookie", s.Cookie}, s.distArgs(false)...),
		"-s", "ejabberd_ctl", "-extra", s.Node,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Erl, append(argv, args...)...)
	cmd.Dir = s.Dir
	cmd.Env = s.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ejabberdctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// distArgs say how Erlang processes find this node's distribution port.
// Alone, the port is given to each of them (-erl_epmd_port: no epmd at
// all). In a cluster, nodes must find each other's different ports, so the
// cluster's private epmd (ERL_EPMD_PORT, in env) maps names to ports and
// each node listens on its own DistPort. ejabberd_ctl's node (listen false)
// only dials out.
func (s *Server) distArgs(listen bool) []string {
	args := []string{"-start_epmd", "false"}
	if s.EPMDPort == 0 {
		args = append(args, "-erl_epmd_port", strconv.Itoa(s.DistPort))
	} else if listen {
		port := strconv.Itoa(s.DistPort)
		args = append(args, "-kernel", "inet_dist_listen_min", port, "inet_dist_listen_max", port)
	}
	if !listen {
		args = append(args, "-dist_listen", "false")
	}
	return args
}

// env is the environment of every Erlang process of this server: ejabberd's
// applications on the code path, our config and log, a HOME of our own (erl
// would otherwise create ~/.erlang.cookie), nothing from the caller's Erlang.
func (s *Server) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ERL_") || strings.HasPrefix(kv, "EJABBERD_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	if s.EPMDPort != 0 {
		env = append(env, "ERL_EPMD_PORT="+strconv.Itoa(s.EPMDPort))
	}
	return append(env,
		"HOME="+s.Dir,
		"ERL_LIBS="+LibsDir,
		"ERL_CRASH_DUMP="+filepath.Join(s.Dir, "erl_crash.dump"),
		"ERL_CRASH_DUMP_BYTES=0",
		"EJABBERD_CONFIG_PATH="+s.ConfigPath,
		"EJABBERD_LOG_PATH="+s.LogPath,
	)
}

// waitServing waits until the API answers and the listeners accept.
func (s *Server) waitServing(ctx context.Context) error {
	if err := s.waitStarted(ctx); err != nil {
		return err
	}
	addrs := []string{s.C2SAddr()}
	if s.hasService {
		addrs = append(addrs, s.ComponentAddr())
	}
	for _, addr := range addrs {
		if err := s.WaitPort(ctx, addr); err != nil {
			return err
		}
	}
	return nil
}

// waitStarted polls the API's status command (any HTTP answer on HTTPPort
// means the listeners run, which ejabberd starts last).
func (s *Server) waitStarted(ctx context.Context) error {
	return s.Poll(ctx, "ejabberd's API on "+strconv.Itoa(s.HTTPPort), func(ctx context.Context) bool {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		code, _, err := s.API(attempt, "status", struct{}{})
		return err == nil && code != 0
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
