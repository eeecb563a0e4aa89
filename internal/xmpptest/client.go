// Package xmpptest is a minimal XMPP client (RFC 6120 c2s, RFC 6121 roster)
// for tests against a real server on loopback: plain TCP, SASL PLAIN, resource
// binding, raw stanzas, roster get/push and presence. It is hand-written over
// encoding/xml: a test needs to see and send exact stanzas, and a small
// reader loop keeps every wait bounded by a context.
package xmpptest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	nsClient = "jabber:client"
	nsStream = "http://etherx.jabber.org/streams"
	nsSASL   = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind   = "urn:ietf:params:xml:ns:xmpp-bind"
	// NSRoster is the roster namespace (RFC 6121 §2).
	NSRoster = "jabber:iq:roster"
)

// Config says where and as whom to log in.
type Config struct {
	Addr     string // host:port of the c2s listener
	Domain   string // the server's domain (the stream's to)
	Username string
	Password string
	Resource string // default "test"
}

// Client is one logged-in, bound c2s session.
type Client struct {
	conn net.Conn
	dec  *xml.Decoder
	jid  string

	writeMu sync.Mutex
	ids     atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan Element // our IQs waiting for their answer
	closed  bool

	incoming chan Element
	done     chan struct{}
	readErr  error
}

// Dial connects, authenticates with SASL PLAIN and binds a resource; the
// whole login is bounded by ctx (and 10 s if ctx has no deadline).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Resource == "" {
		cfg.Resource = "test"
	}
	return open(ctx, cfg.Addr, "", func(c *Client) error {
		if err := c.login(cfg); err != nil {
			return fmt.Errorf("log in %s@%s: %w", cfg.Username, cfg.Domain, err)
		}
		return nil
	})
}

// open connects to addr and runs start (the stream's opening: login or
// handshake) under ctx's deadline, 10 s if ctx has none; then stanzas are
// read in the background.
func open(ctx context.Context, addr, jid string, start func(*Client) error) (*Client, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("xmpptest: dial %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c := &Client{
		conn:     conn,
		dec:      xml.NewDecoder(bufio.NewReader(conn)),
		pending:  map[string]chan Element{},
		incoming: make(chan Element, 256),
		done:     make(chan struct{}),
		jid:      jid,
	}
	if err := start(c); err != nil {
		conn.Close()
		return nil, fmt.Errorf("xmpptest: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

// JID is the full JID the server bound.
func (c *Client) JID() string { return c.jid }

// Bare is the bound JID without its resource.
func (c *Client) Bare() string {
	if i := strings.IndexByte(c.jid, '/'); i >= 0 {
		return c.jid[:i]
	}
	return c.jid
}

func (c *Client) login(cfg Config) error {
	if err := c.openStream(cfg.Domain); err != nil {
		return err
	}
	features, err := c.readElement()
	if err != nil {
		return fmt.Errorf("read features: %w", err)
	}
	mechs, ok := features.Child("mechanisms", nsSASL)
	if !ok || !hasMechanism(mechs, "PLAIN") {
		return fmt.Errorf("server offers no SASL PLAIN: %s", features)
	}
	token := base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.Username + "\x00" + cfg.Password))
	if err := c.writeString(`<auth xmlns='` + nsSASL + `' mechanism='PLAIN'>` + token + `</auth>`); err != nil {
		return err
	}
	answer, err := c.readElement()
	if err != nil {
		return fmt.Errorf("read SASL answer: %w", err)
	}
	if answer.Name() != "success" {
		return fmt.Errorf("authentication refused: %s", answer)
	}
	if err := c.openStream(cfg.Domain); err != nil {
		return err
	}
	if _, err := c.readElement(); err != nil {
		return fmt.Errorf("read features after auth: %w", err)
	}
	bind := `<iq type='set' id='bind'><bind xmlns='` + nsBind + `'><resource>` + escape(cfg.Resource) + `</resource></bind></iq>`
	if err := c.writeString(bind); err != nil {
		return err
	}
	result, err := c.readElement()
	if err != nil {
		return fmt.Errorf("read bind result: %w", err)
	}
	b, _ := result.Child("bind", nsBind)
	j, _ := b.Child("jid", nsBind)
	if result.Attr("type") != "result" || j.Text == "" {
		return fmt.Errorf("bind failed: %s", result)
	}
	c.jid = strings.TrimSpace(j.Text)
	return nil
}

func hasMechanism(mechs Element, name string) bool {
	for _, m := range mechs.Children {
		if strings.TrimSpace(m.Text) == name {
			return true
		}
	}
	return false
}

// openStream sends a stream header and reads the server's up to its start tag.
func (c *Client) openStream(domain string) error {
	header := `<?xml version='1.0'?><stream:stream to='` + escape(domain) +
		`' version='1.0' xmlns='` + nsClient + `' xmlns:stream='` + nsStream + `'>`
	if err := c.writeString(header); err != nil {
		return err
	}
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return fmt.Errorf("read stream header: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "stream" && se.Name.Space == nsStream {
				return nil
			}
			return fmt.Errorf("expected stream header, got <%s>", se.Name.Local)
		}
	}
}

// readElement reads the next top-level element of the stream.
func (c *Client) readElement() (Element, error) {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return Element{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var e Element
			if err := c.dec.DecodeElement(&e, &t); err != nil {
				return Element{}, err
			}
			if e.Name() == "error" && e.NS() == nsStream {
				return e, fmt.Errorf("stream error: %s", e)
			}
			return e, nil
		case xml.EndElement:
			return Element{}, errors.New("stream closed by server")
		}
	}
}

// readLoop delivers every stanza: answers to our IQs to their waiter, roster
// pushes acknowledged (RFC 6121 §2.1.6) and also delivered, the rest to
// Stanzas.
func (c *Client) readLoop() {
	defer close(c.done)
	for {
		e, err := c.readElement()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		if e.Name() == "iq" && (e.Attr("type") == "result" || e.Attr("type") == "error") {
			c.mu.Lock()
			ch := c.pending[e.Attr("id")]
			delete(c.pending, e.Attr("id"))
			c.mu.Unlock()
			if ch != nil {
				ch <- e
				continue
			}
		}
		if c.isRosterPush(e) {
			_ = c.writeString(`<iq type='result' id='` + escape(e.Attr("id")) + `'/>`)
		}
		select {
		case c.incoming <- e:
		default:
			// A test that ignores its stanzas must not wedge the reader; the
			// buffer is large enough for every test here.
		}
	}
}

func (c *Client) isRosterPush(e Element) bool {
	if !e.Is("iq", "set") {
		return false
	}
	if from := e.Attr("from"); from != "" && from != c.Bare() {
		return false
	}
	_, ok := e.Child("query", NSRoster)
	return ok
}

// Stanzas delivers every received stanza that is not the answer to our own IQ.
func (c *Client) Stanzas() <-chan Element { return c.incoming }

// Next waits for the next stanza matching match (nil matches any), discarding
// others, until ctx ends.
func (c *Client) Next(ctx context.Context, match func(Element) bool) (Element, error) {
	for {
		select {
		case e := <-c.incoming:
			if match == nil || match(e) {
				return e, nil
			}
		case <-c.done:
			return Element{}, fmt.Errorf("xmpptest: %s: connection ended: %v", c.jid, c.err())
		case <-ctx.Done():
			return Element{}, fmt.Errorf("xmpptest: %s: wait for stanza: %w", c.jid, ctx.Err())
		}
	}
}

// Collect returns every stanza that arrives within d.
func (c *Client) Collect(d time.Duration) []Element {
	var got []Element
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e := <-c.incoming:
			got = append(got, e)
		case <-timer.C:
			return got
		}
	}
}

// Drain discards stanzas already received.
func (c *Client) Drain() {
	for {
		select {
		case <-c.incoming:
		default:
			return
		}
	}
}

// SendRaw writes s to the stream as is.
func (c *Client) SendRaw(ctx context.Context, s string) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(deadline)
	if _, err := c.conn.Write([]byte(s)); err != nil {
		return fmt.Errorf("xmpptest: %s: send: %w", c.jid, err)
	}
	return nil
}

func (c *Client) writeString(s string) error {
	return c.SendRaw(context.Background(), s)
}

// IQ sends an iq of type typ to to ("" for the account itself) with payload
// as its raw child, and waits for the result or error.
func (c *Client) IQ(ctx context.Context, typ, to, payload string) (Element, error) {
	id := "q" + strconv.FormatUint(c.ids.Add(1), 10)
	ch := make(chan Element, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	toAttr := ""
	if to != "" {
		toAttr = ` to='` + escape(to) + `'`
	}
	if err := c.SendRaw(ctx, `<iq type='`+escape(typ)+`' id='`+id+`'`+toAttr+`>`+payload+`</iq>`); err != nil {
		return Element{}, err
	}
	select {
	case e := <-ch:
		return e, nil
	case <-c.done:
		return Element{}, fmt.Errorf("xmpptest: %s: connection ended before iq %s was answered: %v", c.jid, id, c.err())
	case <-ctx.Done():
		return Element{}, fmt.Errorf("xmpptest: %s: wait for iq %s: %w", c.jid, id, ctx.Err())
	}
}

// RosterItem is one roster entry (RFC 6121 §2.1.2).
type RosterItem struct {
	JID          string
	Name         string
	Subscription string
	Ask          string
	Groups       []string
}

// Roster fetches the roster; the server then counts this resource as
// interested in roster pushes.
func (c *Client) Roster(ctx context.Context) ([]RosterItem, error) {
	res, err := c.IQ(ctx, "get", "", `<query xmlns='`+NSRoster+`'/>`)
	if err != nil {
		return nil, err
	}
	if res.Attr("type") != "result" {
		return nil, fmt.Errorf("xmpptest: roster get refused: %s", res)
	}
	return RosterItems(res), nil
}

// RosterItems parses the items of a roster result or push.
func RosterItems(iq Element) []RosterItem {
	q, ok := iq.Child("query", NSRoster)
	if !ok {
		return nil
	}
	var items []RosterItem
	for _, it := range q.Children {
		if it.Name() != "item" {
			continue
		}
		item := RosterItem{
			JID:          it.Attr("jid"),
			Name:         it.Attr("name"),
			Subscription: it.Attr("subscription"),
			Ask:          it.Attr("ask"),
		}
		for _, g := range it.Children {
			if g.Name() == "group" {
				item.Groups = append(item.Groups, g.Text)
			}
		}
		items = append(items, item)
	}
	return items
}

// SendPresence sends a presence of type typ ("" for available) to to (""
// for a broadcast).
func (c *Client) SendPresence(ctx context.Context, typ, to string) error {
	attrs := ""
	if typ != "" {
		attrs += ` type='` + escape(typ) + `'`
	}
	if to != "" {
		attrs += ` to='` + escape(to) + `'`
	}
	return c.SendRaw(ctx, `<presence`+attrs+`/>`)
}

// Close ends the stream and the connection, waiting at most 2 s for the
// server's closing tag.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	_ = c.writeString(`</stream:stream>`)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	return c.conn.Close()
}

func (c *Client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&apos;")
}

// ApplyPushes returns what a client shows after roster items pushed:
// each pushed item replaces the one of its JID, a removal drops it.
func ApplyPushes(roster, pushed []RosterItem) []RosterItem {
	view := map[string]RosterItem{}
	var order []string
	for _, list := range [][]RosterItem{roster, pushed} {
		for _, it := range list {
			if _, seen := view[it.JID]; !seen {
				order = append(order, it.JID)
			}
			view[it.JID] = it
		}
	}
	out := make([]RosterItem, 0, len(view))
	for _, jid := range order {
		if it := view[jid]; it.Subscription != "remove" {
			out = append(out, it)
		}
	}
	return out
}
