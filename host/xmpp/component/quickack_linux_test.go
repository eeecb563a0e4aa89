//go:build linux

package component

import (
	"net"
	"syscall"
	"testing"
)

// quickAck reads the socket's TCP_QUICKACK.
func quickAck(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	v := -1
	if err := rc.Control(func(fd uintptr) {
		v, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
	}); err != nil || v < 0 {
		t.Fatalf("getsockopt TCP_QUICKACK: %v", err)
	}
	return v
}

// Every read from the server's stream leaves the socket acknowledging at
// once, whatever Linux made of the option in between.
func TestReadsFromTheServerAreAcknowledgedAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer server.Close()
	tc := nc.(*net.TCPConn)
	r := ackAtOnce(nc)
	buf := make([]byte, 16)
	for i := range 3 {
		rc, _ := tc.SyscallConn()
		_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0) })
		if got := quickAck(t, tc); got != 0 {
			t.Fatalf("TCP_QUICKACK reads %d after clearing it", got)
		}
		if _, err := server.Write([]byte("<iq/>")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
		if got := quickAck(t, tc); got != 1 {
			t.Fatalf("read %d: TCP_QUICKACK %d after it, want 1", i+1, got)
		}
	}
}
