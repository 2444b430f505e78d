package handler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// HTTPRequest is an HTTP-shaped event, as an SCF function URL or CloudBase
// HTTP access delivers it.
type HTTPRequest struct {
	HTTPMethod            string            `json:"httpMethod"`
	Path                  string            `json:"path"`
	Headers               Headers           `json:"headers"`
	QueryString           Query             `json:"queryString"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// Query is an HTTP event's query string: each parameter's value a string,
// a list of strings, or (a parameter without a value) true, as scf-go-lib's
// events.APIGatewayQueryString reads it.
type Query map[string][]string

// UnmarshalJSON accepts string, array, number and boolean values. A query
// that is not an object is taken as none: only the push route reads it,
// and no event should fail for a member it does not use.
func (q *Query) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		*q = nil
		return nil
	}
	*q = make(Query, len(raw))
	for k, v := range raw {
		var s string
		var list []string
		var n json.Number
		switch {
		case json.Unmarshal(v, &s) == nil:
			(*q)[k] = []string{s}
		case json.Unmarshal(v, &list) == nil:
			(*q)[k] = list
		case json.Unmarshal(v, &n) == nil:
			(*q)[k] = []string{n.String()}
		default:
			(*q)[k] = []string{} // true: named, without a value
		}
	}
	return nil
}

// values is the event's query as url.Values: QueryString, and what only
// QueryStringParameters names.
func (ev *HTTPRequest) values() url.Values {
	v := url.Values(ev.QueryString)
	if v == nil {
		v = url.Values{}
	}
	for k, s := range ev.QueryStringParameters {
		if _, ok := v[k]; !ok {
			v.Set(k, s)
		}
	}
	return v
}

// HTTPResponse is the answer to an HTTPRequest.
type HTTPResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// Headers are request headers. A platform may send a repeated header as an
// array (scf-go-lib issue #15); the first value counts.
type Headers map[string]string

// UnmarshalJSON accepts string and array values.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*h = make(Headers, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) != nil {
			var list []string
			if json.Unmarshal(v, &list) != nil || len(list) == 0 {
				continue
			}
			s = list[0]
		}
		(*h)[strings.ToLower(k)] = s
	}
	return nil
}

// MaxHTTPBody is the largest HTTP body accepted; analysis parameters are a
// few hundred bytes, a batch of 100 a few KiB.
const MaxHTTPBody = 64 << 10

func isHTTP(ev map[string]any) bool {
	_, ok := ev["httpMethod"].(string)
	return ok
}

// request is an HTTP request however it arrived: as an HTTP event, or to
// the function's own HTTP server.
type request struct {
	method string
	path   string
	header http.Header
	body   []byte
	// event: it came as an HTTP event (function URLs): the path's last
	// segment names the action (POST /getWeeklyRetain), and no header is a
	// platform's, since whoever invokes the function writes the whole event.
	// Served directly (callContainer), the path is the front end's own
	// choice and the body is the whole event.
	event     bool
	badBase64 bool
	readErr   error // the body could not be read whole: not a body at all
}

// serveHTTP answers an HTTP event.
func (h *Handler) serveHTTP(ctx context.Context, payload []byte, rec *record) []byte {
	var ev HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		e := invalidArgs("the HTTP event is malformed")
		rec.fail(e)
		rec.status = http.StatusBadRequest
		return httpResponse(rec.status, e.Result())
	}
	req := &request{method: ev.HTTPMethod, path: ev.Path, header: make(http.Header, len(ev.Headers)), event: true}
	for k, v := range ev.Headers {
		req.header.Set(k, v)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded && len(body) <= base64.StdEncoding.EncodedLen(MaxHTTPBody) {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			body, req.badBase64 = nil, true
		}
	}
	req.body = body
	if h.pushes() && strings.HasSuffix(ev.Path, ComponentPushPath) {
		return h.pushEvent(ctx, &ev, body, rec)
	}
	status, res := h.serveRequest(ctx, req, rec)
	out := httpResponse(status, res)
	if len(out) > openapi.MaxResult {
		// Escaped into the event's body, the result grew past what SCF returns.
		e := &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: the HTTP response is " + strconv.Itoa(len(out)) +
			" bytes, more than the " + strconv.Itoa(openapi.MaxResult) + " a cloud function may return; ask for less"}
		rec.fail(e)
		rec.status = http.StatusBadGateway
		out = httpResponse(rec.status, e.Result())
	}
	return out
}

// serveRequest authenticates an HTTP request, then answers the event its
// body holds. Before the caller is known, nothing about the configuration
// is told: only that it is broken.
func (h *Handler) serveRequest(ctx context.Context, req *request, rec *record) (int, []byte) {
	status, res, e := h.httpCall(ctx, req, rec)
	if e != nil {
		res = e.Result()
		rec.fail(e)
		if status == 0 {
			status = statusOf(e)
		}
	} else if status == 0 {
		status = http.StatusOK
	}
	rec.status = status
	return status, res
}

func (h *Handler) httpCall(ctx context.Context, req *request, rec *record) (int, []byte, *openapi.Error) {
	caller := callerOfHTTP(req.header, h.cfg.CloudRun && !req.event)
	rec.caller, rec.id = caller.Kind, caller.ID
	// The event is read first, for the log line's action (a refusal says
	// what was asked for), but a caller who may not call learns nothing of it.
	ev, status, bodyErr := h.httpEvent(req)
	if ev != nil {
		rec.noteAction(ev)
	}
	if caller.Kind == KindHTTP {
		hint := ""
		if !req.event && !h.cfg.CloudRun && req.header.Get("X-WX-SOURCE") != "" {
			hint = " (X-WX-* headers are trusted only with WECHAT_CLOUDRUN=true: see SECURITY.md)"
		}
		if len(h.cfg.HTTPAPIKeys) == 0 {
			return 0, nil, denied("HTTP access is off; set HTTP_API_KEYS to allow it" + hint)
		}
		key, ok := bearer(req.header.Get("Authorization"))
		if !ok {
			return http.StatusUnauthorized, nil, denied("send the header Authorization: Bearer <key>" + hint)
		}
		if !h.validKey(key) {
			if h.err != nil && h.configuredShortKey(key) {
				// Whoever holds a configured key is the operator: tell them
				// why it cannot work (the error names its position).
				return 0, nil, h.configError()
			}
			return http.StatusUnauthorized, nil, denied("the API key is not valid")
		}
	} else if e := h.authorize(caller); e != nil {
		return 0, nil, e
	}
	if bodyErr != nil {
		return status, nil, bodyErr
	}
	res, e := h.serve(ctx, ev, nil, caller, nil, rec)
	rec.caller = caller.Kind
	return 0, res, e
}

// httpEvent is the event an HTTP request holds, or why it holds none, with
// the status to answer (0: the error's own).
func (h *Handler) httpEvent(req *request) (map[string]any, int, *openapi.Error) {
	if req.badBase64 {
		return nil, 0, invalidArgs("the body is marked isBase64Encoded but is not base64")
	}
	if req.readErr != nil {
		if ne, ok := errors.AsType[net.Error](req.readErr); ok && ne.Timeout() {
			return nil, http.StatusRequestTimeout, invalidArgs("the body did not arrive within HTTP_TIMEOUT (" +
				h.cfg.HTTPTimeout.String() + "); send it at once")
		}
		return nil, 0, invalidArgs("the body could not be read: the connection ended before the whole body arrived")
	}
	if req.method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, invalidArgs("use POST, not " + quote(req.method))
	}
	if len(req.body) > MaxHTTPBody {
		return nil, http.StatusRequestEntityTooLarge, invalidArgs("the body is larger than 64 KiB")
	}
	body := req.body
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	ev, e := decodeEvent(body)
	if e != nil {
		return nil, 0, invalidArgs("the body must be a JSON object: an event such as {\"action\": \"getWeeklyRetain\", \"beginDate\": \"20170306\", \"endDate\": \"20170312\"}")
	}
	if e := pathAction(req.path, ev); e != nil {
		return ev, 0, e
	}
	return ev, 0, nil
}

// pathAction applies the one HTTP contract, for HTTP events and the HTTP
// server alike: a body without an action takes the path's last segment as
// its action (POST /getWeeklyRetain with the parameters as the body); a
// body with one keeps it, unless the path names another action. A path that
// names no action (POST /analysis, a front end's own choice) is just a path.
func pathAction(path string, ev map[string]any) *openapi.Error {
	seg := strings.Trim(path, "/")
	seg = seg[strings.LastIndexByte(seg, '/')+1:]
	if seg == "" {
		return nil
	}
	a, ok := ev["action"]
	if !ok {
		ev["action"] = seg
		return nil
	}
	if name, isAction := actionName(seg); isAction {
		if body, _ := actionName(a); body != name {
			return invalidArgs("the action in the path and the one in the body differ")
		}
	}
	return nil
}

// actionName is the canonical name of the action a names: a method's name,
// batch or series.
func actionName(a any) (string, bool) {
	s, _ := a.(string)
	if s == "batch" || s == "series" {
		return s, true
	}
	m, ok := openapi.Lookup(s)
	return m.Name, ok
}

// httpResponse wraps a result in an HTTPResponse.
func httpResponse(status int, res []byte) []byte {
	resp := HTTPResponse{StatusCode: status, Body: string(res), Headers: map[string]string{}}
	for k, v := range responseHeaders(status) {
		resp.Headers[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(resp) // strings and a map of strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// responseHeaders are the headers of an answer with status.
func responseHeaders(status int) map[string]string {
	hs := map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
	switch status {
	case http.StatusUnauthorized:
		hs["WWW-Authenticate"] = `Bearer realm="wxanalysis"`
	case http.StatusMethodNotAllowed:
		hs["Allow"] = http.MethodPost
	}
	return hs
}

// bearer returns the credentials of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110, 11.1).
func bearer(auth string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(auth), " ")
	key = strings.TrimSpace(key)
	return key, ok && strings.EqualFold(scheme, "Bearer") && key != ""
}

// configuredShortKey reports, in constant time, whether key is one of the
// configured keys too short to be accepted.
func (h *Handler) configuredShortKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, k := range h.cfg.HTTPAPIKeys {
		want := sha256.Sum256([]byte(k))
		found |= subtle.ConstantTimeCompare(sum[:], want[:]) & subtle.ConstantTimeLessOrEq(len(k), MinAPIKeyLength-1)
	}
	return found == 1
}

// validKey compares key with every configured key in constant time.
func (h *Handler) validKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, k := range h.cfg.HTTPAPIKeys {
		if len(k) < MinAPIKeyLength {
			continue // refused by the configuration check; never a way in
		}
		want := sha256.Sum256([]byte(k))
		found |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	return found == 1
}

func denied(msg string) *openapi.Error {
	return &openapi.Error{Code: openapi.CodePermission, Msg: "api permission denied: " + msg}
}

// statusOf maps a failure to its HTTP status: the caller's fault (400, 401,
// 403, 404, 413), the function's configuration (500), or WeChat and the way
// to it (502, 504).
func statusOf(e *openapi.Error) int {
	switch e.Code {
	case openapi.CodeInvalidArgs, openapi.CodeDateFormat, openapi.CodeDateRange:
		return http.StatusBadRequest
	case openapi.CodeAPINotFound:
		return http.StatusNotFound
	case openapi.CodePermission, openapi.CodeAPINotAllowed:
		return http.StatusForbidden
	case openapi.CodeConfig:
		return http.StatusInternalServerError
	case openapi.CodeInternal:
		if e.Msg == internalError {
			return http.StatusInternalServerError // a bug of ours, not WeChat's
		}
	case openapi.CodeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}
