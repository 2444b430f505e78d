// Command wxemu serves the WeChat API emulator, for running the function
// locally with no WeChat account: api.weixin.qq.com's token and analysis
// endpoints, the CloudBase cloud-call gateway (POST /admin) and, with
// -open-api, WeChat Cloud Run's open API service.
//
//	wxemu [-addr 127.0.0.1:8090] [-appid wx...] [-secret ...] [-faults "errcode=-1*3,latency=200ms"] [-latency 100ms] ...
//
// At start it prints the settings that point the function at it. Faults can
// also be set per request with the X-Wxemu-Fault header, or replaced with
// POST /wxemu/faults; POST /wxemu/rotate invalidates every token (40001), POST
// /wxemu/expire expires them (42001).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wxanalysis/wxanalysis/emulator"
)

func main() {
	switch err := run(os.Args[1:], os.Stdout, os.Stderr); {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "wxemu:", err)
		os.Exit(1)
	}
}

// list is a comma-separated flag value.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(s string) error {
	*l = nil
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wxemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `wxemu serves a WeChat API emulator: the token and analysis endpoints of
api.weixin.qq.com with WeChat's checks and deterministic data, the CloudBase
cloud-call gateway (POST /admin, TC3-signed wx.openApi requests), and with
-open-api WeChat Cloud Run's open API service. At start it prints how to point
the function at it. Faults: -faults, the X-Wxemu-Fault header per request, or
POST /wxemu/faults; POST /wxemu/rotate and /wxemu/expire invalidate tokens.

Flags:
`)
		fs.PrintDefaults()
	}
	var cfg emulator.Config
	addr := fs.String("addr", "127.0.0.1:8090", "listen address; keep it on loopback (127.0.0.1): any other address lets the network use the emulator")
	fs.StringVar(&cfg.AppID, "appid", envOr("WXEMU_APPID", emulator.DefaultAppID), "the AppID to accept ($WXEMU_APPID)")
	fs.StringVar(&cfg.Secret, "secret", envOr("WXEMU_SECRET", emulator.DefaultSecret), "the AppSecret to accept ($WXEMU_SECRET)")
	faults := fs.String("faults", os.Getenv("WXEMU_FAULTS"), "faults, e.g. errcode=-1*3,latency=200ms,token.status=503,gateway.errcode=-604101 ($WXEMU_FAULTS)")
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every analysis call, e.g. 100ms")
	fs.BoolVar(&cfg.Game, "game", false, "the AppID is a mini game: analysis calls answer 61502")
	fs.DurationVar(&cfg.DataDelay, "data-delay", 0, "a period's data is out this long after it ends (CST), 61503 before; e.g. 8h")
	fs.BoolVar(&cfg.HintSuffix, "hint", false, `errmsg ends " hint: [...]" as older WeChat servers wrote, not " rid: ..."`)
	fs.BoolVar(&cfg.OpenAPIService, "open-api", false, "answer analysis calls that carry no token, as WeChat Cloud Run's open API service")
	fs.Var((*list)(&cfg.CloudbaseTokens), "cloudbase-tokens", "comma-separated cloudbase_access_token values to accept (default "+emulator.DefaultCloudbaseToken+")")
	fs.StringVar(&cfg.SecretID, "secret-id", emulator.DefaultSecretID, "the gateway's TC3 SecretId (TENCENTCLOUD_SECRETID)")
	fs.StringVar(&cfg.SecretKey, "secret-key", envOr("WXEMU_SECRET_KEY", emulator.DefaultSecretKey), "the gateway's TC3 SecretKey (TENCENTCLOUD_SECRETKEY) ($WXEMU_SECRET_KEY)")
	fs.Var((*list)(&cfg.CloudTokens), "cloud-tokens", "comma-separated wxCloudApiToken (WX_API_TOKEN) values to accept (default "+emulator.DefaultCloudToken+")")
	fs.Var((*list)(&cfg.TimerTokens), "timer-tokens", "comma-separated timer tokens (WX_TRIGGER_API_TOKEN_V0) to accept (default "+emulator.DefaultTimerToken+")")
	fs.Var((*list)(&cfg.PermittedAPIs), "permitted-apis", "comma-separated apiNames the gateway allows, e.g. analysis.getWeeklyRetain; others -604101 (default all)")
	component := fs.Bool("component", false, "play a third-party platform too, with three authorizers of their own data (implied by -push)")
	push := fs.String("push", "", "with -component: push an encrypted component_verify_ticket to this URL (the function's /wechat/component) now and every -push-every")
	pushEvery := fs.Duration("push-every", emulator.TicketInterval, "how often -push sends a new ticket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *component || *push != "" {
		cfg.Component = &emulator.Component{}
	}
	if *pushEvery <= 0 {
		return errors.New("-push-every must be a positive duration, such as 10m")
	}
	var err error
	if cfg.Faults, err = emulator.ParseFaults(*faults); err != nil {
		return err
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	cfg.Logger = log
	emu := emulator.New(cfg)
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(stderr, "wxemu: warning: listening on %s, not loopback: anyone who can reach this machine can use the emulator\n", l.Addr())
		if ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	base := "http://" + net.JoinHostPort(host, port)
	printSettings(stderr, base, cfg)
	if cfg.Component != nil {
		printComponent(stderr, base, emu.Platform())
	}
	log.Info("listening", "url", base, "appid", cfg.AppID)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *push != "" {
		go pushTickets(ctx, emu, *push, *pushEvery, log)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

// printSettings tells how to point the function at the emulator. Values the
// user chose are named by their flag, not printed.
func printSettings(w io.Writer, base string, cfg emulator.Config) {
	show := func(value, def, flag string) string {
		if value == def {
			return value
		}
		return "<your " + flag + ">"
	}
	first := func(l []string, def, flag string) string {
		if len(l) == 0 {
			return def
		}
		return "<one of your " + flag + ">"
	}
	open := "off (start with -open-api)"
	if cfg.OpenAPIService {
		open = "on"
	}
	fmt.Fprintf(w, `wxemu: the WeChat API emulator on %[1]s
  with an AppSecret (WECHAT_TOKEN_MODE=stable or credential), e.g. for make invoke:
    WECHAT_APPID=%[2]s WECHAT_APPSECRET=%[3]s WECHAT_API_BASE=%[1]s
  Cloud Run's open API service (WECHAT_TOKEN_MODE=none, WECHAT_API_BASE=%[1]s): %[4]s
  Cloud Run's WeChat token (WECHAT_TOKEN_MODE=cloudbase, WECHAT_API_BASE=%[1]s, WECHAT_TOKEN_FILE holding it): %[5]s
  cloud call (WECHAT_TOKEN_MODE=cloud): its token and gateway come with each invocation's context, which
    make invoke cannot give; make run MODE=cloud plays one, through an emulator of its own
`, base, cfg.AppID, show(cfg.Secret, emulator.DefaultSecret, "-secret"), open,
		first(cfg.CloudbaseTokens, emulator.DefaultCloudbaseToken, "-cloudbase-tokens"))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// pushTickets pushes a new ticket to url now and every interval, until ctx
// ends, as WeChat does; a refused push is logged and tried again next time.
func pushTickets(ctx context.Context, emu *emulator.Emulator, url string, every time.Duration, log *slog.Logger) {
	hc := &http.Client{Timeout: 10 * time.Second}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := emu.PushTicket(ctx, hc, url); err != nil {
			log.Warn("ticket push failed", "err", err.Error())
		} else {
			log.Info("ticket pushed", "url", url)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// printComponent tells how to point a function in component mode at the emulator.
func printComponent(w io.Writer, base string, p emulator.Component) {
	var apps []string
	for _, a := range p.Authorizers {
		apps = append(apps, a.AppID)
	}
	fmt.Fprintf(w, `  third-party platform (WECHAT_TOKEN_MODE=component), authorizers %s:
    WECHAT_COMPONENT_APPID=%s WECHAT_COMPONENT_APPSECRET=%s WECHAT_COMPONENT_TOKEN=%s
    WECHAT_COMPONENT_AES_KEY=%s WECHAT_API_BASE=%s
    and serve HTTP (PORT=...): the ticket arrives at POST /wechat/component (-push URL)
`, strings.Join(apps, ", "), p.AppID, p.Secret, p.Token, p.AESKey, base)
}
