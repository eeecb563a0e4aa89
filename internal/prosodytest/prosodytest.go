// Package prosodytest starts a real Prosody 0.12 for tests: a private temp
// folder, a generated config on free loopback ports, accounts written straight
// into the data folder, and the server's log attached to a failing test.
//
// The server is only ever started as `prosody --config FILE` with a config this
// package wrote, so a system Prosody (/etc/prosody) is never started by a test.
package prosodytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testproc"
)

// Binary is where Debian's package puts Prosody.
const Binary = "/usr/bin/prosody"

// installHint is what a developer runs to get the tests' dependencies.
const installHint = "make deps (or: apt-get install prosody prosody-modules)"

// Options say what the test needs from the server.
type Options struct {
	// Host is the VirtualHost the harness declares and creates Users on.
	// Default "example.com".
	Host string
	// Users maps usernames to passwords, created before the server starts.
	Users map[string]string
	// Modules are added to the global modules_enabled (besides roster,
	// saslauth and disco, which a c2s test always needs, and http).
	Modules []string
	// HostConfig is Lua appended inside the harness's VirtualHost section
	// (options and modules_enabled of that host); placeholders as in Config.
	HostConfig string
	// Config is Lua appended after the VirtualHost: further VirtualHost or
	// Component sections. It may use the placeholders {{COMPONENT_PORT}},
	// {{HTTP_PORT}} and {{DIR}}.
	Config string
	// PluginPaths are searched before the repository's plugins/ folder.
	PluginPaths []string
	// StartTimeout bounds the wait for the ports. Default 15s.
	StartTimeout time.Duration
	// LogLevel is the lowest level Prosody writes to LogPath. Default
	// "debug"; a benchmark sets "warn" so logging is not what it measures.
	LogLevel string
	// Global is Lua appended to the global section (network_settings,
	// say), before any VirtualHost.
	Global string
}

// Server is one running (or stopped) Prosody owned by a test.
type Server struct {
	Host          string
	Dir           string // the temp folder holding everything below
	ConfigPath    string
	LogPath       string
	DataPath      string
	PidPath       string
	C2SPort       int
	ComponentPort int
	HTTPPort      int

	// Daemon is the process: Pid, Stop, Kill, StartAgain, Restart.
	*testproc.Daemon

	// hasComponent says whether the config declares a Component, so the
	// component port is expected to open.
	hasComponent bool
}

// Available reports whether Prosody is installed here.
func Available() bool {
	_, err := os.Stat(Binary)
	return err == nil
}

// prerequisite is Prosody as a test needs it installed.
var prerequisite = testproc.Prerequisite{Name: "Prosody", Binary: Binary, InstallHint: installHint, Available: Available}

// Require skips the test when Prosody is missing, except under CI=true where
// a missing Prosody is a failure: CI must never pass by skipping. Under
// -short (make unit, the fast loop) every test that needs Prosody is
// skipped: make test runs them.
func Require(t testing.TB) {
	t.Helper()
	prerequisite.Require(t)
}

// shutdownDone is the last line Prosody 0.12's shutdown logs
// (util/startup.lua): it then only marks the network loop as quitting, and
// the process ends when that loop next wakes (a timer or an event).
const shutdownDone = "Exiting with status code"

// Start writes the config and accounts, starts Prosody and waits until its
// ports accept. The server is stopped when the test ends; if the test failed,
// the Prosody log is attached to its output.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	s, err := prepare(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("prosodytest: %v", err)
	}
	t.Cleanup(func() {
		switch err := s.Stop(); {
		case err == nil:
		case errors.Is(err, testproc.ErrKilledAfterGrace) && strings.Contains(s.Log(), shutdownDone):
			// Prosody finished its shutdown and then waited for its
			// network loop to wake and see it is quitting (seen once in
			// a CI run: "Exiting with status code: 0", then 5 s more):
			// its teardown, not what a test checks.
			t.Logf("prosodytest: stop: %v (after Prosody logged %q)", err, shutdownDone)
		default:
			t.Errorf("prosodytest: stop: %v", err)
		}
		if t.Failed() {
			t.Logf("prosody log (%s):\n%s", s.LogPath, s.Log())
		}
	})
	if err := s.Start(); err != nil {
		t.Fatalf("prosodytest: %v", err) // the cleanup above attaches the log
	}
	return s
}

// Launch is Start for programs that are not tests (the benchmark command):
// everything lives in dir, which the caller creates and removes, and the
// caller must Stop the server.
func Launch(dir string, opts Options) (*Server, error) {
	if !Available() {
		return nil, fmt.Errorf("prosody not installed at %s; install with: %s", Binary, installHint)
	}
	s, err := prepare(dir, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare picks the ports and writes the config and accounts into dir.
func prepare(dir string, opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "example.com"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 15 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	s := &Server{
		Host:       opts.Host,
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "prosody.cfg.lua"),
		LogPath:    filepath.Join(dir, "prosody.log"),
		DataPath:   filepath.Join(dir, "data"),
		PidPath:    filepath.Join(dir, "prosody.pid"),
	}
	s.hasComponent = strings.Contains(opts.Config, "Component")
	ports, err := testproc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	s.C2SPort, s.ComponentPort, s.HTTPPort = ports[0], ports[1], ports[2]
	// An empty certificates folder of our own: Prosody indexes it at start.
	for _, d := range []string{s.DataPath, filepath.Join(dir, "certs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := os.WriteFile(s.ConfigPath, []byte(s.config(opts)), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	for user, pass := range opts.Users {
		if err := s.AddUser(user, pass); err != nil {
			return nil, err
		}
	}
	s.Daemon = &testproc.Daemon{
		Name:         "prosody",
		Path:         Binary,
		Args:         []string{"--config", s.ConfigPath},
		Dir:          dir,
		Env:          cleanEnv(),
		Check:        s.checkConfig,
		OutputPath:   filepath.Join(dir, "stdout.log"),
		Ready:        s.waitPorts,
		ReadyTimeout: opts.StartTimeout,
		StopGrace:    5 * time.Second,
	}
	return s, nil
}

// RepoPluginsDir is the repository's plugins/ folder, found from this
// source file so tests work from any package directory.
func RepoPluginsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "plugins")
}

// C2SAddr is the client port's address.
func (s *Server) C2SAddr() string { return testproc.Loopback(s.C2SPort) }

// ComponentAddr is the XEP-0114 component port's address.
func (s *Server) ComponentAddr() string { return testproc.Loopback(s.ComponentPort) }

// HTTPURL is the URL of path on Prosody's HTTP server.
func (s *Server) HTTPURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort) + path
}

// Log is the Prosody log so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// AddUser writes an account the way mod_auth_internal_plain stores it, so no
// prosodyctl process (and no second config lookup) is needed. It works while
// the server runs: accounts are read from disk at each login.
func (s *Server) AddUser(user, pass string) error {
	return s.AddHostUser(s.Host, user, pass)
}

// AddHostUser is AddUser on another VirtualHost of the test's Config.
func (s *Server) AddHostUser(host, user, pass string) error {
	dir := filepath.Join(s.DataPath, storeEncode(host), "accounts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create accounts folder: %w", err)
	}
	body := "return {\n\t[\"password\"] = " + luaString(pass) + ";\n};\n"
	path := filepath.Join(dir, storeEncode(user)+".dat")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write account %s@%s: %w", user, host, err)
	}
	return nil
}

// checkConfig refuses to start Prosody without the config this package
// wrote: Prosody would fall back to /etc/prosody.
func (s *Server) checkConfig() error {
	if _, err := os.Stat(s.ConfigPath); err != nil {
		return fmt.Errorf("config missing, refusing to start prosody: %w", err)
	}
	return nil
}

// waitPorts waits until every port of the config accepts.
func (s *Server) waitPorts(ctx context.Context) error {
	addrs := []string{s.C2SAddr(), testproc.Loopback(s.HTTPPort)}
	if s.hasComponent {
		// Prosody opens the component port only when a Component is declared.
		addrs = append(addrs, s.ComponentAddr())
	}
	for _, addr := range addrs {
		if err := s.WaitPort(ctx, addr); err != nil {
			return err
		}
	}
	return nil
}

// config renders the whole config file.
func (s *Server) config(opts Options) string {
	q := luaString
	var b bytes.Buffer
	paths := append(append([]string{}, opts.PluginPaths...), RepoPluginsDir())
	// http is always on so HTTPPort is always served (and waited for).
	modules := append([]string{"roster", "saslauth", "disco", "http"}, opts.Modules...)
	fmt.Fprintf(&b, "-- generated by modhost's prosodytest for one test\n")
	fmt.Fprintf(&b, "run_as_root = true\ndaemonize = false\n")
	fmt.Fprintf(&b, "pidfile = %s\ndata_path = %s\n", q(s.PidPath), q(s.DataPath))
	level := opts.LogLevel
	if level == "" {
		level = "debug"
	}
	fmt.Fprintf(&b, "log = { %s = %s }\n", level, q(s.LogPath))
	fmt.Fprintf(&b, "interfaces = { \"127.0.0.1\" }\nlocal_interfaces = { \"127.0.0.1\" }\n")
	fmt.Fprintf(&b, "c2s_ports = { %d }\nc2s_interfaces = { \"127.0.0.1\" }\n", s.C2SPort)
	fmt.Fprintf(&b, "component_ports = { %d }\ncomponent_interfaces = { \"127.0.0.1\" }\n", s.ComponentPort)
	fmt.Fprintf(&b, "http_ports = { %d }\nhttp_interfaces = { \"127.0.0.1\" }\n", s.HTTPPort)
	// Requests to 127.0.0.1 reach the test's VirtualHost's HTTP routes.
	fmt.Fprintf(&b, "http_default_host = %s\n", q(s.Host))
	// Every other listener off: nothing of a test server is reachable from outside.
	fmt.Fprintf(&b, "https_ports = {}\ns2s_ports = {}\nc2s_direct_tls_ports = {}\nlegacy_ssl_ports = {}\n")
	fmt.Fprintf(&b, "modules_disabled = { \"s2s\" }\n")
	fmt.Fprintf(&b, "c2s_require_encryption = false\ns2s_require_encryption = false\nallow_unencrypted_plain_auth = true\n")
	fmt.Fprintf(&b, "authentication = \"internal_plain\"\n")
	if opts.Global != "" {
		fmt.Fprintf(&b, "%s\n", opts.Global)
	}
	fmt.Fprintf(&b, "certificates = %s\n", q(filepath.Join(s.Dir, "certs")))
	fmt.Fprintf(&b, "plugin_paths = { %s }\n", luaList(paths))
	fmt.Fprintf(&b, "modules_enabled = { %s }\n", luaList(modules))
	placeholders := strings.NewReplacer(
		"{{COMPONENT_PORT}}", strconv.Itoa(s.ComponentPort),
		"{{HTTP_PORT}}", strconv.Itoa(s.HTTPPort),
		"{{DIR}}", s.Dir,
	)
	fmt.Fprintf(&b, "\nVirtualHost %s\n%s\n", q(s.Host), placeholders.Replace(opts.HostConfig))
	fmt.Fprintf(&b, "\n%s\n", placeholders.Replace(opts.Config))
	return b.String()
}

// cleanEnv drops variables that could point Prosody at another config.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PROSODY_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// storeEncode is util.datamanager's file-name encoding: every byte that is not
// an ASCII letter or digit becomes %xx.
func storeEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

func luaString(s string) string { return strconv.Quote(s) }

func luaList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = luaString(it)
	}
	return strings.Join(quoted, "; ")
}

// AssertNoLuaErrors fails t on every error-level line or traceback in
// Prosody's log, except lines containing one of ignore (failures a test
// provokes on purpose): a plugin that throws may still make the visible
// checks pass.
func (s *Server) AssertNoLuaErrors(t testing.TB, ignore ...string) {
	t.Helper()
lines:
	for _, line := range strings.Split(s.Log(), "\n") {
		for _, skip := range ignore {
			if strings.Contains(line, skip) {
				continue lines
			}
		}
		if strings.Contains(line, "\terror\t") || strings.Contains(line, "traceback") || strings.Contains(line, "Traceback") {
			t.Errorf("prosody logged: %s", line)
		}
	}
}
