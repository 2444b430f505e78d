package handler_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

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

func benchHandler(b *testing.B, body []byte) {
	h := handler.New(handler.Config{TokenMode: handler.ModeStatic, AccessToken: "bench-token", CacheMaxBytes: -1, // every invocation upstream
		HTTPClient: &http.Client{Transport: memoryWeChat{body}},
		Logger:     slog.New(slog.NewJSONHandler(io.Discard, nil))}) // the log line is part of the cost
	event := []byte(weeklyEvent)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		out, err := h.Invoke(ctx, event)
		if err != nil || !bytes.Contains(out, []byte(`"errCode":0}`)) {
			b.Fatalf("%s %v", out, err)
		}
	}
}

// BenchmarkHandlerSeedWeekly is one getWeeklyRetain invocation end to end in
// process: decode, check, request, token, HTTP client, convert, log.
func BenchmarkHandlerSeedWeekly(b *testing.B) { benchHandler(b, fixture.SeedWeekly) }

// BenchmarkHandlerVisitPage100KB is the same with a 100 KB answer.
func BenchmarkHandlerVisitPage100KB(b *testing.B) { benchHandler(b, fixture.VisitPage()) }

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
