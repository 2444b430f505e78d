package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
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
		h.health(w)
		return
	}
	if r.URL.Path == ComponentPushPath && h.pushes() {
		h.servePush(w, r) // component.go: WeChat's ticket push, not an event
		return
	}
	start := time.Now()
	rec := &record{caller: KindHTTP, requestID: requestID(r.Header)}
	w.Header().Set("X-Request-Id", rec.requestID)
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
	req := &request{method: r.Method, path: r.URL.Path, header: r.Header}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPBody+1))
	if err != nil && !errors.As(err, new(*http.MaxBytesError)) {
		body, req.readErr = nil, err
	}
	req.body = body
	status, res := h.serveRequest(ctx, req, rec)
	write(w, status, res)
}

// health answers the platform's probe: 200 when the function can serve,
// 503 naming the settings to change when it is misconfigured, so that such
// a deploy fails its health checks instead of every call. Never a value, nor
// the rule: the probe has no caller to authenticate.
func (h *Handler) health(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.err == nil {
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	settings := Settings(h.err)
	if settings == nil {
		settings = []string{}
	}
	b, _ := json.Marshal(struct {
		Status   string   `json:"status"`
		Settings []string `json:"settings"`
	}{"misconfigured", settings}) // a struct of strings always encodes
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(b)
}

// requestID is the id of a request served directly, for its log line and
// its X-Request-Id answer header: the proxy's X-Request-Id when it looks like
// an id, else a new random one.
func requestID(h http.Header) string {
	if id := h.Get("X-Request-Id"); id != "" && len(id) <= 64 &&
		strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
		return id
	}
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
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
