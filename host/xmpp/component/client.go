package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/modhost/modhost/host/xmpp"
)

// State is where a Client stands.
type State int

const (
	Down       State = iota // not connected; waiting to retry, or stopped
	Connecting              // dialling and handshaking
	Online                  // authenticated; stanzas flow
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Online:
		return "online"
	}
	return "down"
}

// Handler receives a Client's events, all from the goroutine running Run, in
// order: Connected, then that connection's stanzas, then Disconnected. A
// handler must not block for long (post to the Lua loop and return) and must
// not wait on Client.SendIQ from inside a callback: the answer is read by the
// same goroutine.
type Handler interface {
	// Connected: the stream is authenticated. The server's privilege and
	// delegation advertisements follow as ordinary stanzas (see
	// ParsePrivileges, ParseDelegations); so do the presences of users
	// already online. State held about the previous connection (who is
	// online) is stale from here and is rebuilt from those replays.
	Connected(c *Conn)
	// Stanza is every incoming stanza except answers to SendIQ and the
	// server's delegation disco queries, which the link handles.
	Stanza(e *xmpp.Element)
	// Disconnected: the stream ended with err. Who is online is unknown
	// until the next Connected (the server sends no unavailable presences
	// when it shuts down).
	Disconnected(err error)
}

// Backoff paces reconnection: the n-th consecutive retry waits
// Min·2ⁿ plus up to half of that again as jitter, capped at Max; a connection
// that stayed up for Stable resets the count.
type Backoff struct {
	Min    time.Duration // default 500 ms
	Max    time.Duration // default 30 s
	Stable time.Duration // default 1 min
	// Rand returns a number in [0,1) for the jitter; default math/rand/v2.
	Rand func() float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 500 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(30*time.Second, b.Min)
	}
	if b.Stable <= 0 {
		b.Stable = time.Minute
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	return b
}

// Delay is the wait before retry number attempt (0 for the first retry),
// always within [Min, Max].
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d += time.Duration(float64(d) / 2 * b.Rand())
	return min(max(d, b.Min), b.Max)
}

// Client keeps one component connection up for as long as Run runs: it
// connects, hands stanzas to its Handler, and after any drop reconnects with
// Backoff. There is no outgoing queue: Send and SendIQ fail with
// ErrNotConnected while the link is down, and the runtime resynchronises
// after Connected instead of replaying stale stanzas.
type Client struct {
	cfg     Config
	handler Handler
	log     *slog.Logger

	mu        sync.Mutex
	state     State
	conn      *Conn
	listeners []func(State)
}

// NewClient prepares a link; nothing happens until Run. log may be nil.
func NewClient(cfg Config, handler Handler, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	cfg.Backoff = cfg.Backoff.withDefaults()
	return &Client{cfg: cfg, handler: handler, log: log.With("component", cfg.JID)}
}

// OnState registers fn to be called, from Run's goroutine, on every state
// change. Register before Run to see every change.
func (l *Client) OnState(fn func(State)) {
	l.mu.Lock()
	l.listeners = append(l.listeners, fn)
	l.mu.Unlock()
}

// State is the link's current state.
func (l *Client) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

func (l *Client) setState(s State, c *Conn) {
	l.mu.Lock()
	changed := l.state != s
	l.state, l.conn = s, c
	fns := append([]func(State){}, l.listeners...)
	l.mu.Unlock()
	if changed {
		for _, fn := range fns {
			fn(s)
		}
	}
}

// current is the online connection, or nil.
func (l *Client) current() *Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn
}

// Send writes a stanza on the current connection; ErrNotConnected while down.
func (l *Client) Send(e *xmpp.Element) error {
	c := l.current()
	if c == nil {
		return ErrNotConnected
	}
	return c.Send(e)
}

// SendIQ sends an IQ on the current connection and waits for its answer (see
// Conn.SendIQ); ErrNotConnected while down, or if the link drops meanwhile.
func (l *Client) SendIQ(ctx context.Context, iq *xmpp.Element) (*xmpp.Element, error) {
	return l.StartIQ(ctx, iq)()
}

// StartIQ is Conn.StartIQ on the current connection; its wait gives
// ErrNotConnected while down.
func (l *Client) StartIQ(ctx context.Context, iq *xmpp.Element) func() (*xmpp.Element, error) {
	c := l.current()
	if c == nil {
		return func() (*xmpp.Element, error) { return nil, ErrNotConnected }
	}
	return c.StartIQ(ctx, iq)
}

// Run connects and keeps reconnecting until ctx ends (then it closes the
// stream and returns nil). With Config.ExitOnPermanent it returns the first
// permanent error (see IsPermanent) instead of retrying.
func (l *Client) Run(ctx context.Context) error {
	defer l.setState(Down, nil)
	attempt := 0
	for {
		l.setState(Connecting, nil)
		started := time.Now()
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) >= l.cfg.Backoff.Stable {
			attempt = 0
		}
		if IsPermanent(err) && l.cfg.ExitOnPermanent {
			return fmt.Errorf("component %s: %w", l.cfg.JID, err)
		}
		l.setState(Down, nil)
		delay := l.cfg.Backoff.Delay(attempt)
		attempt++
		l.log.Warn("component link down, retrying", "err", err, "retry_in", delay.Round(time.Millisecond), "permanent", IsPermanent(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// session is one connection's life: dial, serve until it ends.
func (l *Client) session(ctx context.Context) error {
	c, err := dial(ctx, l.cfg, l.log)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	l.log.Info("component link online", "addr", l.cfg.Addr, "stream", c.StreamID())
	l.setState(Online, c)
	l.handler.Connected(c)
	for {
		e, err := c.Read()
		if err != nil {
			l.setState(Down, nil)
			if ctx.Err() != nil {
				err = errors.Join(err, ctx.Err())
			}
			l.handler.Disconnected(err)
			return err
		}
		l.handler.Stanza(e)
	}
}
