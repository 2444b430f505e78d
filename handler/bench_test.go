package handler_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/fixture"
)

// memoryWeChat answers every request with body, in memory: what remains of
// a benchmark's time is the function's own.
type memoryWeChat struct{ body []byte }

func (m memoryWeChat) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; encoding=utf-8"}},
		Body: io.NopCloser(bytes.NewReader(m.body)), Request: r}, nil
}

func benchHandler(b *testing.B, body []byte, event string) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: "bench-token", CacheMaxBytes: -1, // every invocation upstream
		HTTPClient: &http.Client{Transport: memoryWeChat{body}},
		Logger:     slog.New(slog.NewJSONHandler(io.Discard, nil))}) // the log line is part of the cost
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		out, err := h.Invoke(ctx, []byte(event))
		if err != nil || !bytes.Contains(out, []byte(`"errCode":0}`)) {
			b.Fatalf("%s %v", out, err)
		}
	}
}

// BenchmarkHandlerSeedWeekly is one getWeeklyRetain invocation end to end in
// process: decode, check, request, token, HTTP client, convert, log.
func BenchmarkHandlerSeedWeekly(b *testing.B) { benchHandler(b, fixture.SeedWeekly, weeklyEvent) }

// BenchmarkHandlerVisitPage100KB is the same for getVisitPage with a 100 KB
// answer (of the day fixture.VisitPage names).
func BenchmarkHandlerVisitPage100KB(b *testing.B) {
	benchHandler(b, fixture.VisitPage(), `{"action":"getVisitPage","beginDate":"20170313","endDate":"20170313"}`)
}

// BenchmarkHTTPClientOnly is the in-memory round trip alone, to subtract
// from the handler's time.
func BenchmarkHTTPClientOnly(b *testing.B) {
	c := &http.Client{Transport: memoryWeChat{fixture.SeedWeekly}}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Post("https://api.weixin.qq.com/datacube/x?access_token=t", "application/json",
			bytes.NewReader([]byte(`{"begin_date":"20170306","end_date":"20170312"}`)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// scfContext is the context scf-go-lib gives an invocation: a deadline on
// Background and the function context.
func scfContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(3*time.Second))
	return functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: "6f1c2d3e-0000-4000-8000-000000000000"}), cancel
}

// benchSCF invokes inv with event as SCF's RPC server does (scf-go-lib's,
// and internal/scfrpc alike): each invocation on a goroutine of its own,
// with SCF's context, the log line going to the default logger's writer
// (discarded). answers is the number of "errCode":0 an answer must hold.
func benchSCF(b *testing.B, inv handler.Invoker, event []byte, answers int) {
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan []byte)
		go func() {
			ctx, cancel := scfContext()
			defer cancel()
			out, _ := inv.Invoke(ctx, event)
			done <- out
		}()
		if out := <-done; bytes.Count(out, []byte(`"errCode":0}`)) != answers {
			b.Fatalf("not %d answers: %.300s", answers, out)
		}
	}
}

func scfHandler(b *testing.B) *handler.Handler { return scfHandlerOf(fixture.SeedWeekly) }

// scfHandlerOf is a handler as main builds it (default logger, its output
// discarded) whose WeChat answers body, with no cache.
func scfHandlerOf(body []byte) *handler.Handler {
	return handler.New(handler.WithLogOutput(handler.Config{TokenMode: handler.ModeStatic, AccessToken: "bench-token",
		AppID: "wx1234567890abcdef", HTTPClient: &http.Client{Transport: memoryWeChat{body}}, CacheMaxBytes: -1}, io.Discard))
}

// BenchmarkSCFDirect is an invocation on net/rpc's fresh goroutine, as
// before handler.Warm.
func BenchmarkSCFDirect(b *testing.B) { benchSCF(b, scfHandler(b), []byte(weeklyEvent), 1) }

// BenchmarkSCFWarm is the same invocation handed to a warm worker, as main
// runs it.
func BenchmarkSCFWarm(b *testing.B) {
	w := handler.NewWarm(scfHandler(b), handler.DefaultWorkers)
	defer w.Close()
	benchSCF(b, w, []byte(weeklyEvent), 1)
}

// BenchmarkLogLine is the invocation's log line, by hand (the default
// logger) and by slog.
func BenchmarkLogLine(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    *handler.Handler
	}{
		{"hand", scfHandler(b)},
		{"slog", handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: "t", AppID: "wx1234567890abcdef",
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := scfContext()
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				handler.LogSuccess(tc.h, ctx)
			}
		})
	}
}

// BenchmarkSeries30 is one series invocation of 30 days of
// getDailyVisitTrend, every item upstream (no cache), on net/rpc's fresh
// goroutine as SCF runs it; ns/op ÷ 30 is the cost per item.
func BenchmarkSeries30(b *testing.B) {
	h := scfHandlerOf([]byte(`{"list":[{"ref_date":"20170301","session_cnt":142549,"visit_pv":472351,"visit_uv":55500,` +
		`"visit_uv_new":5464,"stay_time_uv":8.3483,"stay_time_session":2.2308,"visit_depth":1.9838}]}`))
	benchSCF(b, h, []byte(`{"action":"series","method":"getDailyVisitTrend","beginDate":"20170301","endDate":"20170330"}`), 31)
}
