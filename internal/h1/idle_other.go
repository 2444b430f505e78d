//go:build !unix

package h1

import "net"

// idleCheck finds nothing wrong where sockets cannot be peeked at. A
// connection the server closed while idle then fails the next request on
// it: with an error the caller may retry, or, when not even the write went
// through, by Do sending it again on a new connection.
type idleCheck struct{}

func (*idleCheck) init(net.Conn) {}
func (*idleCheck) quiet() bool   { return true }
