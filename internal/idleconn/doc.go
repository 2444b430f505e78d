// Package idleconn tells whether a pooled connection is still fit for a
// request: whether, since its last answer, the server has closed it or sent
// anything unasked (an idle 408 before closing, say). Either way a request
// written on it would fail, or read what was not its answer. It peeks at the
// socket without blocking (MSG_PEEK|MSG_DONTWAIT, one recvfrom), where the
// system allows it.
package idleconn
