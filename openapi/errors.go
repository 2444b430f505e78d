package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	CodeGameNoData     = 61502   // WeChat: a game has no data API
	CodeNotReady       = 61503   // WeChat: data not ready, try later
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
	61502:   "this is game miniprogram, data api is not supported",
	61503:   "data not ready, please try later",
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
// access token or the AppSecret. Use errors.Is with ErrTokenRefused, ErrQuota,
// ErrDeadline, ErrBadRequest, ErrNotReady or ErrNotAnswer to tell the kinds apart.
type Error struct {
	API  string // the API name, e.g. "analysis.getWeeklyRetain"; empty until the call is known
	Code int    // errCode as a Mini Program sees it
	Msg  string // the reason, without the "openapi.X:fail " prefix

	// StatusCode and Body are the HTTP status and the answer that failed,
	// as oauth2's RetrieveError keeps them; 0 and nil when there was none.
	// Secrets the client knows are scrubbed from Body.
	StatusCode int
	Body       []byte

	errMsg     string // the whole errMsg, when it is not "openapi.<API>:fail <Msg>" (cloud-call gateway rows)
	err        error  // the cause, already redacted
	temporary  bool   // worth another attempt
	notAnswer  bool   // a 200 answer that is not of the method's shape
	retryAfter time.Duration
}

// Kinds of failure, for errors.Is.
var (
	ErrTokenRefused = errors.New("openapi: access token refused")        // 40001, 40014, 41001, 42001
	ErrQuota        = errors.New("openapi: quota exhausted")             // 45009, 45011
	ErrDeadline     = errors.New("openapi: deadline exceeded")           // -601008
	ErrBadRequest   = errors.New("openapi: bad request")                 // 40097, 61500, 61501, -604100
	ErrNotReady     = errors.New("openapi: data not ready or not given") // 61502, 61503
	ErrNotAnswer    = errors.New("openapi: not an answer of the method") // -601001 for a 200 answer of another shape
)

// Is reports whether e is of the kind target names.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTokenRefused:
		return tokenRefused(e.Code) || e.Code == 41001
	case ErrQuota:
		return e.Code == CodeQuotaExhausted || e.Code == 45011
	case ErrDeadline:
		return e.Code == CodeTimeout
	case ErrBadRequest:
		return e.Code == CodeInvalidArgs || e.Code == CodeDateFormat || e.Code == CodeDateRange || e.Code == CodeAPINotFound
	case ErrNotReady:
		return e.Code == CodeGameNoData || e.Code == CodeNotReady
	case ErrNotAnswer:
		return e.notAnswer
	}
	return false
}

// ErrMsg returns the errMsg a Mini Program sees: "openapi.<API>:fail <Msg>".
func (e *Error) ErrMsg() string {
	if e.errMsg != "" {
		return e.errMsg
	}
	api := e.API
	if api == "" {
		api = "analysis"
	}
	return "openapi." + api + ":fail " + e.Msg
}

// Result returns the failure as a Mini Program receives it from a Node cloud
// function that does catch (err) { return err }: {"errCode", "errMsg"}.
func (e *Error) Result() []byte {
	msg := e.ErrMsg()
	b := make([]byte, 0, 32+len(msg))
	b = append(b, `{"errCode":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"errMsg":`...)
	b = append(b, jsonString([]byte(msg))...)
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

// NewActionError returns the failure of an action that is not an API, such
// as a batch: errMsg "<action>:fail <msg>".
func NewActionError(action string, code int, msg string) *Error {
	return &Error{API: action, Code: code, Msg: msg, errMsg: action + ":fail " + msg}
}

// WithAPI returns a copy of e naming api. Errors are shared (every waiter
// of a failed token fetch holds the same one): never change one in place.
func (e *Error) WithAPI(api string) *Error {
	c := *e
	c.API = api
	return &c
}

// WithNote returns a copy of e whose message ends with "; " and note: what
// the caller can do about it. e, which may be shared, is not changed.
func (e *Error) WithNote(note string) *Error {
	c := *e
	c.Msg += "; " + note
	if c.errMsg != "" {
		c.errMsg += "; " + note
	}
	return &c
}

// withAPI returns err as an *Error naming api, copied.
func withAPI(err error, api string) *Error {
	return AsError(err).WithAPI(api)
}

// AsError returns err as an *Error, without copying one (so never change
// it): the *Error in its chain, or a system error whose text has its URLs
// redacted. It returns nil for nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Msg: "system error: " + Redact(err).Error(), err: Redact(err)}
}

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

// transportError classifies an error from http.Client.Do. The message
// leaves the URL out; the cause keeps it, redacted.
func transportError(ctx context.Context, err error) *Error {
	err = Redact(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Msg: "server-side request timed out", err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeTimeout, Msg: "request canceled", err: err}
	}
	reason := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		reason = ue.Err.Error()
	}
	return &Error{Code: CodeNetwork, Msg: "system network error: " + reason, err: err, temporary: true}
}

// sensitive are the query parameters whose values Redact hides.
var sensitive = []string{"access_token", "cloudbase_access_token", "secret", "appsecret", "authorizer_access_token",
	"token", "key", "api_key", "apikey", "client_secret", "password", "signature", "sign", "code", "ticket", "credential",
	"component_access_token", "msg_signature"}

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
			if strings.EqualFold(k, s) || strings.HasSuffix(strings.ToLower(k), "_"+s) {
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

// Redact returns err, or when its chain holds a *url.Error, a copy of that
// error with its URL redacted, keeping Timeout and Unwrap, as go-github's
// sanitizeURL does. err itself is never changed: it may be shared.
func Redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// Excerpt returns s quoted, or its start and "…": at most n runes, and at
// most 2n bytes between the quotes, for echoing a caller's value in a
// message without repeating a long or hostile value whole. Bytes are bounded
// too because quoting can turn one rune into ten (\U0010ffff).
func Excerpt(s string, n int) string {
	b := []byte{'"'}
	for i, runes := 0, 0; i < len(s); runes++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.Quote(s[i : i+size])
		q = q[1 : len(q)-1]
		if runes == n || len(b)-1+len(q) > 2*n {
			return string(append(b, '"')) + "…"
		}
		b = append(b, q...)
		i += size
	}
	return string(append(b, '"'))
}

// Truncate returns s, or its first n runes and "…".
func Truncate(s string, n int) string { return truncate(s, n) }

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

// minSecret is the shortest value scrubbed: shorter ones are no secret and
// would maim ordinary text.
const minSecret = 8

// scrub replaces every secret in s by REDACTED.
func scrub(s string, secrets ...[]string) string {
	for _, list := range secrets {
		for _, v := range list {
			if len(v) >= minSecret && strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, "REDACTED")
			}
		}
	}
	return s
}
