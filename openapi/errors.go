package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Codes this package returns besides WeChat's own errcodes. The negative ones
// are wx-server-sdk's (src/config/error.config.ts), so a Mini Program sees the
// same codes it would see from a Node cloud function.
const (
	CodeSystemError    = -1      // WeChat: system error, try again later
	CodeInternal       = -601001 // wx-server-sdk: system error (bad or empty upstream answer)
	CodeConfig         = -601002 // wx-server-sdk: system args error (the function is misconfigured)
	CodeNetwork        = -601003 // wx-server-sdk: system network error
	CodePermission     = -601004 // wx-server-sdk: api permission denied
	CodeTimeout        = -601008 // wx-server-sdk: server-side request timed out
	CodeAPINotFound    = -604100 // wx-server-sdk: API not found
	CodeAPINotAllowed  = -604101 // wx-server-sdk: function has no permission to call this API
	CodeInvalidCred    = 40001   // WeChat: access_token invalid or not latest
	CodeInvalidToken   = 40014   // WeChat: invalid access_token
	CodeInvalidArgs    = 40097   // WeChat: invalid args
	CodeTokenExpired   = 42001   // WeChat: access_token expired
	CodeQuotaExhausted = 45009   // WeChat: reach max api daily quota limit
	CodeDateFormat     = 61500   // WeChat: date format error
	CodeDateRange      = 61501   // WeChat: date range error
)

// descriptions are WeChat's texts for the codes an analysis call may meet,
// used when an answer carries an errcode without an errmsg.
var descriptions = map[int]string{
	-1:      "system error",
	40001:   "invalid credential, access_token is invalid or not latest",
	40002:   "invalid grant_type",
	40013:   "invalid appid",
	40014:   "invalid access_token",
	40097:   "invalid args",
	40125:   "invalid appsecret",
	40164:   "invalid ip, not in whitelist",
	40243:   "AppSecret is frozen",
	41001:   "access_token missing",
	41002:   "appid missing",
	41004:   "appsecret missing",
	42001:   "access_token expired",
	43002:   "require POST method",
	44002:   "empty post data",
	45009:   "reach max api daily quota limit",
	45011:   "api minute-quota reach limit, must slower, retry next minute",
	47001:   "data format error",
	48001:   "api unauthorized",
	48004:   "api forbidden for irregularities",
	50002:   "user limited",
	50004:   "token api forbidden",
	50007:   "account frozen",
	61500:   "date format error",
	61501:   "date range error",
	89503:   "ip needs the administrator's confirmation",
	89506:   "ip refused twice by the administrator within 24 hours",
	89507:   "ip refused by the administrator within 1 hour",
	-601001: "system error",
	-601003: "system network error",
	-601008: "server-side request timed out",
}

// Description returns WeChat's description of code, or a neutral text for a
// code it does not know.
func Description(code int) string {
	if d, ok := descriptions[code]; ok {
		return d
	}
	return "errcode " + strconv.Itoa(code)
}

// An Error is a failed call: WeChat's errcode and errmsg, or one of the codes
// above with a message that says what went wrong. Its text never holds an
// access token or the AppSecret.
type Error struct {
	API  string // the API name, e.g. "analysis.getWeeklyRetain"; empty until the call is known
	Code int    // errCode as a Mini Program sees it
	Msg  string // the reason, without the "openapi.X:fail " prefix

	err       error // the cause, already redacted
	temporary bool  // worth another attempt
}

// ErrMsg returns the errMsg a Mini Program sees: "openapi.<API>:fail <Msg>".
func (e *Error) ErrMsg() string {
	api := e.API
	if api == "" {
		api = "analysis"
	}
	return "openapi." + api + ":fail " + e.Msg
}

// Result returns the failure as a Mini Program receives it from a Node cloud
// function that does catch (err) { return err }: {"errCode", "errMsg"}.
func (e *Error) Result() []byte {
	b := make([]byte, 0, 64+len(e.Msg))
	b = append(b, `{"errCode":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"errMsg":`...)
	b = append(b, jsonString([]byte(e.ErrMsg()))...)
	return append(b, '}')
}

// Error mirrors wx-server-sdk's CloudSDKError message.
func (e *Error) Error() string {
	return fmt.Sprintf("errCode: %d | errMsg: %s", e.Code, e.ErrMsg())
}

// Unwrap returns the cause, if any: a redacted *url.Error, or a context error.
func (e *Error) Unwrap() error { return e.err }

// Temporary reports whether the same call may succeed when tried again.
func (e *Error) Temporary() bool { return e.temporary }

func newError(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// wechatError builds the error for an errcode answer; msg is its errmsg, or
// nil when it has none, where wx-server-sdk would say "undefined".
func wechatError(code int, msg *string) *Error {
	text := Description(code)
	if msg != nil {
		text = *msg
	}
	return &Error{Code: code, Msg: text, temporary: code == CodeSystemError}
}

// transportError classifies an error from http.Client.Do, redacting the URL.
func transportError(ctx context.Context, err error) *Error {
	err = Redact(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Msg: "server-side request timed out", err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeTimeout, Msg: "request canceled", err: err}
	}
	return &Error{Code: CodeNetwork, Msg: "system network error: " + err.Error(), err: err, temporary: true}
}

// sensitive are the query parameters whose values Redact hides.
var sensitive = []string{"access_token", "cloudbase_access_token", "secret", "appsecret", "authorizer_access_token"}

// RedactURL returns rawURL with the values of sensitive query parameters
// replaced by REDACTED. An unparseable URL is dropped whole.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery == "" {
		return u.String()
	}
	q := u.Query()
	changed := false
	for k := range q {
		for _, s := range sensitive {
			if strings.EqualFold(k, s) {
				q[k] = []string{"REDACTED"}
				changed = true
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Redact returns err with the URL of any *url.Error in its chain redacted,
// keeping the chain (Timeout, Unwrap) intact, as go-github's sanitizeURL does.
func Redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	return err
}

// Excerpt returns at most n runes of s, quoted, for echoing a caller's value
// in a message without repeating a long or hostile value whole.
func Excerpt(s string, n int) string {
	t := truncate(s, n)
	if len(t) == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.TrimSuffix(t, "…")) + "…"
}

// truncate returns s, or its first n runes and "…".
func truncate(s string, n int) string {
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return s
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i >= len(s) {
		return s
	}
	return s[:i] + "…"
}
