package handler

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// Token modes: where the function's access token comes from.
const (
	ModeStable     = "stable"     // POST /cgi-bin/stable_token (the default)
	ModeCredential = "credential" // GET /cgi-bin/token
	ModeStatic     = "static"     // WECHAT_ACCESS_TOKEN, managed elsewhere
	ModeURL        = "url"        // GET WECHAT_TOKEN_URL, a team's central token service
	ModeNone       = "none"       // no token: WeChat Cloud Run's open-API service
)

// EnvVars lists every environment variable the function reads, for
// deployment templates and their tests.
var EnvVars = []string{
	"WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_TOKEN_MODE", "WECHAT_ACCESS_TOKEN", "WECHAT_TOKEN_URL",
	"WECHAT_API_BASE", "ADMIN_OPENIDS", "ALLOW_ANY_CALLER", "ALLOWED_APIS", "HTTP_API_KEYS", "LOG_LEVEL",
}

// MinAPIKeyLength is the shortest HTTP API key accepted: a key is a secret,
// not a password to remember.
const MinAPIKeyLength = 16

// Config is the function's configuration. Names starting with WX_ are never
// used: the platform sets those for each invocation.
type Config struct {
	AppID          string     // WECHAT_APPID
	AppSecret      string     // WECHAT_APPSECRET
	TokenMode      string     // WECHAT_TOKEN_MODE: stable, credential, static, url or none
	AccessToken    string     // WECHAT_ACCESS_TOKEN, for static
	TokenURL       string     // WECHAT_TOKEN_URL, for url
	APIBase        string     // WECHAT_API_BASE, default https://api.weixin.qq.com
	AdminOpenIDs   []string   // ADMIN_OPENIDS, comma-separated: Mini Program users allowed to call
	AllowAnyCaller bool       // ALLOW_ANY_CALLER=true: any Mini Program user may call
	AllowedAPIs    []string   // ALLOWED_APIS, comma-separated method names; empty: all
	HTTPAPIKeys    []string   // HTTP_API_KEYS, comma-separated bearer keys for HTTP events; empty: HTTP refused
	LogLevel       slog.Level // LOG_LEVEL: debug, info (the default), warn or error

	HTTPClient *http.Client     // nil: openapi.DefaultHTTPClient
	Logger     *slog.Logger     // nil: JSON lines on stdout, which SCF ships to CLS
	Now        func() time.Time // nil: time.Now; the clock for date rules
	Backoff    time.Duration    // first retry delay; 0: openapi.DefaultBackoff
}

// ConfigFromEnv reads the configuration with getenv, which is os.Getenv in
// main, and checks it.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		AppID:       strings.TrimSpace(getenv("WECHAT_APPID")),
		AppSecret:   strings.TrimSpace(getenv("WECHAT_APPSECRET")),
		TokenMode:   strings.TrimSpace(getenv("WECHAT_TOKEN_MODE")),
		AccessToken: strings.TrimSpace(getenv("WECHAT_ACCESS_TOKEN")),
		TokenURL:    strings.TrimSpace(getenv("WECHAT_TOKEN_URL")),
		APIBase:     strings.TrimSpace(getenv("WECHAT_API_BASE")),
	}
	c.AdminOpenIDs = list(getenv("ADMIN_OPENIDS"))
	c.AllowedAPIs = list(getenv("ALLOWED_APIS"))
	c.HTTPAPIKeys = list(getenv("HTTP_API_KEYS"))
	var errs []error
	switch v := strings.ToLower(strings.TrimSpace(getenv("ALLOW_ANY_CALLER"))); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		c.AllowAnyCaller = true
	default:
		errs = append(errs, fmt.Errorf("ALLOW_ANY_CALLER must be true or false, not %s", quote(v)))
	}
	if lvl := strings.TrimSpace(getenv("LOG_LEVEL")); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %s", quote(lvl)))
		}
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Check reports what is wrong with c, naming the setting to change. It never
// repeats a secret.
func (c *Config) Check() error {
	var errs []error
	if c.TokenMode == "" {
		c.TokenMode = ModeStable
	}
	if c.APIBase == "" {
		c.APIBase = openapi.DefaultBaseURL
		if c.TokenMode == ModeNone {
			c.APIBase = "http://api.weixin.qq.com" // Cloud Run's open-API service is plain HTTP
		}
	}
	c.APIBase = strings.TrimSuffix(c.APIBase, "/")
	if err := checkURL("WECHAT_API_BASE", c.APIBase); err != nil {
		errs = append(errs, err)
	}
	switch c.TokenMode {
	case ModeStable, ModeCredential:
		if c.AppID == "" || c.AppSecret == "" {
			errs = append(errs, fmt.Errorf("WECHAT_APPID and WECHAT_APPSECRET are required with WECHAT_TOKEN_MODE=%s", c.TokenMode))
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
	case ModeNone:
	default:
		errs = append(errs, fmt.Errorf("WECHAT_TOKEN_MODE must be stable, credential, static, url or none, not %s", quote(c.TokenMode)))
	}
	for i, k := range c.HTTPAPIKeys {
		if len(k) < MinAPIKeyLength {
			errs = append(errs, fmt.Errorf("HTTP_API_KEYS: key %d is shorter than %d characters", i+1, MinAPIKeyLength))
		}
	}
	for _, name := range c.AllowedAPIs {
		if _, ok := openapi.Lookup(name); !ok {
			errs = append(errs, fmt.Errorf("ALLOWED_APIS names %s, which is not an analysis method; known: %s",
				quote(name), strings.Join(openapi.Names(), ", ")))
		}
	}
	return errors.Join(errs...)
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an absolute http or https URL, not %s", name, openapi.RedactURL(raw))
	}
	return nil
}

// tokens builds the token cache for c's mode; nil for ModeNone.
func (c *Config) tokens(hc *http.Client) *openapi.TokenCache {
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
	default:
		return nil
	}
	return openapi.NewTokenCache(src, openapi.DefaultRefreshMargin)
}

func (c *Config) allows(m *openapi.Method) bool {
	if len(c.AllowedAPIs) == 0 {
		return true
	}
	return slices.ContainsFunc(c.AllowedAPIs, func(name string) bool {
		n, _ := openapi.Lookup(name)
		return n == m
	})
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
