package handler

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// Token modes: where the function's access token comes from, or how a call
// reaches WeChat without one.
const (
	ModeAuto       = "auto"       // the default: stable with an AppID and AppSecret, else cloudbase when its token file exists, else cloud
	ModeStable     = "stable"     // POST /cgi-bin/stable_token
	ModeCredential = "credential" // GET /cgi-bin/token
	ModeStatic     = "static"     // WECHAT_ACCESS_TOKEN, managed elsewhere
	ModeURL        = "url"        // GET WECHAT_TOKEN_URL, a team's central token service
	ModeNone       = "none"       // no token: WeChat Cloud Run's open API service
	ModeCloudbase  = "cloudbase"  // WeChat Cloud Run's cloudbase_access_token, read from its mounted file
	ModeCloud      = "cloud"      // CloudBase's cloud call (云调用): the invocation's WX_API_TOKEN, no AppSecret
)

var modes = []string{ModeAuto, ModeStable, ModeCredential, ModeStatic, ModeURL, ModeNone, ModeCloudbase, ModeCloud}

// EnvVars lists every environment variable the function reads, for
// deployment templates and their tests.
var EnvVars = []string{
	"WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_TOKEN_MODE", "WECHAT_ACCESS_TOKEN", "WECHAT_TOKEN_URL",
	"WECHAT_API_BASE", "WECHAT_TOKEN_FILE", "ADMIN_OPENIDS", "ADMIN_UIDS", "ALLOW_ANY_CALLER", "ALLOWED_APIS",
	"HTTP_API_KEYS", "LOG_LEVEL", "CACHE_TTL", "CACHE_MAX_BYTES", "CACHE_REDIS_URL", "SERIES_CONCURRENCY",
	"HTTP_TIMEOUT", "WECHAT_CLOUDRUN", "DATABASE_URL", "SYNC_SINCE",
}

// PlatformVars are the variables the function reads that the platform sets,
// not the team: they belong in no deployment template.
var PlatformVars = []string{"_LAMBDA_SERVER_PORT", "PORT", "CBR_ENV_ID"}

// MinAPIKeyLength is the shortest HTTP API key accepted: a key is a secret,
// not a password to remember.
const MinAPIKeyLength = 16

// Defaults of the settings that have one.
const (
	DefaultCacheTTL          = 10 * time.Minute
	DefaultCacheMaxBytes     = 16 << 20
	DefaultSeriesConcurrency = 6
	DefaultHTTPTimeout       = 10 * time.Second
)

// Config is the function's configuration. Names starting with WX_ are never
// read from the process for a caller's identity: the platform sets those for
// each invocation.
type Config struct {
	AppID          string        // WECHAT_APPID
	AppSecret      string        // WECHAT_APPSECRET
	TokenMode      string        // WECHAT_TOKEN_MODE: one of the modes above; "" is auto
	AccessToken    string        // WECHAT_ACCESS_TOKEN, for static
	TokenURL       string        // WECHAT_TOKEN_URL, for url
	TokenFile      string        // WECHAT_TOKEN_FILE, for cloudbase; default openapi.CloudbaseTokenFile
	APIBase        string        // WECHAT_API_BASE, default https://api.weixin.qq.com
	AdminOpenIDs   []string      // ADMIN_OPENIDS, comma-separated: Mini Program users allowed to call
	AdminUIDs      []string      // ADMIN_UIDS, comma-separated: CloudBase web users (TCB_UUID or TCB_CUSTOM_USER_ID) allowed to call
	AllowAnyCaller bool          // ALLOW_ANY_CALLER=true: any end user may call
	AllowedAPIs    []string      // ALLOWED_APIS, comma-separated method names; empty: all
	HTTPAPIKeys    []string      // HTTP_API_KEYS, comma-separated bearer keys for HTTP; empty: HTTP refused
	LogLevel       slog.Level    // LOG_LEVEL: debug, info (the default), warn or error
	CacheTTL       time.Duration // CACHE_TTL: how long an answer that may still change is reused; 0: not at all
	CacheMaxBytes  int64         // CACHE_MAX_BYTES: the in-process cache's size; 0: the default; negative: none
	CacheRedisURL  string        // CACHE_REDIS_URL: redis:// or rediss://, a cache shared by every instance
	Concurrency    int           // SERIES_CONCURRENCY: upstream calls at once for batch and series
	CloudRun       bool          // WECHAT_CLOUDRUN=true, or the platform's CBR_ENV_ID: behind WeChat Cloud Run, X-WX-* headers are the caller
	HTTPTimeout    time.Duration // HTTP_TIMEOUT: each HTTP request's deadline when serving HTTP
	DatabaseURL    string        // DATABASE_URL: postgres://, mysql:// or sqlite:, the warehouse sync writes and final periods are served from
	SyncSince      string        // SYNC_SINCE: yyyymmdd, the first day sync fetches; "": DefaultSyncDays before today

	HTTPClient *http.Client                      // nil: openapi.DefaultHTTPClient()
	Logger     *slog.Logger                      // nil: JSON lines on stdout, which SCF ships to CLS
	Now        func() time.Time                  // nil: time.Now; the clock for date rules, tokens and the cache
	Backoff    time.Duration                     // first retry delay; 0: openapi.DefaultBackoff
	LookupEnv  func(string) (string, bool)       // the process environment, for cloud-call credentials; nil: os.LookupEnv
	Stat       func(string) (os.FileInfo, error) // nil: os.Stat; for auto's look for the token file

	cacheTTLSet bool
}

// ConfigFromEnv reads the configuration with getenv, which is os.Getenv in
// main, and checks it. Errors name the setting, never its value.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		AppID:         strings.TrimSpace(getenv("WECHAT_APPID")),
		AppSecret:     strings.TrimSpace(getenv("WECHAT_APPSECRET")),
		TokenMode:     strings.TrimSpace(getenv("WECHAT_TOKEN_MODE")),
		AccessToken:   strings.TrimSpace(getenv("WECHAT_ACCESS_TOKEN")),
		TokenURL:      strings.TrimSpace(getenv("WECHAT_TOKEN_URL")),
		TokenFile:     strings.TrimSpace(getenv("WECHAT_TOKEN_FILE")),
		APIBase:       strings.TrimSpace(getenv("WECHAT_API_BASE")),
		CacheRedisURL: strings.TrimSpace(getenv("CACHE_REDIS_URL")),
		DatabaseURL:   strings.TrimSpace(getenv("DATABASE_URL")),
		SyncSince:     strings.TrimSpace(getenv("SYNC_SINCE")),
	}
	c.AdminOpenIDs = list(getenv("ADMIN_OPENIDS"))
	c.AdminUIDs = list(getenv("ADMIN_UIDS"))
	c.AllowedAPIs = list(getenv("ALLOWED_APIS"))
	c.HTTPAPIKeys = list(getenv("HTTP_API_KEYS"))
	var errs []error
	var err error
	if c.AllowAnyCaller, err = boolSetting("ALLOW_ANY_CALLER", getenv("ALLOW_ANY_CALLER")); err != nil {
		errs = append(errs, err)
	}
	if c.CloudRun, err = boolSetting("WECHAT_CLOUDRUN", getenv("WECHAT_CLOUDRUN")); err != nil {
		errs = append(errs, err)
	}
	if getenv("CBR_ENV_ID") != "" {
		c.CloudRun = true // set by WeChat Cloud Run itself
	}
	if lvl := strings.TrimSpace(getenv("LOG_LEVEL")); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, errors.New("LOG_LEVEL must be debug, info, warn or error"))
		}
	}
	if v := strings.TrimSpace(getenv("CACHE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil // plain seconds
		}
		if err != nil || d < 0 {
			errs = append(errs, errors.New("CACHE_TTL must be a duration such as 10m or a number of seconds, 0 to turn caching off"))
		}
		c.CacheTTL, c.cacheTTLSet = d, true
	}
	if v := strings.TrimSpace(getenv("CACHE_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, errors.New("CACHE_MAX_BYTES must be a number of bytes, 0 to keep no answers in process"))
		}
		c.CacheMaxBytes = n
		if n == 0 {
			c.CacheMaxBytes = -1
		}
	}
	if v := strings.TrimSpace(getenv("SERIES_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			errs = append(errs, errors.New("SERIES_CONCURRENCY must be a whole number from 1 to 64"))
		}
		c.Concurrency = n
	}
	if v := strings.TrimSpace(getenv("HTTP_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 2*deadlineMargin {
			errs = append(errs, errors.New("HTTP_TIMEOUT must be a duration of at least 200ms, such as 10s"))
		}
		c.HTTPTimeout = d
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func boolSetting(name, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, errors.New(name + " must be true or false")
}

// Check fills in defaults and reports what is wrong with c, naming the
// setting to change. It never repeats a value: some are secrets.
func (c *Config) Check() error {
	var errs []error
	if c.TokenMode == "" {
		c.TokenMode = ModeAuto
	}
	if c.TokenFile == "" {
		c.TokenFile = openapi.CloudbaseTokenFile
	}
	auto := c.TokenMode == ModeAuto
	if auto {
		c.TokenMode = c.autoMode()
	}
	if c.APIBase == "" {
		c.APIBase = openapi.DefaultBaseURL
		if c.TokenMode == ModeNone {
			c.APIBase = "http://api.weixin.qq.com" // Cloud Run's open API service is plain HTTP
		}
	}
	c.APIBase = strings.TrimSuffix(c.APIBase, "/")
	if err := checkURL("WECHAT_API_BASE", c.APIBase); err != nil {
		errs = append(errs, err)
	}
	switch c.TokenMode {
	case ModeStable, ModeCredential:
		if c.AppID == "" || c.AppSecret == "" {
			errs = append(errs, fmt.Errorf("WECHAT_APPID and WECHAT_APPSECRET are both required with WECHAT_TOKEN_MODE=%s", c.TokenMode))
		}
	case ModeStatic:
		if c.AccessToken == "" {
			errs = append(errs, errors.New("WECHAT_ACCESS_TOKEN is required with WECHAT_TOKEN_MODE=static"))
		}
	case ModeURL:
		if c.TokenURL == "" {
			errs = append(errs, errors.New("WECHAT_TOKEN_URL is required with WECHAT_TOKEN_MODE=url"))
		} else if err := checkURL("WECHAT_TOKEN_URL", c.TokenURL); err != nil {
			errs = append(errs, err)
		}
	case ModeNone, ModeCloudbase, ModeCloud:
	default:
		errs = append(errs, errors.New("WECHAT_TOKEN_MODE must be one of "+strings.Join(modes, ", ")))
	}
	if auto && (c.AppID == "") != (c.AppSecret == "") && (c.TokenMode == ModeCloud || c.TokenMode == ModeCloudbase) {
		// auto fell through to a mode without an AppSecret: the half-given
		// pair is a mistake, not a choice.
		missing := "WECHAT_APPSECRET"
		if c.AppID == "" {
			missing = "WECHAT_APPID"
		}
		errs = append(errs, errors.New(missing+" is missing: set both WECHAT_APPID and WECHAT_APPSECRET, or neither for a cloud call"))
	}
	for i, k := range c.HTTPAPIKeys {
		if len(k) < MinAPIKeyLength {
			errs = append(errs, fmt.Errorf("HTTP_API_KEYS: key %d is shorter than %d characters", i+1, MinAPIKeyLength))
		}
	}
	for i, name := range c.AllowedAPIs {
		if _, ok := openapi.Lookup(name); !ok {
			errs = append(errs, fmt.Errorf("ALLOWED_APIS: entry %d is not an analysis method; known: %s",
				i+1, strings.Join(openapi.Names(), ", ")))
		}
	}
	if c.CacheRedisURL != "" {
		if u, err := url.Parse(c.CacheRedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			errs = append(errs, errors.New("CACHE_REDIS_URL must be a redis:// or rediss:// URL"))
		}
	}
	if c.CacheRedisURL != "" && c.AppID == "" && c.TokenMode != ModeCloud {
		// A shared cache keys answers by whose they are: in cloud mode the
		// environment and the caller's AppID, otherwise WECHAT_APPID.
		errs = append(errs, fmt.Errorf("CACHE_REDIS_URL needs WECHAT_APPID with WECHAT_TOKEN_MODE=%s, so that one Mini Program's answers are never served to another", c.TokenMode))
	}
	errs = append(errs, c.checkWarehouse()...)
	if !c.cacheTTLSet && c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.CacheMaxBytes == 0 {
		c.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultSeriesConcurrency
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	return errors.Join(errs...)
}

// autoMode picks the mode for auto: the function's own token when it has an
// AppSecret, WeChat Cloud Run's token when its file is mounted, otherwise the
// cloud call, which needs no setting at all.
func (c *Config) autoMode() string {
	stat := c.Stat
	if stat == nil {
		stat = os.Stat
	}
	switch {
	case c.AppID != "" && c.AppSecret != "":
		return ModeStable
	case c.AccessToken != "":
		return ModeStatic
	case c.TokenURL != "":
		return ModeURL
	}
	if _, err := stat(c.TokenFile); err == nil {
		return ModeCloudbase
	}
	if c.CloudRun {
		return ModeNone // WeChat Cloud Run: its open API service adds the token
	}
	return ModeCloud
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		hint := ""
		if !strings.Contains(raw, "://") {
			hint = " (it has no scheme: add http:// or https://)"
		}
		return errors.New(name + " must be an absolute http or https URL, such as https://api.weixin.qq.com" + hint)
	}
	return nil
}

// client builds the WeChat client for c's mode.
func (c *Config) client(hc *http.Client, log *slog.Logger, now func() time.Time) (*openapi.Client, error) {
	opts := []openapi.Option{openapi.WithBaseURL(c.APIBase), openapi.WithHTTPClient(hc), openapi.WithClock(now),
		openapi.WithLogger(log)}
	if c.Backoff > 0 {
		opts = append(opts, openapi.WithRetries(openapi.DefaultMaxAttempts, c.Backoff))
	}
	var src openapi.TokenSource
	switch c.TokenMode {
	case ModeStable:
		src = &openapi.StableToken{BaseURL: c.APIBase, AppID: c.AppID, Secret: c.AppSecret, HTTPClient: hc}
	case ModeCredential:
		src = &openapi.CredentialToken{BaseURL: c.APIBase, AppID: c.AppID, Secret: c.AppSecret, HTTPClient: hc}
	case ModeStatic:
		src = openapi.StaticToken(c.AccessToken)
	case ModeURL:
		src = &openapi.URLToken{URL: c.TokenURL, HTTPClient: hc}
	case ModeCloudbase:
		src = &openapi.FileToken{Path: c.TokenFile}
		opts = append(opts, openapi.WithTokenParam("cloudbase_access_token"))
	case ModeCloud:
		src = openapi.NoToken
		opts = append(opts, openapi.WithTransport(&openapi.CloudCall{}))
	default:
		src = openapi.NoToken
	}
	return openapi.NewClient(src, opts...)
}

func (c *Config) allows(m *openapi.Method) bool {
	if len(c.AllowedAPIs) == 0 {
		return true
	}
	for _, name := range c.AllowedAPIs {
		if n, _ := openapi.Lookup(name); n.Name == m.Name {
			return true
		}
	}
	return false
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
