//go:build unix

package idleconn

import (
	"crypto/tls"
	"net"
	"syscall"
)

// A Check looks at an idle connection's socket without reading from it.
type Check struct {
	raw  syscall.RawConn
	peek func(fd uintptr) // made once per connection: no allocation per check
	err  error
}

// Init prepares c for nc, a *net.TCPConn or a *tls.Conn over one; for
// any other connection Quiet reports true.
func (c *Check) Init(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	var b [1]byte
	c.raw = raw
	c.peek = func(fd uintptr) {
		_, _, c.err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}
}

// Quiet reports whether the socket has nothing to read and is not closed.
// Control, not Read: a read honours the deadline the last exchange left.
func (c *Check) Quiet() bool {
	if c.raw == nil {
		return true
	}
	if err := c.raw.Control(c.peek); err != nil {
		return false
	}
	return c.err == syscall.EAGAIN || c.err == syscall.EWOULDBLOCK
}
