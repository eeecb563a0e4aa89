package testkit

import (
	"io"
	"net"
	"testing"
	"time"
)

// DrippingServer is a hostile HTTP peer: it reads each request, answers 200
// with Content-Length: 16000000 and a JSON "{", then sends one space every
// interval for as long as the connection lasts. closed gets, per
// connection, the time the client's side closed it, which is what tests of
// abandoned requests measure. It listens on a loopback port of its own and
// stops when the test ends; url is "http://127.0.0.1:PORT" + path.
func DrippingServer(t testing.TB, path string, interval time.Duration) (url string, closed <-chan time.Time) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan time.Time, 16)
	stop := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go drip(c, interval, stop, ch)
		}
	}()
	t.Cleanup(func() { close(stop); l.Close() })
	return "http://" + l.Addr().String() + path, ch
}

func drip(c net.Conn, interval time.Duration, stop <-chan struct{}, closed chan<- time.Time) {
	defer c.Close()
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16000000\r\n\r\n{"); err != nil {
		return
	}
	go func() { // the client closing shows as this read ending
		_, _ = c.Read(buf)
		closed <- time.Now()
	}()
	for {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := io.WriteString(c, " "); err != nil {
			return
		}
	}
}
