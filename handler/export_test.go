package handler

import (
	"context"
	"io"
	"net/url"
	"time"

	"github.com/wxanalysis/wxanalysis/cache"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// WithLogOutput has the default logger of cfg's handler, its slog lines and
// its hand-appended invocation lines, write to w instead of os.Stdout.
func WithLogOutput(cfg Config, w io.Writer) Config {
	cfg.logOut = w
	return cfg
}

// LogSuccess logs a successful getWeeklyRetain invocation's line.
func LogSuccess(h *Handler, ctx context.Context) {
	h.logInvocation(ctx, &record{caller: KindOwner, action: "getWeeklyRetain", cache: cache.Miss,
		stats: openapi.CallStats{Attempts: 1}}, 1234567*time.Nanosecond)
}

// DeadlineMargin is what Invoke keeps back from the invocation's deadline:
// the deadline a sync sees is the invocation's less this.
const DeadlineMargin = deadlineMargin

// WithDeadlineClock has cfg's handler read contexts' deadlines against now
// instead of the wall clock, so that a test moves the time left by hand.
func WithDeadlineClock(cfg Config, now func() time.Time) Config {
	cfg.deadlineNow = now
	return cfg
}

// EventQuery is an HTTP event's query as the push route reads it.
func EventQuery(ev *HTTPRequest) url.Values { return ev.values() }
