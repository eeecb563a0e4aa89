package benchrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modhost/modhost/host"
)

// The modhost runtime under measurement runs in a child process of its own
// (the bench binary started again with a hidden subcommand), so its resident
// memory is that process's VmRSS and nothing of the driver's. Parent and
// child speak JSON lines: requests on the child's stdin, replies on its file
// descriptor 3, so nothing a plugin prints to stdout can garble them.

// ChildEnv is set in the child's environment; a test binary's TestMain
// checks it to become the child.
const ChildEnv = "MODHOST_BENCH_CHILD"

type childRequest struct {
	Op string `json:"op"` // start, login, logout, pushes, gc, quit

	// start
	Config   string `json:"config,omitempty"`
	Name     string `json:"name,omitempty"`
	LinkHost string `json:"link_host,omitempty"` // wait until this host's link is online

	// login, logout
	Host        string   `json:"host,omitempty"`
	Users       []string `json:"users,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	Presence    bool     `json:"presence,omitempty"`
	WantItems   int      `json:"want_items,omitempty"`
}

type childReply struct {
	Error     string    `json:"error,omitempty"`
	HTTP      string    `json:"http,omitempty"`
	Millis    []float64 `json:"millis,omitempty"` // login: one per user that logged in
	Failures  []string  `json:"failures,omitempty"`
	Pushes    int       `json:"pushes,omitempty"`
	PushUsers int       `json:"push_users,omitempty"`
}

// ServeChild is ServeRuntime on the descriptors the parent sets up: requests
// on stdin, replies on descriptor 3, logs on stderr.
//
// With MODHOST_BENCH_CPUPROFILE=PREFIX in the environment, each child
// writes a CPU profile of its whole life to PREFIX.PID (go tool pprof
// bin/modhost-bench PREFIX.PID): where B's and C's modhost spend their
// time, without the driver's clients and web app.
//
// With MODHOST_BENCH_HEAPPROFILE=PREFIX, each child records every
// allocation and writes a heap profile at each memory reading, to
// PREFIX.PID.1 (before the logins), .2 (users online), .3 (after the
// rounds): go tool pprof -base PREFIX.PID.1 PREFIX.PID.2 is what the online
// users hold in B's or C's modhost. Beside each, PREFIX.PID.N.memstats has
// the runtime's figures (heap in use, stacks, GC metadata, …);
// MODHOST_BENCH_MEMSTATS=PREFIX writes those alone, allocations not
// recorded.
func ServeChild(ctx context.Context) error {
	replies := os.NewFile(3, "modhost-bench replies")
	if replies == nil {
		return errors.New("no reply descriptor 3: start this only from modhost-bench")
	}
	defer replies.Close()
	if prefix := os.Getenv("MODHOST_BENCH_CPUPROFILE"); prefix != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if os.Getenv("MODHOST_BENCH_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // a few MiB between two profiles is sampling noise at the default rate
	}
	return ServeRuntime(ctx, os.Stdin, replies, os.Stderr)
}

// ServeRuntime is the child's side: it reads requests from in until quit
// or end of input, and answers each on out. Logs (warnings and worse) go to
// logs.
func ServeRuntime(ctx context.Context, in io.Reader, out io.Writer, logs io.Writer) error {
	c := &child{
		log:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		sessions: map[string]*host.Session{},
	}
	defer c.stop()
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	for {
		var req childRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		reply := c.handle(ctx, req)
		if err := enc.Encode(reply); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
		if req.Op == "quit" {
			return nil
		}
	}
}

type child struct {
	log      *slog.Logger
	rt       *host.Runtime
	mu       sync.Mutex
	sessions map[string]*host.Session // by user: the online ones
	// pushesSeen counts the pushes counted so far, whose stanzas the
	// sessions then forgot: a client in its own process would not keep
	// what it has read in modhost's memory, and a long run (a soak) would
	// measure the bench's buffers.
	pushesSeen int
	// heapProfiles counts the heap profiles written (see ServeChild).
	heapProfiles int
}

func (c *child) stop() {
	if c.rt != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.rt.Stop(ctx)
		c.rt = nil
	}
}

func (c *child) handle(ctx context.Context, req childRequest) childReply {
	switch req.Op {
	case "start":
		return c.start(ctx, req)
	case "login":
		return c.login(ctx, req)
	case "logout":
		return c.logout(ctx, req)
	case "pushes":
		return c.pushes()
	case "gc":
		// What the users cost once the servers have done their logins'
		// work: a linked runtime's roster writes answered, so that neither
		// process is read half-way through them.
		if reply := c.writesAnswered(ctx); reply.Error != "" {
			return reply
		}
		// Garbage is not what RSS per user means to measure; Prosody's Lua
		// collector runs incrementally on its own, Go's is asked here.
		runtime.GC()
		debug.FreeOSMemory()
		return c.heapProfile()
	case "quit":
		c.stop()
		return childReply{}
	}
	return childReply{Error: "unknown op " + req.Op}
}

// writesAnswered waits, as long as the server keeps answering, until it has answered
// every roster write of a linked runtime; at once without a link.
func (c *child) writesAnswered(ctx context.Context) childReply {
	if c.rt == nil {
		return childReply{}
	}
	// A server answering slowly is waited for (50 users with 1,000 contacts
	// each make Prosody save 50,000 whole rosters, minutes of work); one
	// that answers nothing for stallLimit is not.
	const stallLimit = time.Minute
	last, lastChange := int64(-1), time.Now()
	for {
		var pending int64
		for _, n := range c.rt.LinkPendingWrites() {
			pending += n
		}
		if pending == 0 {
			return childReply{}
		}
		if pending != last {
			last, lastChange = pending, time.Now()
		} else if time.Since(lastChange) > stallLimit {
			return childReply{Error: fmt.Sprintf("%d roster writes unanswered by the server, none answered for a minute", pending)}
		}
		select {
		case <-ctx.Done():
			return childReply{Error: ctx.Err().Error()}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// heapProfile writes the next heap profile when MODHOST_BENCH_HEAPPROFILE
// asks for them (see ServeChild).
func (c *child) heapProfile() childReply {
	prefix := os.Getenv("MODHOST_BENCH_HEAPPROFILE")
	statsOnly := prefix == ""
	if statsOnly {
		// MODHOST_BENCH_MEMSTATS=PREFIX: the runtime's own figures alone,
		// with allocations not recorded (which inflates what they show).
		if prefix = os.Getenv("MODHOST_BENCH_MEMSTATS"); prefix == "" {
			return childReply{}
		}
	}
	c.heapProfiles++
	name := fmt.Sprintf("%s.%d.%d", prefix, os.Getpid(), c.heapProfiles)
	if !statsOnly {
		f, err := os.Create(name)
		if err != nil {
			return childReply{Error: fmt.Sprintf("heap profile: %v", err)}
		}
		defer f.Close()
		runtime.GC() // a profile shows the heap as of the last collection but one
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return childReply{Error: fmt.Sprintf("heap profile: %v", err)}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Beside it, what the runtime holds besides live objects, and what was
	// allocated since the start (two readings apart: a round's garbage).
	stats := fmt.Sprintf("heap_alloc_kib %d\nheap_inuse_kib %d\nheap_objects %d\nstack_inuse_kib %d\nmspan_inuse_kib %d\ngc_sys_kib %d\nother_sys_kib %d\ngoroutines %d\nnum_gc %d\ntotal_alloc_kib %d\nmallocs %d\n",
		m.HeapAlloc>>10, m.HeapInuse>>10, m.HeapObjects, m.StackInuse>>10, m.MSpanInuse>>10, m.GCSys>>10, m.OtherSys>>10, runtime.NumGoroutine(), m.NumGC,
		m.TotalAlloc>>10, m.Mallocs)
	if err := os.WriteFile(name+".memstats", []byte(stats), 0o644); err != nil {
		return childReply{Error: fmt.Sprintf("heap profile: %v", err)}
	}
	return childReply{}
}

func (c *child) start(ctx context.Context, req childRequest) childReply {
	if c.rt != nil {
		return childReply{Error: "already started"}
	}
	rt, err := host.New(host.Options{ConfigSource: req.Config, ConfigName: req.Name, Logger: c.log})
	if err != nil {
		return childReply{Error: fmt.Sprintf("load config: %v", err)}
	}
	startCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	report, err := rt.Start(startCtx)
	if err != nil {
		return childReply{Error: fmt.Sprintf("start runtime: %v", err)}
	}
	c.rt = rt
	if !report.OK() {
		return childReply{Error: fmt.Sprintf("modules did not load: %+v", report)}
	}
	if req.LinkHost != "" {
		for rt.LinkStates()[req.LinkHost] != "online" {
			select {
			case <-startCtx.Done():
				return childReply{Error: fmt.Sprintf("link of %s not online: %v", req.LinkHost, rt.LinkStates())}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	urls := rt.HTTPURLs()
	if len(urls) == 0 {
		return childReply{Error: "runtime serves no HTTP"}
	}
	return childReply{HTTP: urls[0]}
}

// login logs users in as standalone sessions, each asking for its roster
// (and sending initial presence when asked), and times each from the login
// until its roster holds WantItems contacts.
func (c *child) login(ctx context.Context, req childRequest) childReply {
	if c.rt == nil {
		return childReply{Error: "not started"}
	}
	type result struct {
		millis float64
		err    error
	}
	results := make([]result, len(req.Users))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(req.Concurrency, 1) {
		wg.Go(func() {
			for i := range work {
				user := req.Users[i]
				start := time.Now()
				s, err := c.loginOne(ctx, req.Host, user, req.WantItems)
				results[i] = result{float64(time.Since(start).Microseconds()) / 1000, err}
				if err != nil {
					continue
				}
				if req.Presence {
					if err := s.Presence(ctx); err != nil {
						results[i].err = fmt.Errorf("presence of %s: %w", user, err)
					}
				}
				// What the login brought (the roster) is read: a client
				// in its own process would not keep it in modhost's memory.
				s.Forget()
				c.mu.Lock()
				c.sessions[user] = s
				c.mu.Unlock()
			}
		})
	}
	for i := range req.Users {
		work <- i
	}
	close(work)
	wg.Wait()
	var reply childReply
	for _, r := range results {
		if r.err != nil {
			reply.Failures = append(reply.Failures, r.err.Error())
			continue
		}
		reply.Millis = append(reply.Millis, r.millis)
	}
	return reply
}

func (c *child) loginOne(ctx context.Context, hostname, user string, want int) (*host.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := c.rt.Login(ctx, hostname, user, "bench")
	if err != nil {
		return nil, err
	}
	items, err := rosterItemCount(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("roster of %s: %w", user, err)
	}
	if items != want {
		return nil, fmt.Errorf("roster of %s has %d contacts, want %d", user, items, want)
	}
	return s, nil
}

var rosterQueries atomic.Int64

// rosterItemCount asks for the roster as a client does and counts the
// items of the answer. The client runs in the measured process here (in A
// and C it is the driver's): decoding every item with encoding/xml, as
// Session.Roster does, was a quarter of what a login allocated in it.
// What the items hold is the tests' to check (host, the plugin's).
func rosterItemCount(ctx context.Context, s *host.Session) (int, error) {
	id := "bench-roster-" + strconv.FormatInt(rosterQueries.Add(1), 10)
	start := s.Count()
	if err := s.Send(ctx, `<iq type="get" id="`+id+`"><query xmlns="jabber:iq:roster"/></iq>`); err != nil {
		return 0, err
	}
	reply, _, err := s.Next(ctx, start, func(x string) bool { return strings.Contains(x, `id='`+id+`'`) || strings.Contains(x, `id="`+id+`"`) })
	if err != nil {
		return 0, err
	}
	if !strings.Contains(reply, `type='result'`) && !strings.Contains(reply, `type="result"`) {
		return 0, fmt.Errorf("roster query not answered with a result: %s", reply)
	}
	return strings.Count(reply, "<item "), nil
}

func (c *child) logout(ctx context.Context, req childRequest) childReply {
	var reply childReply
	for _, user := range req.Users {
		c.mu.Lock()
		s := c.sessions[user]
		delete(c.sessions, user)
		c.mu.Unlock()
		if s == nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.Logout(lctx); err != nil {
			reply.Failures = append(reply.Failures, fmt.Sprintf("logout %s: %v", user, err))
		}
		cancel()
	}
	return reply
}

// pushes counts the roster pushes the online sessions have received.
func (c *child) pushes() childReply {
	c.mu.Lock()
	defer c.mu.Unlock()
	var reply childReply
	for _, s := range c.sessions {
		reply.PushUsers++
		for _, x := range s.Received() {
			if isRosterPushXML(x) {
				c.pushesSeen++
			}
		}
		s.Forget()
	}
	reply.Pushes = c.pushesSeen
	return reply
}

func isRosterPushXML(x string) bool {
	return strings.HasPrefix(x, "<iq") && strings.Contains(x, "jabber:iq:roster") &&
		(strings.Contains(x, `type='set'`) || strings.Contains(x, `type="set"`))
}

// runtimeProcess is the parent's handle on a child.
type runtimeProcess struct {
	cmd     *exec.Cmd
	enc     *json.Encoder
	dec     *json.Decoder
	logPath string
	exited  chan struct{}
}

// startRuntimeProcess runs argv as the child, its logs going to a file in
// dir. The child is killed if ctx ends or this process dies.
func startRuntimeProcess(ctx context.Context, argv []string, dir string) (*runtimeProcess, error) {
	logPath := filepath.Join(dir, "modhost.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create child log: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("child stdin: %w", err)
	}
	replies, replyEnd, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("child reply pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{replyEnd} // descriptor 3 in the child
	err = cmd.Start()
	replyEnd.Close() // the child holds its own copy
	if err != nil {
		logFile.Close()
		replies.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &runtimeProcess{cmd: cmd, enc: json.NewEncoder(stdin), dec: json.NewDecoder(replies), logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		replies.Close()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the child's process id.
func (p *runtimeProcess) Pid() int { return p.cmd.Process.Pid }

// call sends one request and waits for its reply; a reply carrying an error
// is returned as one.
func (p *runtimeProcess) call(req childRequest) (childReply, error) {
	var reply childReply
	if err := p.enc.Encode(req); err != nil {
		return reply, fmt.Errorf("runtime child %s: send: %w%s", req.Op, err, p.logTail())
	}
	if err := p.dec.Decode(&reply); err != nil {
		return reply, fmt.Errorf("runtime child %s: no reply: %w%s", req.Op, err, p.logTail())
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("runtime child %s: %s%s", req.Op, reply.Error, p.logTail())
	}
	return reply, nil
}

func (p *runtimeProcess) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nruntime log (end):\n" + string(b)
}

// stop asks the child to quit and kills it (by its pid) if it does not
// exit within a few seconds.
func (p *runtimeProcess) stop() {
	done := make(chan struct{})
	go func() {
		_, _ = p.call(childRequest{Op: "quit"})
		close(done)
	}()
	select {
	case <-done:
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
