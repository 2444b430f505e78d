package handler

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// HealthPath answers the platform's probes when the function serves HTTP.
const HealthPath = "/healthz"

// ServeHTTP serves the function over plain HTTP, as WeChat Cloud Run
// (wx.cloud.callContainer) and SCF web functions call it: a POST on any path
// whose JSON body is an event gets the result as the JSON body. GET
// HealthPath answers the platform's probes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	if r.URL.Path == ComponentPushPath && h.comp != nil && h.comp.crypt != nil {
		h.servePush(w, r) // component.go: WeChat's ticket push, not an event
		return
	}
	start := time.Now()
	rec := &record{caller: KindHTTP}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.HTTPTimeout-deadlineMargin)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			e := h.panicked(p)
			rec.fail(e)
			rec.status = http.StatusInternalServerError
			write(w, rec.status, e.Result())
		}
		h.logInvocation(ctx, rec, time.Since(start))
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPBody+1))
	if err != nil && !errors.As(err, new(*http.MaxBytesError)) {
		body = nil
	}
	status, res := h.serveRequest(ctx, &request{method: r.Method, path: r.URL.Path, header: r.Header, body: body}, rec)
	write(w, status, res)
}

func write(w http.ResponseWriter, status int, res []byte) {
	for k, v := range responseHeaders(status) {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	w.Write(res)
}

// ShutdownGrace bounds how long in-flight requests may run after SIGTERM.
const ShutdownGrace = 10 * time.Second

// Serve serves h on addr until ctx ends (SIGTERM), then lets in-flight
// requests finish, for at most grace. ready, if not nil, gets the address
// once it listens.
func Serve(ctx context.Context, h *Handler, addr string, grace time.Duration, ready func(net.Addr)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// ReadTimeout: a client trickling its body holds nothing past a request's own deadline.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: h.cfg.HTTPTimeout,
		IdleTimeout: 2 * time.Minute}
	if ready != nil {
		ready(l.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-done
	return err
}
