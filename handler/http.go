package handler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// HTTPRequest is an HTTP-shaped event, as an SCF function URL or CloudBase
// HTTP access delivers it.
type HTTPRequest struct {
	HTTPMethod      string  `json:"httpMethod"`
	Path            string  `json:"path"`
	Headers         Headers `json:"headers"`
	Body            string  `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded"`
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

// MaxHTTPBody is the largest HTTP event body accepted; analysis parameters
// are a few hundred bytes.
const MaxHTTPBody = 64 << 10

func isHTTP(ev map[string]any) bool {
	_, ok := ev["httpMethod"].(string)
	return ok
}

// serveHTTP answers an HTTP event: POST /<action> (or an action in the
// body) with the method's camelCase parameters as JSON, authorised by
// Authorization: Bearer <one of HTTP_API_KEYS>.
func (h *Handler) serveHTTP(ctx context.Context, payload []byte, rec *record) []byte {
	var req HTTPRequest
	var status int
	var res []byte
	if err := json.Unmarshal(payload, &req); err != nil {
		e := invalidArgs("the HTTP event is malformed")
		status, res, rec.code = http.StatusBadRequest, e.Result(), e.Code
	} else {
		var e *openapi.Error
		status, res, e = h.httpCall(ctx, &req, rec)
		if e == nil {
			status = http.StatusOK
		} else {
			res, rec.code = e.Result(), e.Code
			if status == 0 {
				status = statusOf(e)
			}
		}
	}
	rec.status = status
	return httpResponse(status, res)
}

// httpResponse wraps a result in an HTTPResponse.
func httpResponse(status int, res []byte) []byte {
	resp := HTTPResponse{StatusCode: status, Body: string(res),
		Headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}}
	switch status {
	case http.StatusUnauthorized:
		resp.Headers["WWW-Authenticate"] = `Bearer realm="wxanalysis"`
	case http.StatusMethodNotAllowed:
		resp.Headers["Allow"] = http.MethodPost
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(resp) // strings and a map of strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// httpCall serves an HTTP event's call. A failure's status is returned
// only where its errCode does not decide it (401, 405, 413); otherwise 0.
func (h *Handler) httpCall(ctx context.Context, req *HTTPRequest, rec *record) (int, []byte, *openapi.Error) {
	if h.err != nil {
		return 0, nil, h.configError()
	}
	if len(h.cfg.HTTPAPIKeys) == 0 {
		return 0, nil, &openapi.Error{Code: openapi.CodePermission,
			Msg: "api permission denied: HTTP access is off; set HTTP_API_KEYS to allow it"}
	}
	key, ok := strings.CutPrefix(req.Headers["authorization"], "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		return http.StatusUnauthorized, nil, denied("send the header Authorization: Bearer <key>, with a key from HTTP_API_KEYS")
	}
	if !h.validKey(strings.TrimSpace(key)) {
		return http.StatusUnauthorized, nil, denied("the API key is not valid")
	}
	if req.HTTPMethod != http.MethodPost {
		return http.StatusMethodNotAllowed, nil, invalidArgs("use POST, not " + quote(req.HTTPMethod))
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded && len(body) <= base64.StdEncoding.EncodedLen(MaxHTTPBody) {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return 0, nil, invalidArgs("the body is marked isBase64Encoded but is not base64")
		}
	}
	if len(body) > MaxHTTPBody {
		return http.StatusRequestEntityTooLarge, nil, invalidArgs("the body is larger than 64 KiB")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	ev, e := decodeEvent(body)
	if e != nil {
		return 0, nil, invalidArgs("the body must be a JSON object of the method's parameters, such as {\"beginDate\": \"20170306\", \"endDate\": \"20170312\"}")
	}
	if action := strings.Trim(req.Path, "/"); action != "" {
		action = action[strings.LastIndexByte(action, '/')+1:]
		if a, ok := ev["action"]; ok && a != action {
			return 0, nil, invalidArgs("the action in the path and the one in the body differ")
		}
		ev["action"] = action
	}
	res, e := h.call(ctx, ev, rec)
	return 0, res, e
}

// validKey compares key with every configured key in constant time.
func (h *Handler) validKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, k := range h.cfg.HTTPAPIKeys {
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
// to it (502).
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
	}
	return http.StatusBadGateway
}
