//go:build !unix

package idleconn

import "net"

// A Check finds nothing wrong where sockets cannot be peeked at: a
// connection the server closed while idle then fails the next request
// written on it.
type Check struct{}

// Init does nothing here.
func (*Check) Init(net.Conn) {}

// Quiet reports true here.
func (*Check) Quiet() bool { return true }
