package benchrun

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/xmpptest"
)

// xmppSystem is Prosody with real XMPP clients (setups A and C); with a
// modhost child linked to it in setup C.
type xmppSystem struct {
	env     *runEnv
	prosody *prosodytest.Server
	modhost *runtimeProcess // nil in setup A
	refresh string

	mu       sync.Mutex
	clients  []*xmpptest.Client
	received atomic.Int64 // roster pushes to the online clients
	quit     chan struct{}
	readers  sync.WaitGroup
}

func (x *xmppSystem) refreshURL() string { return x.refresh }

func (x *xmppSystem) rssKiB() (total, modhost int64, err error) {
	prosody, err := rssKiB(x.prosody.Pid())
	if err != nil || x.modhost == nil {
		return prosody, 0, err
	}
	if _, err := x.modhost.call(childRequest{Op: "gc"}); err != nil {
		return 0, 0, err
	}
	own, err := rssKiB(x.modhost.Pid())
	return prosody + own, own, err
}

func (x *xmppSystem) cpuSeconds() (prosody, modhost float64, err error) {
	if prosody, err = cpuSeconds(x.prosody.Pid()); err != nil || x.modhost == nil {
		return prosody, 0, err
	}
	modhost, err = cpuSeconds(x.modhost.Pid())
	return prosody, modhost, err
}

func (x *xmppSystem) dial(ctx context.Context, user string) (*xmpptest.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: x.prosody.C2SAddr(), Domain: domain, Username: user, Password: password, Resource: "bench"})
	if err != nil {
		return nil, err
	}
	items, err := c.Roster(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("roster of %s: %w", user, err)
	}
	if len(items) != x.env.opts.Contacts {
		c.Close()
		return nil, fmt.Errorf("roster of %s has %d contacts, want %d", user, len(items), x.env.opts.Contacts)
	}
	return c, nil
}

func (x *xmppSystem) online(ctx context.Context, users []string) []string {
	if x.quit == nil {
		x.quit = make(chan struct{})
	}
	return inParallel(users, x.env.opts.LoginConcurrency, func(user string) error {
		c, err := x.dial(ctx, user)
		if err != nil {
			return err
		}
		x.mu.Lock()
		x.clients = append(x.clients, c)
		x.mu.Unlock()
		x.readers.Go(func() { x.countPushes(c) })
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return c.SendPresence(pctx, "", "")
	})
}

// countPushes reads everything a client receives (so its buffer never
// fills and drops) and counts roster pushes.
func (x *xmppSystem) countPushes(c *xmpptest.Client) {
	for {
		select {
		case e := <-c.Stanzas():
			if _, ok := e.Child("query", xmpptest.NSRoster); ok && e.Is("iq", "set") {
				x.received.Add(1)
			}
		case <-x.quit:
			return
		}
	}
}

func (x *xmppSystem) timedLogins(ctx context.Context, users []string) ([]float64, []string) {
	var millis []float64
	var failures []string
	var closing sync.WaitGroup
	for _, user := range users {
		start := time.Now()
		c, err := x.dial(ctx, user)
		if err != nil {
			failures = append(failures, fmt.Sprintf("timed login: %v", err))
			continue
		}
		millis = append(millis, float64(time.Since(start).Microseconds())/1000)
		closing.Go(func() { c.Close() }) // a closing stream waits for the server's end tag
	}
	closing.Wait()
	return millis, failures
}

func (x *xmppSystem) pushes() (int, error) { return int(x.received.Load()), nil }

func (x *xmppSystem) stop() {
	if x.quit != nil {
		close(x.quit)
		x.readers.Wait()
	}
	var closing sync.WaitGroup
	for _, c := range x.clients {
		closing.Go(func() { c.Close() })
	}
	closing.Wait()
	if x.modhost != nil {
		x.modhost.stop()
	}
	_ = x.prosody.Stop()
}

// standaloneSystem is a modhost child with standalone sessions (setup B).
type standaloneSystem struct {
	env     *runEnv
	proc    *runtimeProcess
	refresh string
}

func (s *standaloneSystem) refreshURL() string { return s.refresh }

func (s *standaloneSystem) rssKiB() (total, modhost int64, err error) {
	if _, err := s.proc.call(childRequest{Op: "gc"}); err != nil {
		return 0, 0, err
	}
	own, err := rssKiB(s.proc.Pid())
	return own, own, err
}

func (s *standaloneSystem) cpuSeconds() (prosody, modhost float64, err error) {
	modhost, err = cpuSeconds(s.proc.Pid())
	return 0, modhost, err
}

func (s *standaloneSystem) online(ctx context.Context, users []string) []string {
	reply, err := s.proc.call(childRequest{Op: "login", Host: domain, Users: users, Concurrency: s.env.opts.LoginConcurrency, Presence: true, WantItems: s.env.opts.Contacts})
	if err != nil {
		return []string{err.Error()}
	}
	return reply.Failures
}

func (s *standaloneSystem) timedLogins(ctx context.Context, users []string) ([]float64, []string) {
	reply, err := s.proc.call(childRequest{Op: "login", Host: domain, Users: users, Concurrency: 1, WantItems: s.env.opts.Contacts})
	if err != nil {
		return nil, []string{err.Error()}
	}
	failures := reply.Failures
	if out, err := s.proc.call(childRequest{Op: "logout", Users: users}); err != nil {
		failures = append(failures, err.Error())
	} else {
		failures = append(failures, out.Failures...)
	}
	return reply.Millis, failures
}

func (s *standaloneSystem) pushes() (int, error) {
	reply, err := s.proc.call(childRequest{Op: "pushes"})
	return reply.Pushes, err
}

func (s *standaloneSystem) stop() { s.proc.stop() }

// inParallel runs fn for every user, at most n at a time, and returns the
// failures.
func inParallel(users []string, n int, fn func(user string) error) []string {
	var mu sync.Mutex
	var failures []string
	work := make(chan string)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			for user := range work {
				if err := fn(user); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for _, u := range users {
		work <- u
	}
	close(work)
	wg.Wait()
	return failures
}
