// Command main is the wxanalysis cloud function: WeChat Mini Program
// analytics (cloud.openapi.analysis.*) for Tencent SCF and CloudBase (Go1
// runtime, over SCF's RPC protocol (internal/scfrpc), when _LAMBDA_SERVER_PORT is set),
// and for WeChat Cloud Run and SCF web functions (plain HTTP on PORT).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/scfrpc"
	// The warehouse's databases (DATABASE_URL): PostgreSQL and MySQL. The
	// local build adds SQLite (sqlite.go, -tags sqlite).
	_ "github.com/wxanalysis/wxanalysis/warehouse/mysql"
	_ "github.com/wxanalysis/wxanalysis/warehouse/postgres"
)

func main() {
	// Built once: the token and answer caches outlive warm invocations.
	h := handler.FromEnv(os.Getenv)
	switch {
	case os.Getenv("_LAMBDA_SERVER_PORT") != "":
		// scfrpc rather than scf-go-lib's cloudfunction: the same protocol
		// and answers without net/rpc, which costs the binary 1.7 MiB and a
		// cold start about 2 ms (see scfrpc). The handler writes its own
		// JSON bytes (exact numbers, no HTML escaping).
		// Warm: each invocation on a long-lived goroutine rather than on
		// the fresh one the server starts for it (see handler.Warm).
		scfrpc.Start(handler.NewWarm(h, handler.DefaultWorkers))
	case os.Getenv("PORT") != "":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		err := handler.Serve(ctx, h, ":"+os.Getenv("PORT"), handler.ShutdownGrace, func(a net.Addr) {
			if h.Err() != nil {
				// Served all the same: a crash loop says less than a
				// health check that fails and names the settings.
				fmt.Fprintf(os.Stderr, "wxanalysis: misconfigured (%s): serving HTTP on %s with %s answering 503 and every call -601002\n",
					strings.Join(handler.Settings(h.Err()), ", "), a, handler.HealthPath)
				return
			}
			fmt.Fprintf(os.Stderr, "wxanalysis: serving HTTP on %s (token mode %s)\n", a, h.Mode())
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "wxanalysis:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprint(os.Stderr, "wxanalysis: nothing to serve. Tencent SCF starts this function with _LAMBDA_SERVER_PORT set "+
			"and calls it over its RPC protocol (try `make run`); set PORT (e.g. PORT=9000) to serve HTTP instead, "+
			"as WeChat Cloud Run and SCF web functions do.\n")
		os.Exit(2)
	}
}
