package component

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp"
)

func TestBackoffDelayStaysWithinBounds(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		rand    float64
		want    time.Duration
	}{
		{"first retry, no jitter, is the minimum", 0, 0, 500 * time.Millisecond},
		{"first retry, most jitter, is at most half again", 0, 0.999999, 749999500 * time.Nanosecond},
		{"the wait doubles", 3, 0, 4 * time.Second},
		{"jitter never passes the maximum", 6, 0.999999, 30 * time.Second},
		{"a long outage waits the maximum", 50, 0, 30 * time.Second},
		{"a huge attempt count does not overflow", 1 << 30, 0.5, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Rand: func() float64 { return tt.rand }}
			got := b.Delay(tt.attempt)
			if got.Round(time.Microsecond) != tt.want.Round(time.Microsecond) {
				t.Errorf("Delay(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
	// With real randomness, every delay is within [Min, Max] and the
	// sequence never shrinks below the previous step's base.
	b := Backoff{}
	for attempt := 0; attempt < 20; attempt++ {
		if d := b.Delay(attempt); d < 500*time.Millisecond || d > 30*time.Second {
			t.Fatalf("Delay(%d) = %v out of [0.5s, 30s]", attempt, d)
		}
	}
}

// fakeServer accepts component connections on loopback and, per connection,
// performs the server side of the handshake (refusing it with refuse, when
// set) and then runs script.
type fakeServer struct {
	addr    string
	accepts atomic.Int32
}

func startFakeServer(t *testing.T, refuse string, script func(net.Conn, *decoder)) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fs := &fakeServer{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fs.accepts.Add(1)
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				dec := newDecoder(c, 0)
				if _, err := dec.streamHeader(); err != nil {
					return
				}
				io.WriteString(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='sid1' from='c.example'>")
				hs, err := dec.next()
				if err != nil {
					return
				}
				if refuse != "" || textOf(hs) != HandshakeDigest("sid1", "pw") {
					if refuse == "" {
						refuse = "not-authorized"
					}
					_, _ = c.Write(streamErrorElement(refuse, "refused by test"))
					return
				}
				io.WriteString(c, "<handshake/>")
				if script != nil {
					script(c, dec)
				}
			}()
		}
	}()
	return fs
}

func (fs *fakeServer) config() Config {
	return Config{Addr: fs.addr, JID: "c.example", Secret: "pw", Keepalive: -1}
}

func dialFake(t *testing.T, fs *fakeServer, cfg Config) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnEndsTheStreamOnAnOversizedStanza(t *testing.T) {
	got := make(chan string, 1)
	fs := startFakeServer(t, "", func(c net.Conn, _ *decoder) {
		io.WriteString(c, "<message><body>"+strings.Repeat("x", 5000)+"</body></message>")
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	cfg := fs.config()
	cfg.MaxStanzaSize = 1000
	c := dialFake(t, fs, cfg)
	_, err := c.Read()
	var se *StreamError
	if !errors.As(err, &se) || !se.Sent || !errors.Is(err, ErrPolicyViolation) {
		t.Fatalf("Read = %v, want a policy-violation we sent", err)
	}
	if s := <-got; !strings.Contains(s, "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") || !strings.HasSuffix(s, "</stream:stream>") {
		t.Errorf("server received %q", s)
	}
}

func TestConnReportsServerStreamErrorsByKind(t *testing.T) {
	fs := startFakeServer(t, "", func(c net.Conn, _ *decoder) {
		io.WriteString(c, "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by a new connection</text></stream:error></stream:stream>")
	})
	c := dialFake(t, fs, fs.config())
	_, err := c.Read()
	if !errors.Is(err, ErrConflict) || IsPermanent(err) || !strings.Contains(err.Error(), "Replaced by a new connection") {
		t.Fatalf("Read = %v", err)
	}
	if err := c.Send(elem("message", "")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Send after the stream ended = %v, want ErrNotConnected", err)
	}
}

func TestDialRefusedHandshakeIsPermanent(t *testing.T) {
	fs := startFakeServer(t, "", nil)
	cfg := fs.config()
	cfg.Secret = "wrong"
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, ErrNotAuthorized) || !IsPermanent(err) {
		t.Fatalf("Dial = %v, want permanent not-authorized", err)
	}
}

func TestKeepaliveSendsWhitespaceWhenIdle(t *testing.T) {
	got := make(chan []byte, 1)
	fs := startFakeServer(t, "", func(c net.Conn, _ *decoder) {
		b := make([]byte, 16)
		n, _ := c.Read(b)
		got <- b[:n]
	})
	cfg := fs.config()
	cfg.Keepalive = 30 * time.Millisecond
	dialFake(t, fs, cfg)
	select {
	case b := <-got:
		if string(b) != " " {
			t.Errorf("keepalive wrote %q", b)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no keepalive")
	}
}

func TestSendIQMatchesTheAnswerByIDAndSender(t *testing.T) {
	fs := startFakeServer(t, "", func(c net.Conn, dec *decoder) {
		iq, err := dec.next()
		if err != nil {
			return
		}
		id := attr(iq, "id")
		// A forged answer from someone else first, then the real one.
		io.WriteString(c, "<iq type='result' from='mallory@example.com' id='"+id+"'/>")
		io.WriteString(c, "<iq type='error' from='alice@example.com' id='"+id+"'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
		time.Sleep(time.Second)
	})
	c := dialFake(t, fs, fs.config())
	others := make(chan *xmpp.Element, 4)
	go func() {
		for {
			e, err := c.Read()
			if err != nil {
				return
			}
			others <- e
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := c.SendIQ(ctx, RosterGet("c.example", "alice@example.com"))
	var se *StanzaError
	if !errors.As(err, &se) || se.Condition != "item-not-found" || se.Type != "cancel" || reply == nil {
		t.Fatalf("SendIQ = %v, %v; want the item-not-found answer", reply, err)
	}
	select {
	case e := <-others:
		if attr(e, "from") != "mallory@example.com" {
			t.Errorf("handler got %s", mustMarshal(t, e))
		}
	case <-time.After(2 * time.Second):
		t.Error("the forged answer was swallowed instead of passed on")
	}
}

func TestSendIQEndsWithTheConnectionOrTheDeadline(t *testing.T) {
	fs := startFakeServer(t, "", func(c net.Conn, dec *decoder) {
		if iq, err := dec.next(); err == nil && attr(iq, "to") == "drop@example.com" {
			return // closes the connection
		}
		time.Sleep(2 * time.Second)
	})
	t.Run("deadline", func(t *testing.T) {
		c := dialFake(t, fs, fs.config())
		go func() {
			for _, err := c.Read(); err == nil; _, err = c.Read() {
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.SendIQ(ctx, RosterGet("c.example", "slow@example.com"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SendIQ = %v, want a deadline error", err)
		}
	})
	t.Run("no to address", func(t *testing.T) {
		c := dialFake(t, fs, fs.config())
		_, err := c.SendIQ(context.Background(), elem("iq", "", "type", "get"))
		if err == nil || !strings.Contains(err.Error(), "no to address") {
			t.Errorf("SendIQ = %v, want a refusal: its answer could not be matched", err)
		}
	})
	t.Run("drop", func(t *testing.T) {
		c := dialFake(t, fs, fs.config())
		go func() {
			for _, err := c.Read(); err == nil; _, err = c.Read() {
			}
		}()
		start := time.Now()
		_, err := c.SendIQ(context.Background(), RosterGet("c.example", "drop@example.com"))
		if !errors.Is(err, ErrNotConnected) || time.Since(start) > time.Second {
			t.Errorf("SendIQ = %v after %v, want ErrNotConnected at once", err, time.Since(start))
		}
	})
}

func TestLinkExitsOnPermanentErrorOnlyWhenConfigured(t *testing.T) {
	fs := startFakeServer(t, "host-unknown", nil)
	cfg := fs.config()
	cfg.Backoff = Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}

	cfg.ExitOnPermanent = true
	err := NewClient(cfg, newRecorder(), nil).Run(context.Background())
	if !errors.Is(err, ErrHostUnknown) {
		t.Fatalf("Run = %v, want host-unknown", err)
	}

	cfg.ExitOnPermanent = false
	before := fs.accepts.Load()
	l := NewClient(cfg, newRecorder(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := l.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil after its context ended", err)
	}
	if n := fs.accepts.Load() - before; n < 3 {
		t.Errorf("%d attempts in 300ms, want retries", n)
	}
	if l.State() != Down {
		t.Errorf("state after Run = %v", l.State())
	}
}

func TestLinkSendFailsAtOnceWhileDown(t *testing.T) {
	l := NewClient(Config{Addr: "127.0.0.1:1", JID: "c.example"}, newRecorder(), nil)
	if err := l.Send(elem("message", "")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Send = %v", err)
	}
	if _, err := l.SendIQ(context.Background(), RosterGet("c.example", "a@b")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("SendIQ = %v", err)
	}
	if l.State() != Down || l.State().String() != "down" {
		t.Errorf("state = %v", l.State())
	}
}

func TestLinkDeliversStanzasBetweenConnectedAndDisconnected(t *testing.T) {
	fs := startFakeServer(t, "", func(c net.Conn, _ *decoder) {
		io.WriteString(c, "<message from='example.com'><body>1</body></message> <presence from='a@example.com/r'/>")
		// The delegation disco query is answered by the link, not the handler.
		io.WriteString(c, "<iq type='get' from='example.com' id='d'><query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:delegation:2::jabber:iq:roster'/></iq>")
		io.WriteString(c, "</stream:stream>")
		time.Sleep(200 * time.Millisecond)
	})
	rec := newRecorder()
	cfg := fs.config()
	cfg.Backoff = Backoff{Min: time.Hour, Max: time.Hour}
	l := NewClient(cfg, rec, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	select {
	case err := <-rec.disconnected:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Disconnected(%v), want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Disconnected")
	}
	cancel()
	<-done //nolint:errcheck // Run ends with the cancellation; this test checks the recorder
	if len(rec.connected) != 1 {
		t.Errorf("Connected %d times", len(rec.connected))
	}
	var names []string
	for len(rec.stanzas) > 0 {
		names = append(names, (<-rec.stanzas).Name)
	}
	if strings.Join(names, ",") != "message,presence" {
		t.Errorf("handler got %v, want message,presence", names)
	}
}
