package handler

import (
	"context"
	"sync"
	"sync/atomic"
)

// An Invoker serves one invocation, as Handler.Invoke and scf-go-lib's
// cloudfunction.Handler do.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Warm runs an Invoker's invocations on long-lived goroutines whose stacks
// have already grown. SCF's Go1 runtime protocol (net/rpc) calls each
// invocation on a goroutine of its own, which starts with a small stack and
// grows it, by copying, several times on the way down through the handler,
// slog and net/http: bench/NOTES.md measured that at several µs per call.
// Warm hands the invocation to an idle worker instead; when none is idle it
// starts one, up to its limit, and past that runs the invocation on the
// caller's goroutine. An invocation never waits for another.
//
// A panic in the Invoker is raised again on the caller's goroutine, as if
// Warm were not there. Close ends the workers.
type Warm struct {
	inner Invoker
	max   int32
	n     atomic.Int32  // workers started and not ended
	idle  chan *call    // unbuffered: a send succeeds only when a worker waits
	quit  chan struct{} // closed by Close
	wg    sync.WaitGroup

	mu     sync.Mutex // orders starting a worker with Close
	closed bool
}

// A call is one invocation handed to a worker.
type call struct {
	ctx     context.Context
	payload []byte
	out     []byte
	err     error
	panic   any
	done    chan struct{} // one token per finished call
}

var calls = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// NewWarm returns a Warm running inner's invocations on at most max workers.
func NewWarm(inner Invoker, max int) *Warm {
	return &Warm{inner: inner, max: int32(max), idle: make(chan *call), quit: make(chan struct{})}
}

// DefaultWorkers is how many workers main keeps for SCF: more than the
// invocations an instance runs at once by default (one), and as many as its
// HTTP connections to WeChat.
const DefaultWorkers = 64

// Invoke runs inner.Invoke(ctx, payload) on a worker and returns what it
// returned.
func (w *Warm) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	c := calls.Get().(*call)
	c.ctx, c.payload = ctx, payload
	select {
	case w.idle <- c:
	default:
		if !w.start(c) {
			calls.Put(c)
			return w.inner.Invoke(ctx, payload)
		}
	}
	<-c.done
	out, err, p := c.out, c.err, c.panic
	*c = call{done: c.done}
	calls.Put(c)
	if p != nil {
		panic(p)
	}
	return out, err
}

// start starts a worker for c, unless there are max already or Warm is
// closed.
func (w *Warm) start(c *call) bool {
	if w.n.Load() >= w.max {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.n.Load() >= w.max {
		return false
	}
	w.n.Add(1)
	w.wg.Add(1)
	go w.work(c)
	return true
}

// work serves c, then every call handed to it, until Close.
func (w *Warm) work(c *call) {
	defer w.wg.Done()
	defer w.n.Add(-1)
	for {
		w.serve(c)
		select {
		case c = <-w.idle:
		case <-w.quit:
			return
		}
	}
}

func (w *Warm) serve(c *call) {
	defer func() {
		if p := recover(); p != nil {
			c.panic = p
		}
		c.done <- struct{}{}
	}()
	c.out, c.err = w.inner.Invoke(c.ctx, c.payload)
}

// Close ends the idle workers and waits for the busy ones to finish; later
// invocations run on their caller's goroutine.
func (w *Warm) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.quit)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
