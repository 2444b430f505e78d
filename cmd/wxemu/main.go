// Command wxemu serves the WeChat API emulator on loopback, for running the
// function locally with no WeChat account.
//
//	wxemu [-addr 127.0.0.1:8090] [-appid wx...] [-secret ...] [-faults "errcode=-1*3,latency=200ms"]
//
// Point the function at it with WECHAT_API_BASE=http://<addr> and the same
// WECHAT_APPID and WECHAT_APPSECRET. Faults can also be set per request with
// the X-Wxemu-Fault header, or replaced with POST /wxemu/faults; POST
// /wxemu/rotate invalidates every token (40001), POST /wxemu/expire expires
// them (42001).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address (loopback)")
	appid := flag.String("appid", envOr("WXEMU_APPID", emulator.DefaultAppID), "the AppID to accept")
	secret := flag.String("secret", envOr("WXEMU_SECRET", emulator.DefaultSecret), "the AppSecret to accept")
	faults := flag.String("faults", os.Getenv("WXEMU_FAULTS"), "faults for analysis requests, e.g. errcode=-1*3,latency=200ms")
	flag.Parse()

	fs, err := emulator.ParseFaults(*faults)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wxemu:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	emu := emulator.New(emulator.Config{AppID: *appid, Secret: *secret, Faults: fs, Logger: log})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wxemu:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening", "url", "http://"+l.Addr().String(), "appid", *appid)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "wxemu:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
