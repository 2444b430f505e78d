package cloudcall

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Client sends wx.openApi requests. It is safe for concurrent use; the zero value is usable.
type Client struct {
	// HTTPClient carries the requests; nil means a client that never follows redirects
	// and asks for no compression. A given client is copied per call so that redirects
	// are refused whatever its CheckRedirect says.
	HTTPClient *http.Client
	// Now is the clock (X-Client-Timestamp, X-Timestamp, the seqId); nil means time.Now.
	Now func() time.Time
	// Boundary makes the multipart boundary; nil means form-data's: 26 dashes and 24
	// random hex digits.
	Boundary func() string

	seq atomic.Uint64 // the SDK's process-wide request counter, one per Client
}

// Response is a successful cloud call: WeChat's HTTP body and its content type, as
// the gateway's CommOpenApiResp carries them.
type Response struct {
	Data        []byte
	ContentType string
}

// Error is a failed cloud call, with the errCode and the whole errMsg wx-server-sdk
// gives, e.g. "openapi.analysis.getWeeklyRetain:fail -501007 invalid parameters.
// Invalid wxCloudApiToken" or "system error: error code: -604101". No message carries
// the gateway URL, a token, a credential or the Authorization header.
type Error struct {
	Code   int
	ErrMsg string
	// Temporary reports a connection-level failure: the request never reached the gateway.
	Temporary bool
	err       error // a sentinel this Error stands for, for errors.Is
}

// Error returns the errCode and errMsg.
// Error returns the errCode and errMsg.
func (e *Error) Error() string { return fmt.Sprintf("errCode %d: %s", e.Code, e.ErrMsg) }

// Unwrap returns ErrNoToken or ErrNoCredentials when the call was refused before sending.
func (e *Error) Unwrap() error { return e.err }

var (
	// ErrNoToken is what an Error wraps when the invocation carries neither
	// WX_API_TOKEN (nor, for a WeChat timer, WX_TRIGGER_API_TOKEN_V0) nor
	// WX_CLOUDBASE_ACCESSTOKEN, so nothing was sent.
	ErrNoToken = errors.New("missing wxCloudApiToken: this invocation carries no WX_API_TOKEN (nor WX_TRIGGER_API_TOKEN_V0, which only WeChat DevTools timer triggers get)")
	// ErrNoCredentials is what an Error wraps when neither the invocation nor the
	// process has TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY, so nothing was sent.
	ErrNoCredentials = errors.New("missing secretId or secretKey of tencent cloud (TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY)")
)

// defaultHTTPClient never follows a redirect (a 3xx is decision-table row 3) and sends
// no Accept-Encoding, as the SDK.
var defaultHTTPClient = &http.Client{
	Transport: &http.Transport{ // no Proxy: the SDK ignores HTTP_PROXY too
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	},
	CheckRedirect: noRedirect,
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) boundary() string {
	if c.Boundary != nil {
		return c.Boundary()
	}
	var b [12]byte
	rand.Read(b[:])
	return "--------------------------" + hex.EncodeToString(b[:])
}

func (c *Client) httpClient() *http.Client {
	hc := defaultHTTPClient
	if c.HTTPClient != nil {
		cp := *c.HTTPClient
		cp.CheckRedirect = noRedirect
		hc = &cp
	}
	return hc
}
