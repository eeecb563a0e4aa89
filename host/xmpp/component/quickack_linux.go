//go:build linux

package component

import (
	"io"
	"net"
	"syscall"
)

// ackAtOnce makes reads from nc acknowledge what they read at once
// (TCP_QUICKACK): Prosody keeps Nagle's algorithm on by default, so a
// stanza it sends while one before is unacknowledged waits for the ACK,
// and Linux delays one up to 40 ms when it has nothing to send. A login
// whose delegated roster query came just after the answer to modhost's
// last roster write waited that long. Linux clears the option again as it
// sees fit, so it is set after every read (a system call per read of up
// to the reader's buffer).
func ackAtOnce(nc net.Conn) io.Reader {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &quickAckReader{c: tc, rc: rc}
}

type quickAckReader struct {
	c  *net.TCPConn
	rc syscall.RawConn
}

func (r *quickAckReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	if n > 0 {
		_ = r.rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
