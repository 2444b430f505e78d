package handler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wxanalysis/wxanalysis/handler"
)

// invokerFunc adapts a function to handler.Invoker.
type invokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

type ctxKey struct{}

// TestWarmAnswersEachCaller: every caller gets the answer to its own
// payload and context, from many goroutines at once; Close ends every worker.
func TestWarmAnswersEachCaller(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	w := handler.NewWarm(invokerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		return fmt.Appendf(nil, "%s/%v", p, ctx.Value(ctxKey{})), nil
	}), 4)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				in := fmt.Sprintf("g%d-i%d", g, i)
				out, err := w.Invoke(context.WithValue(context.Background(), ctxKey{}, i), []byte(in))
				assert.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("%s/%d", in, i), string(out))
			}
		})
	}
	wg.Wait()
	w.Close()
	out, err := w.Invoke(context.Background(), []byte("after"))
	require.NoError(t, err)
	assert.Equal(t, "after/<nil>", string(out), "after Close, on the caller's goroutine")
}

// TestWarmNeverQueues: with every worker busy, an invocation runs at once on
// its own goroutine rather than waiting for another to finish.
func TestWarmNeverQueues(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const callers = 5
	var entered sync.WaitGroup
	entered.Add(callers)
	all := make(chan struct{})
	go func() { entered.Wait(); close(all) }()
	w := handler.NewWarm(invokerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		entered.Done()
		select { // each call returns only once all are running at the same time
		case <-all:
			return p, nil
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("%s waited for another invocation", p)
		}
	}), 2)
	defer w.Close()
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			out, err := w.Invoke(context.Background(), fmt.Appendf(nil, "call %d", i))
			assert.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("call %d", i), string(out))
		})
	}
	wg.Wait()
}

// TestWarmPanicOnCaller: a panic in the invoker is raised on the caller's
// goroutine, where scf-go-lib's recover reports it, and the worker serves
// the next call.
func TestWarmPanicOnCaller(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	w := handler.NewWarm(invokerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
		if string(p) == "boom" {
			panic("boom!")
		}
		return p, nil
	}), 1)
	defer w.Close()
	for range 3 {
		assert.PanicsWithValue(t, "boom!", func() { w.Invoke(context.Background(), []byte("boom")) })
		out, err := w.Invoke(context.Background(), []byte("fine"))
		require.NoError(t, err)
		assert.Equal(t, "fine", string(out))
	}
}
