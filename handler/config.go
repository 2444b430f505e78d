package handler

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
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

var modes = []string{ModeAuto, ModeStable, ModeCredential, ModeStatic, ModeURL, ModeNone, ModeCloudbase, ModeCloud, ModeComponent}

// EnvVars lists every environment variable the function reads, for
// deployment templates and their tests.
var EnvVars = []string{
	"WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_TOKEN_MODE", "WECHAT_ACCESS_TOKEN", "WECHAT_TOKEN_URL",
	"WECHAT_API_BASE", "WECHAT_TOKEN_FILE", "ADMIN_OPENIDS", "ADMIN_UIDS", "ALLOW_ANY_CALLER", "ALLOWED_APIS",
	"HTTP_API_KEYS", "LOG_LEVEL", "CACHE_TTL", "CACHE_MAX_BYTES", "CACHE_REDIS_URL", "SERIES_CONCURRENCY",
	"HTTP_TIMEOUT", "WECHAT_CLOUDRUN", "DATABASE_URL", "SYNC_SINCE",
	"WECHAT_COMPONENT_APPID", "WECHAT_COMPONENT_APPSECRET", "WECHAT_COMPONENT_TOKEN", "WECHAT_COMPONENT_AES_KEY", "SYNC_AUTHORIZERS", // component.go
}

// PlatformVars are the variables the function reads that the platform sets,
// not the team: they belong in no deployment template.
var PlatformVars = []string{"_LAMBDA_SERVER_PORT", "PORT", "CBR_ENV_ID"}

// MinAPIKeyLength is the shortest HTTP API key accepted: a key is a secret,
// not a password to remember.
const MinAPIKeyLength = 16

// Defaults of the settings that have one.
const (
	DefaultCacheTTL = 10 * time.Minute
	// DefaultCacheMaxBytes bounds the heap the in-process cache's entries
	// occupy (cache.Memory counts each one's overhead). The collector lets
	// the heap grow to about twice what is live, so a full cache adds about
	// twice this to peak memory: at 2 MiB the function's peak RSS at
	// concurrency 64 stays under 25 MiB (bench/NOTES.md); at 4 MiB it did not.
	DefaultCacheMaxBytes     = 2 << 20
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
	CloudRun       bool          // WECHAT_CLOUDRUN=true: behind WeChat Cloud Run, trust its X-WX-* headers as the caller (an explicit choice: see SECURITY.md)
	HTTPTimeout    time.Duration // HTTP_TIMEOUT: each HTTP request's deadline when serving HTTP
	DatabaseURL    string        // DATABASE_URL: postgres://, mysql:// or sqlite:, the warehouse sync writes and final periods are served from
	SyncSince      string        // SYNC_SINCE: yyyymmdd, the first day sync fetches; "": DefaultSyncDays before today

	// Third-party platform (WECHAT_TOKEN_MODE=component, component.go).
	ComponentAppID  string // WECHAT_COMPONENT_APPID
	ComponentSecret string // WECHAT_COMPONENT_APPSECRET
	ComponentToken  string // WECHAT_COMPONENT_TOKEN: the push's message verification token
	ComponentAESKey string // WECHAT_COMPONENT_AES_KEY: the push's 43-character EncodingAESKey
	// SyncAuthorizers (SYNC_AUTHORIZERS, comma-separated AppIDs) are the
	// authorizers sync covers; empty: all of them (component mode).
	SyncAuthorizers []string

	HTTPClient *http.Client                      // nil: openapi.DefaultHTTPClient()
	Logger     *slog.Logger                      // nil: JSON lines on stdout, which SCF ships to CLS
	Now        func() time.Time                  // nil: time.Now; the clock for date rules, tokens and the cache
	Backoff    time.Duration                     // first retry delay; 0: openapi.DefaultBackoff
	LookupEnv  func(string) (string, bool)       // the process environment, for cloud-call credentials; nil: os.LookupEnv
	Stat       func(string) (os.FileInfo, error) // nil: os.Stat; for auto's look for the token file

	cacheTTLSet     bool
	concurrencyZero bool      // SERIES_CONCURRENCY=0: refused, not the default
	autoChose       bool      // TokenMode is auto's choice
	onCloudRun      bool      // the platform's CBR_ENV_ID is set
	parseErr        error     // what ConfigFromEnv could not read: New reports it too
	logOut          io.Writer // tests: the default logger's output instead of os.Stdout
	// deadlineNow is the clock a context's deadline is read against (the
	// wall clock, time.Now; tests: one they move), apart from Now, which may
	// be a test's calendar that deadlines know nothing of.
	deadlineNow func() time.Time
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
	c.readComponent(getenv)
	var errs []error
	var err error
	if c.AllowAnyCaller, err = boolSetting("ALLOW_ANY_CALLER", getenv("ALLOW_ANY_CALLER")); err != nil {
		errs = append(errs, err)
	}
	if c.CloudRun, err = boolSetting("WECHAT_CLOUDRUN", getenv("WECHAT_CLOUDRUN")); err != nil {
		errs = append(errs, err)
	}
	// Set by WeChat Cloud Run itself: it picks auto's mode, but trusts no
	// header (WeChat does not document that its gateway drops a client's
	// own X-WX-* on public access).
	c.onCloudRun = getenv("CBR_ENV_ID") != ""
	if lvl := strings.TrimSpace(getenv("LOG_LEVEL")); lvl != "" {
		l, ok := logLevels[strings.ToLower(lvl)]
		if !ok {
			errs = append(errs, settingError("LOG_LEVEL", "must be debug, info, warn or error"))
		}
		c.LogLevel = l
	}
	if v := strings.TrimSpace(getenv("CACHE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil // plain seconds
		}
		if err != nil {
			errs = append(errs, settingError("CACHE_TTL", cacheTTLRule))
		}
		c.CacheTTL, c.cacheTTLSet = d, true
	}
	if v := strings.TrimSpace(getenv("CACHE_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, settingError("CACHE_MAX_BYTES", "must be a number of bytes, 0 to keep no answers in process"))
		}
		c.CacheMaxBytes = n
		if n == 0 {
			c.CacheMaxBytes = -1
		}
	}
	if v := strings.TrimSpace(getenv("SERIES_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, settingError("SERIES_CONCURRENCY", concurrencyRule))
		}
		c.Concurrency, c.concurrencyZero = n, err == nil && n == 0
	}
	if v := strings.TrimSpace(getenv("HTTP_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, settingError("HTTP_TIMEOUT", httpTimeoutRule))
		}
		c.HTTPTimeout = d
	}
	c.parseErr = errors.Join(errs...)
	err = c.Check()
	return c, err
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

const (
	cacheTTLRule    = "must be a duration such as 10m or a number of seconds, 0 to turn caching off"
	concurrencyRule = "must be a whole number from 1 to 64"
	httpTimeoutRule = "must be a duration of at least 200ms, such as 10s"
)

func boolSetting(name, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, settingError(name, "must be true or false")
}

// A SettingError is what is wrong with one setting: the setting's name and
// the rule it breaks, never its value (some are secrets).
type SettingError struct {
	Setting string // the environment variable to change, such as LOG_LEVEL
	Rule    string // what it must be, such as "must be debug, info, warn or error"
	text    string // the whole message, when it does not read "Setting Rule"
}

func (e *SettingError) Error() string {
	if e.text != "" {
		return e.text
	}
	if strings.HasPrefix(e.Rule, ":") {
		return e.Setting + e.Rule
	}
	return e.Setting + " " + e.Rule
}

func settingError(setting, rule string) error { return &SettingError{Setting: setting, Rule: rule} }

// Settings lists the settings err names, in order, each once: what a
// misconfigured function may tell anyone (its /healthz) without a value.
func Settings(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var se *SettingError
		if errors.As(err, &se) && !slices.Contains(out, se.Setting) {
			out = append(out, se.Setting)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// appIDUse is what WECHAT_APPID is for in a token mode.
type appIDUse int

const (
	appIDCredential appIDUse = iota // half of the credential, with WECHAT_APPSECRET: required
	appIDScope                      // whose data the function reads: keys a shared cache, so required with CACHE_REDIS_URL
	appIDUnused                     // the cache is keyed per invocation (the environment and the caller's WX_APPID)
)

// A tokenMode is one row of the token-mode table: what the mode needs and
// how it reaches WeChat. A new mode is a new row.
type tokenMode struct {
	requires []*required // settings that must be set, beyond WECHAT_APPID
	appID    appIDUse
	apiBase  string // the default WECHAT_API_BASE
	// source is the client's token source and options for c.
	source func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option)
	// check reports what else is wrong with c in this mode, or nil.
	check func(c *Config) error
}

// tokenModes is the table of token modes (auto is resolved to one of them).
var tokenModes = map[string]tokenMode{
	ModeStable: {requires: []*required{appSecret}, appID: appIDCredential, apiBase: openapi.DefaultBaseURL,
		source: func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option) {
			return &openapi.StableToken{BaseURL: c.APIBase, AppID: c.AppID, Secret: c.AppSecret, HTTPClient: hc}, nil
		}},
	ModeCredential: {requires: []*required{appSecret}, appID: appIDCredential, apiBase: openapi.DefaultBaseURL,
		source: func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option) {
			return &openapi.CredentialToken{BaseURL: c.APIBase, AppID: c.AppID, Secret: c.AppSecret, HTTPClient: hc}, nil
		}},
	ModeStatic: {requires: []*required{{"WECHAT_ACCESS_TOKEN", func(c *Config) string { return c.AccessToken }}}, appID: appIDScope, apiBase: openapi.DefaultBaseURL,
		source: func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option) {
			return openapi.StaticToken(c.AccessToken), nil
		}},
	ModeURL: {requires: []*required{{"WECHAT_TOKEN_URL", func(c *Config) string { return c.TokenURL }}}, appID: appIDScope, apiBase: openapi.DefaultBaseURL,
		source: func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option) {
			return &openapi.URLToken{URL: c.TokenURL, HTTPClient: hc}, nil
		},
		check: func(c *Config) error { return checkURL("WECHAT_TOKEN_URL", c.TokenURL) }},
	// Cloud Run's open API service is plain HTTP.
	ModeNone: {appID: appIDScope, apiBase: "http://api.weixin.qq.com",
		source: func(*Config, *http.Client) (openapi.TokenSource, []openapi.Option) { return openapi.NoToken, nil }},
	ModeCloudbase: {appID: appIDScope, apiBase: openapi.DefaultBaseURL,
		source: func(c *Config, hc *http.Client) (openapi.TokenSource, []openapi.Option) {
			return &openapi.FileToken{Path: c.TokenFile}, []openapi.Option{openapi.WithTokenParam("cloudbase_access_token")}
		}},
	ModeCloud: {appID: appIDUnused, apiBase: openapi.DefaultBaseURL,
		source: func(*Config, *http.Client) (openapi.TokenSource, []openapi.Option) {
			return openapi.NoToken, []openapi.Option{openapi.WithTransport(&openapi.CloudCall{})}
		}},
	// Each event names its authorizer, whose client component.go builds: the
	// function's own client is never used for a call.
	ModeComponent: {requires: componentSettings, appID: appIDUnused, apiBase: openapi.DefaultBaseURL,
		source: func(*Config, *http.Client) (openapi.TokenSource, []openapi.Option) { return openapi.NoToken, nil },
		check:  (*Config).checkComponent},
}

// Check fills in c's defaults (applyDefaults), then reports what is wrong
// with it (validate), naming the setting to change. It never repeats a
// value: some are secrets.
func (c *Config) Check() error {
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return errors.Join(c.parseErr, err)
	}
	return c.parseErr
}

// applyDefaults fills in what c leaves unset, auto's mode included. It
// judges nothing: validate does.
func (c *Config) applyDefaults() {
	if c.TokenFile == "" {
		c.TokenFile = openapi.CloudbaseTokenFile
	}
	if c.TokenMode == "" || c.TokenMode == ModeAuto {
		c.TokenMode, c.autoChose = c.autoMode(), true
	}
	if c.APIBase == "" {
		c.APIBase = openapi.DefaultBaseURL
		if m, ok := tokenModes[c.TokenMode]; ok {
			c.APIBase = m.apiBase
		}
	}
	c.APIBase = strings.TrimSuffix(c.APIBase, "/")
	if !c.cacheTTLSet && c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.CacheMaxBytes == 0 {
		c.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if c.Concurrency == 0 && !c.concurrencySet() {
		c.Concurrency = DefaultSeriesConcurrency
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
}

// concurrencySet is a hook for a zero SERIES_CONCURRENCY, which is refused
// rather than taken as the default.
func (c *Config) concurrencySet() bool { return c.concurrencyZero }

// validate reports every rule c breaks, each naming its setting.
func (c *Config) validate() error {
	var errs []error
	add := func(setting, rule string) { errs = append(errs, settingError(setting, rule)) }
	if err := checkURL("WECHAT_API_BASE", c.APIBase); err != nil {
		errs = append(errs, err)
	}
	mode, ok := tokenModes[c.TokenMode]
	if !ok {
		add("WECHAT_TOKEN_MODE", "must be one of "+strings.Join(modes, ", "))
	} else {
		in := c.modeName()
		if mode.appID == appIDCredential && (c.AppID == "" || c.AppSecret == "") {
			missing := "WECHAT_APPID"
			if c.AppID != "" {
				missing = "WECHAT_APPSECRET"
			}
			errs = append(errs, &SettingError{Setting: missing, text: "WECHAT_APPID and WECHAT_APPSECRET are both required with " + in})
		}
		for _, s := range mode.requires {
			if s != appSecret && s.value(c) == "" {
				add(s.name, "is required with "+in)
			}
		}
		if mode.check != nil && mode.requires[0].value(c) != "" {
			if err := mode.check(c); err != nil {
				errs = append(errs, err)
			}
		}
		switch {
		case c.AppSecret != "" && c.AppID == "" && mode.appID != appIDCredential:
			add("WECHAT_APPID", "is missing: WECHAT_APPSECRET is set without it; set both, or neither")
		case c.AppID != "" && c.AppSecret == "" && mode.appID == appIDUnused && c.autoChose:
			// WECHAT_APPID does nothing here: the half-given pair is a
			// mistake, not a choice.
			add("WECHAT_APPSECRET", "is missing: set both WECHAT_APPID and WECHAT_APPSECRET for a token of the function's own, "+
				"or neither with "+in+", which does not use WECHAT_APPID")
		}
		if c.CacheRedisURL != "" && redisURLOK(c.CacheRedisURL) && c.AppID == "" && mode.appID == appIDScope && !c.perAuthorizer() {
			// A shared cache keys answers by whose they are: WECHAT_APPID
			// here; in cloud mode the environment and the caller's AppID.
			add("CACHE_REDIS_URL", "needs WECHAT_APPID with "+in+", so that one Mini Program's answers are never served to another")
		}
	}
	for i, k := range c.HTTPAPIKeys {
		if len(k) < MinAPIKeyLength {
			errs = append(errs, &SettingError{Setting: "HTTP_API_KEYS", Rule: fmt.Sprintf(": key %d is shorter than %d characters", i+1, MinAPIKeyLength)})
		}
	}
	for i, name := range c.AllowedAPIs {
		if _, ok := openapi.Lookup(name); !ok {
			errs = append(errs, &SettingError{Setting: "ALLOWED_APIS", Rule: fmt.Sprintf(": entry %d is not an analysis method; known: %s",
				i+1, strings.Join(openapi.Names(), ", "))})
		}
	}
	if c.CacheRedisURL != "" {
		if !redisURLOK(c.CacheRedisURL) {
			add("CACHE_REDIS_URL", "must be a redis:// or rediss:// URL")
		}
	}
	if c.CacheTTL < 0 {
		add("CACHE_TTL", cacheTTLRule)
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		add("SERIES_CONCURRENCY", concurrencyRule)
	}
	if c.HTTPTimeout < 2*deadlineMargin {
		add("HTTP_TIMEOUT", httpTimeoutRule)
	}
	errs = append(errs, c.checkWarehouse()...)
	return errors.Join(dedupe(errs)...)
}

func redisURLOK(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Host != ""
}

// dedupe drops an error equal in text to an earlier one.
func dedupe(errs []error) []error {
	out := errs[:0]
	for _, e := range errs {
		if !slices.ContainsFunc(out, func(o error) bool { return o.Error() == e.Error() }) {
			out = append(out, e)
		}
	}
	return out
}

// modeName names c's token mode in a message, saying when auto chose it.
func (c *Config) modeName() string {
	if c.autoChose {
		return "WECHAT_TOKEN_MODE=auto, which chose " + c.TokenMode
	}
	return "WECHAT_TOKEN_MODE=" + c.TokenMode
}

// A required setting: its name, and where a Config keeps it.
type required struct {
	name  string
	value func(*Config) string
}

// appSecret is checked with WECHAT_APPID, as a pair.
var appSecret = &required{"WECHAT_APPSECRET", func(c *Config) string { return c.AppSecret }}

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
	if c.CloudRun || c.onCloudRun {
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
		return settingError(name, "must be an absolute http or https URL, such as https://api.weixin.qq.com"+hint)
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
	src, more := tokenModes[c.TokenMode].source(c, hc)
	return openapi.NewClient(src, append(opts, more...)...)
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
