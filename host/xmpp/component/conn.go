package component

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modhost/modhost/host/xmpp"
)

// Config says where the component connects and how it behaves on the stream.
type Config struct {
	Addr   string // host:port of the server's component listener
	JID    string // the component's domain, e.g. roster.example.com
	Secret string // the server's component_secret

	// MaxStanzaSize bounds one incoming stanza in bytes; a larger one ends
	// the stream with a policy-violation stream error. Default 1 MiB.
	MaxStanzaSize int64
	// Keepalive is how often a single space is sent while the stream is
	// otherwise quiet. Default 60 s; negative disables.
	Keepalive time.Duration
	// ConnectTimeout bounds TCP connect plus handshake when the context has
	// no earlier deadline. Default 10 s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write; a write that cannot finish ends the
	// connection (so Send never blocks for longer). Default 30 s.
	WriteTimeout time.Duration
	// IQTimeout bounds SendIQ when its context has no deadline. Default 30 s.
	IQTimeout time.Duration
	// DelegationFeatures answers the server's disco#info queries for a
	// delegated namespace (XEP-0355 §7.2, sent at every connect); bare is
	// true for the account ("bare JID") node. Default: the namespace itself
	// on the server node, nothing on the account node. Identities are
	// never sent: the server merges the answer into its own disco.
	DelegationFeatures func(namespace string, bare bool) []string

	// Client only: reconnect pacing and what a permanent error does.
	Backoff Backoff
	// ExitOnPermanent makes Client.Run return on a permanent error (wrong
	// secret, unknown component) instead of retrying with backoff.
	ExitOnPermanent bool
}

func (c Config) withDefaults() Config {
	if c.MaxStanzaSize <= 0 {
		c.MaxStanzaSize = DefaultMaxStanzaSize
	}
	if c.Keepalive == 0 {
		c.Keepalive = 60 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.IQTimeout <= 0 {
		c.IQTimeout = 30 * time.Second
	}
	if c.DelegationFeatures == nil {
		c.DelegationFeatures = func(ns string, bare bool) []string {
			if bare {
				return nil
			}
			return []string{ns}
		}
	}
	return c
}

// ErrNotConnected is returned by Send and SendIQ when there is no stream.
var ErrNotConnected = errors.New("component link is not connected")

// ErrClosed is the read error after the peer closed its stream or the TCP
// connection without a stream error (a Prosody restart is a bare close).
var ErrClosed = errors.New("component stream closed by the server")

// Conn is one authenticated XEP-0114 component stream. Read must be called
// in a loop by one goroutine: it also completes SendIQ calls and answers the
// server's delegation disco queries. Send, SendIQ and Close are safe from
// any goroutine.
type Conn struct {
	cfg      Config
	conn     net.Conn
	dec      *decoder
	streamID string
	log      *slog.Logger

	writeMu   sync.Mutex
	lastWrite time.Time

	ids     atomic.Uint64
	idBase  string
	mu      sync.Mutex
	pending map[string]*pendingIQ
	closed  bool
	err     error // why the connection ended, once it has

	done chan struct{}
}

type pendingIQ struct {
	from  string // the address the answer must come from
	reply chan *xmpp.Element
}

// Dial connects to the server's component port and performs the XEP-0114
// handshake (§3: sha1 of stream id + secret, hex). A refusal is a
// *StreamError: not-authorized for a wrong secret, host-unknown for a
// JID the server has no Component for (both Permanent).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	return dial(ctx, cfg, slog.New(slog.DiscardHandler))
}

func dial(ctx context.Context, cfg Config, log *slog.Logger) (*Conn, error) {
	cfg = cfg.withDefaults()
	if cfg.JID == "" || cfg.Addr == "" {
		return nil, errors.New("component: Config needs Addr and JID")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Addr, err)
	}
	c := &Conn{
		cfg:     cfg,
		conn:    nc,
		dec:     newDecoder(bufio.NewReaderSize(ackAtOnce(nc), 4096), cfg.MaxStanzaSize),
		log:     log,
		idBase:  randomID(),
		pending: map[string]*pendingIQ{},
		done:    make(chan struct{}),
	}
	// The handshake is bounded by ctx: its deadline goes on the socket, and
	// a cancelled ctx closes it.
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	err = c.handshake()
	if !stop() {
		err = fmt.Errorf("handshake with %s: %w", cfg.Addr, ctx.Err())
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	if cfg.Keepalive > 0 {
		go c.keepalive(cfg.Keepalive)
	}
	return c, nil
}

func (c *Conn) handshake() error {
	header := "<?xml version='1.0'?><stream:stream xmlns='" + NSComponent +
		"' xmlns:stream='" + nsStream + "' to='" + attrEscape(c.cfg.JID) + "'>"
	if _, err := io.WriteString(c.conn, header); err != nil {
		return fmt.Errorf("send stream header: %w", err)
	}
	attrs, err := c.dec.streamHeader()
	if err != nil {
		return fmt.Errorf("read stream header from %s: %w", c.cfg.Addr, err)
	}
	c.streamID = attrs["id"]
	if c.streamID == "" {
		// The server may have refused the header already (host-unknown).
		if e, err := c.dec.next(); err == nil && isStreamError(e) {
			return parseStreamError(e)
		}
		return fmt.Errorf("stream header from %s has no id: %w", c.cfg.Addr, ErrBadFormat)
	}
	if _, err := io.WriteString(c.conn, "<handshake>"+HandshakeDigest(c.streamID, c.cfg.Secret)+"</handshake>"); err != nil {
		return fmt.Errorf("send handshake: %w", err)
	}
	for {
		e, err := c.dec.next()
		switch {
		case errors.Is(err, errStreamEnd) || errors.Is(err, io.EOF):
			return fmt.Errorf("handshake as %s: %w", c.cfg.JID, ErrClosed)
		case err != nil:
			return fmt.Errorf("handshake as %s: %w", c.cfg.JID, err)
		case isStreamError(e):
			return fmt.Errorf("handshake as %s: %w", c.cfg.JID, parseStreamError(e))
		case e.Name == "handshake" && (e.NS == "" || e.NS == NSComponent):
			return nil
		}
		// Anything else before <handshake/> (stream features from servers
		// that send them) is not for us.
	}
}

// HandshakeDigest is the XEP-0114 §3 handshake: lowercase hex of
// SHA-1(stream id + secret).
func HandshakeDigest(streamID, secret string) string {
	sum := sha1.Sum([]byte(streamID + secret))
	return hex.EncodeToString(sum[:])
}

func isStreamError(e *xmpp.Element) bool { return e.Name == "error" && e.NS == nsStream }

// StreamID is the id the server gave the stream.
func (c *Conn) StreamID() string { return c.streamID }

// JID is the component's address.
func (c *Conn) JID() string { return c.cfg.JID }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Read returns the next incoming stanza. It consumes, without returning
// them, answers to pending SendIQ calls and the server's delegation disco
// queries. The error ends the connection: a *StreamError from the server (or
// sent by us, e.g. policy-violation for a stanza over MaxStanzaSize),
// ErrClosed for a close without one, or the network error.
func (c *Conn) Read() (*xmpp.Element, error) {
	for {
		e, err := c.dec.next()
		if err != nil {
			return nil, c.fail(c.readError(err))
		}
		if isStreamError(e) {
			return nil, c.fail(parseStreamError(e))
		}
		if c.complete(e) {
			continue
		}
		if reply := c.delegationDisco(e); reply != nil {
			if err := c.Send(reply); err != nil {
				return nil, c.fail(err)
			}
			continue
		}
		return e, nil
	}
}

// readError maps decoder failures to what ends the stream, sending a stream
// error where the fault is the server's XML.
func (c *Conn) readError(err error) error {
	var se *StreamError
	switch {
	case errors.Is(err, errStreamEnd), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrClosed
	case errors.Is(err, errTooLarge):
		return c.sendStreamError("policy-violation", fmt.Sprintf("stanza larger than %d bytes", c.cfg.MaxStanzaSize))
	case errors.Is(err, errTooDeep):
		return c.sendStreamError("policy-violation", fmt.Sprintf("stanza nested deeper than %d", defaultMaxDepth))
	case errors.As(err, &se):
		return c.sendStreamError(se.Condition, err.Error())
	}
	return fmt.Errorf("read from %s: %w", c.cfg.Addr, err)
}

func (c *Conn) sendStreamError(condition, text string) error {
	msg := append(streamErrorElement(condition, text), "</stream:stream>"...)
	_ = c.write(msg)
	return &StreamError{Condition: condition, Text: text, Sent: true}
}

// Send writes one stanza. It fails at once when the connection has ended,
// and ends the connection when a write cannot finish within WriteTimeout.
func (c *Conn) Send(e *xmpp.Element) error {
	if e == nil {
		return errors.New("send: nil stanza")
	}
	var writeErr error
	err := withEncoded(e, func(b []byte) error {
		writeErr = c.write(b) // done with b when it returns
		return nil
	})
	if err != nil {
		return fmt.Errorf("send <%s>: %w", e.Name, err)
	}
	return writeErr
}

func (c *Conn) write(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	select {
	case <-c.done:
		return fmt.Errorf("%w: %v", ErrNotConnected, c.cause())
	default:
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if _, err := c.conn.Write(b); err != nil {
		err = fmt.Errorf("write to %s: %w", c.cfg.Addr, err)
		c.conn.Close() // a half-written stanza leaves the stream unusable
		return err
	}
	c.lastWrite = time.Now()
	return nil
}

// keepalive sends a space whenever nothing was written for a whole period
// (RFC 6120 §4.6.1), so idle NATs and the server keep the stream.
func (c *Conn) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.writeMu.Lock()
			idle := time.Since(c.lastWrite) >= every-every/10
			c.writeMu.Unlock()
			if idle {
				if err := c.write([]byte(" ")); err != nil {
					c.log.Debug("keepalive failed", "err", err)
					return
				}
			}
		}
	}
}

// SendIQ sends an IQ get or set and waits for the result or error from the
// IQ's to address, which it must have. An id is assigned when the IQ has
// none. An error answer is returned as the reply together with a
// *StanzaError. The wait ends with ctx, with IQTimeout when ctx has no
// deadline, or when the connection ends.
func (c *Conn) SendIQ(ctx context.Context, iq *xmpp.Element) (*xmpp.Element, error) {
	return c.StartIQ(ctx, iq)()
}

// StartIQ is SendIQ in two halves: it sends the IQ now, and wait, which must
// be called once, waits for its answer as SendIQ does (within ctx). IQs
// started one after the other go out in that order, so several can be
// awaiting their answers at once, in the order of the stream.
func (c *Conn) StartIQ(ctx context.Context, iq *xmpp.Element) (wait func() (*xmpp.Element, error)) {
	failed := func(err error) func() (*xmpp.Element, error) {
		return func() (*xmpp.Element, error) { return nil, err }
	}
	if iq == nil || iq.Name != "iq" {
		return failed(errors.New("SendIQ: not an iq"))
	}
	if t := attr(iq, "type"); t != "get" && t != "set" {
		return failed(fmt.Errorf("SendIQ: iq of type %q expects no answer", t))
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, c.cfg.IQTimeout)
	}
	iq = shallowCopy(iq)
	id := attr(iq, "id")
	if id == "" {
		id = c.NewID()
		setAttr(iq, "id", id)
	}
	// The answer must come from where the IQ went; without a to there is
	// nobody to hold the answer to.
	from := attr(iq, "to")
	if from == "" {
		cancel()
		return failed(errors.New("SendIQ: iq has no to address"))
	}
	p := &pendingIQ{from: from, reply: make(chan *xmpp.Element, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return failed(fmt.Errorf("%w: %v", ErrNotConnected, c.err))
	}
	if _, dup := c.pending[id]; dup {
		c.mu.Unlock()
		cancel()
		return failed(fmt.Errorf("SendIQ: id %q already waiting", id))
	}
	c.pending[id] = p
	c.mu.Unlock()
	done := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		cancel()
	}
	if err := c.Send(iq); err != nil {
		done()
		return failed(err)
	}
	return func() (*xmpp.Element, error) {
		defer done()
		select {
		case reply := <-p.reply:
			if se := ParseStanzaError(reply); se != nil {
				return reply, se
			}
			return reply, nil
		case <-c.done:
			return nil, fmt.Errorf("iq %s to %s: %w: %v", id, from, ErrNotConnected, c.cause())
		case <-ctx.Done():
			return nil, fmt.Errorf("iq %s to %s: no answer: %w", id, from, ctx.Err())
		}
	}
}

// complete hands an IQ answer to its SendIQ; an answer from any other address
// than the one asked is not accepted as the answer (it could be forged).
func (c *Conn) complete(e *xmpp.Element) bool {
	if e.Name != "iq" {
		return false
	}
	if t := attr(e, "type"); t != "result" && t != "error" {
		return false
	}
	id := attr(e, "id")
	c.mu.Lock()
	p, ok := c.pending[id]
	if ok && p.from == attr(e, "from") {
		delete(c.pending, id)
	} else {
		ok = false
	}
	c.mu.Unlock()
	if ok {
		p.reply <- e
	}
	return ok
}

// NewID returns a stanza id unique to this connection.
func (c *Conn) NewID() string {
	return c.idBase + strconv.FormatUint(c.ids.Add(1), 36)
}

// fail records why the connection ended, closes it and wakes every waiter.
func (c *Conn) fail(err error) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.err = err
		c.conn.Close()
		close(c.done)
	}
	c.mu.Unlock()
	return err
}

func (c *Conn) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the stream politely (</stream:stream>) and the connection.
func (c *Conn) Close() error {
	_ = c.write([]byte("</stream:stream>"))
	_ = c.fail(errors.New("closed by us")) // Close of a failed link is not an error
	return nil
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "mh" + hex.EncodeToString(b[:]) + "-"
}

func attrEscape(s string) string {
	var b bytes.Buffer
	escapeAttr(&b, s)
	return b.String()
}
