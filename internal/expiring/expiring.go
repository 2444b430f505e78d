// Package expiring is a context whose deadline passes when a test says so,
// so that timeout tests depend on no clock.
package expiring

import (
	"context"
	"sync"
	"time"
)

// A Context has a deadline, an hour away as it tells, that passes when
// Expire is called.
type Context struct {
	context.Context
	done chan struct{}
	once sync.Once
}

// New returns a Context that has not expired.
func New() *Context { return &Context{Context: context.Background(), done: make(chan struct{})} }

// Expire makes the deadline pass.
func (c *Context) Expire() { c.once.Do(func() { close(c.done) }) }

// Done is closed by Expire.
func (c *Context) Done() <-chan struct{} { return c.done }

// Deadline is an hour away, whatever Expire does: callers must watch Done.
func (c *Context) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }

// Err is context.DeadlineExceeded once expired.
func (c *Context) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
