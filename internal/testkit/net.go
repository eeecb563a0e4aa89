package testkit

import (
	"net"
	"testing"
)

// ClosedAddr is a loopback host:port nothing listens on (one just
// released), for tests of a refused connection.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
