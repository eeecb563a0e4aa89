// Package testproc is the process handling the server kits share
// (internal/prosodytest, internal/ejabberdtest): a server started with an
// environment of the kit's choosing in its own process group, waited for
// until it serves, stopped by its pid with a bound, killed as a crash would,
// and started again on the same command.
//
// Only the process this package started (and its group, which holds only
// that process and the port programs it spawned) is ever signalled.
package testproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// killBound is how long a process may take to go after SIGKILL.
const killBound = 5 * time.Second

// Daemon is one server process owned by a test: its command, and the running
// process when there is one. The kits fill the fields once the ports are
// known and never change them while it runs.
type Daemon struct {
	// Name is what messages call the server ("prosody", "ejabberd").
	Name string
	// Path and Args are the command; Dir its working folder; Env its whole
	// environment (nothing of the caller's is added).
	Path string
	Args []string
	Dir  string
	Env  []string
	// Check, when set, runs before every start; its error stops the start
	// (prosodytest refuses to start without its own config file).
	Check func() error
	// OutputPath receives the process's stdout and stderr, appended to
	// across starts.
	OutputPath string
	// Ready waits until the process serves; it returns early with an error
	// when the process exits (WaitPort does). Nil: started is ready.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds Ready.
	ReadyTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
	StopGrace time.Duration

	// StartedIn is how long the last start took, up to Ready; StoppedIn how
	// long the last Stop took.
	StartedIn time.Duration
	StoppedIn time.Duration

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Pid is the running process's id, 0 when stopped.
func (d *Daemon) Pid() int {
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Running reports whether the process was started and has not been stopped
// or killed through this Daemon (it may still have died on its own).
func (d *Daemon) Running() bool { return d.cmd != nil }

// StartAgain starts a stopped or killed server on the same command and
// waits until it is ready.
func (d *Daemon) StartAgain() error {
	if d.cmd != nil {
		return fmt.Errorf("%s is already running", d.Name)
	}
	return d.Start()
}

// Restart stops the server and starts it again on the same command.
func (d *Daemon) Restart() error {
	if err := d.Stop(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := d.Start(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// Start runs the command and waits until Ready says it serves; if it does
// not within ReadyTimeout, the process is stopped and the error says why.
func (d *Daemon) Start() error {
	begin := time.Now()
	if d.Check != nil {
		if err := d.Check(); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(d.OutputPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s's output file: %w", d.Name, err)
	}
	cmd := exec.Command(d.Path, d.Args...)
	cmd.Dir = d.Dir
	cmd.Env = d.Env
	cmd.Stdout, cmd.Stderr = out, out
	// A group of its own, so signals reach its port programs too; and gone
	// with the test binary if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", d.Path, err)
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	exited := d.exited
	go func() {
		d.waitErr = cmd.Wait()
		out.Close()
		close(exited)
	}()
	if d.Ready != nil {
		ctx, cancel := context.WithTimeout(context.Background(), d.ReadyTimeout)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			_ = d.Stop()
			return err
		}
	}
	d.StartedIn = time.Since(begin)
	return nil
}

// Stop ends the server: SIGTERM, then SIGKILL after StopGrace. Stopping a
// stopped server does nothing.
// ErrKilledAfterGrace is wrapped by Stop's error when the server outlived
// StopGrace after SIGTERM and had to be killed.
var ErrKilledAfterGrace = errors.New("killed after the grace period")

func (d *Daemon) Stop() error {
	if d.cmd == nil {
		return nil
	}
	defer func() { d.cmd = nil }()
	select {
	case <-d.exited:
		return nil
	default:
	}
	begin := time.Now()
	defer func() { d.StoppedIn = time.Since(begin) }()
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(d.StopGrace):
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-d.exited:
		return fmt.Errorf("%s ignored SIGTERM for %v and was killed: %w", d.Name, d.StopGrace, ErrKilledAfterGrace)
	case <-time.After(killBound):
		return fmt.Errorf("%s did not exit after SIGKILL", d.Name)
	}
}

// Kill ends the server at once with SIGKILL, as a crash or an OOM kill
// would: no stream is closed, nothing is flushed. StartAgain brings it back.
func (d *Daemon) Kill() error {
	if d.cmd == nil {
		return nil
	}
	defer func() { d.cmd = nil }()
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-d.exited:
		return nil
	case <-time.After(killBound):
		return fmt.Errorf("%s did not exit after SIGKILL", d.Name)
	}
}

// Exited is closed once the last started process has exited; nil before
// the first start.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// ExitErr is how the last process ended (valid once Exited is closed).
func (d *Daemon) ExitErr() error { return d.waitErr }

// Output is what the process wrote to stdout and stderr so far.
func (d *Daemon) Output() string {
	b, _ := os.ReadFile(d.OutputPath)
	return string(b)
}

// WaitPort waits until addr accepts a TCP connection, and fails early, with
// the process's output, if the process exits first.
func (d *Daemon) WaitPort(ctx context.Context, addr string) error {
	var dialer net.Dialer
	return d.Poll(ctx, addr, func(ctx context.Context) bool {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
}

// Poll calls ready every 50ms until it returns true, the process exits (an
// error with its output) or ctx ends (an error naming what was awaited).
func (d *Daemon) Poll(ctx context.Context, what string, ready func(ctx context.Context) bool) error {
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("%s exited before %s answered (%v); output:\n%s", d.Name, what, d.waitErr, d.Output())
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FreePorts asks the kernel for n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Loopback is 127.0.0.1:port.
func Loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
