package cache

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/resp"
)

// clock is a fake clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logs records log records of every level.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}

// messages returns the messages logged at level.
func (l *logs) messages(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m []string
	for _, r := range l.records {
		if r.Level == level {
			m = append(m, r.Message)
		}
	}
	return m
}

// admin is the test's own look at Redis, beside the cache.
type admin struct {
	t *testing.T
	c *resp.Client
}

func newAdmin(t *testing.T, addr string) *admin {
	c := resp.New(resp.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return &admin{t, c}
}

func (a *admin) do(key string, args ...any) any {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := a.c.Do(ctx, key, args...)
	if !errors.Is(err, resp.Nil) {
		require.NoError(a.t, err)
	}
	return v
}

func (a *admin) pttl(key string) time.Duration {
	a.t.Helper()
	return time.Duration(a.do(key, "PTTL", key).(int64)) * time.Millisecond
}

func (a *admin) get(key string) []byte {
	a.t.Helper()
	v, _ := a.do(key, "GET", key).([]byte)
	return v
}

// text returns every record, attributes included, one a line.
func (l *logs) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.records {
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}
