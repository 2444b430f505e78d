package emulator

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The cloud-call gateway (shared/reference/cloudcall.md): what
// wx-server-sdk's cloud.openapi.* reaches instead of api.weixin.qq.com. It
// checks the TC3 signature and the token, and answers a protobuf
// CommOpenApiResp holding WeChat's answer.

// GatewayPath is where the gateway listens: point TCB_CONTEXT_CNFG's URL at
// http://<addr>/admin.
const GatewayPath = "/admin"

// What the gateway accepts unless configured otherwise. None is a real
// credential.
const (
	DefaultSecretID       = "AKIDwxemulatorsecretid"
	DefaultSecretKey      = "wxemu-tencentcloud-secret-key"
	DefaultCloudToken     = "wxemu-wx-api-token"
	DefaultTimerToken     = "wxemu-wx-trigger-api-token"
	DefaultCloudbaseToken = "wxemu-cloudbase-access-token"
)

const (
	signatureExpiry = 600 * time.Second // the SDK sends X-Signature-Expires: 600
	gatewayKept     = 32                // GatewayRequests keeps this many
	codeNoAPI       = -604100           // CommOpenApiResp.errorCode: API not found
	codeNoPerm      = -604101           // CommOpenApiResp.errorCode: function has no permission to call this API
)

// A GatewayRequest is what the gateway read from one request, kept for tests.
// Secrets are left out: the values of the token fields and the session
// tokens, and the Authorization header.
type GatewayRequest struct {
	Query         string      // the raw query, "env=<env>&seqId=<seq>"
	Header        http.Header // the request's headers but Authorization
	Fields        []string    // the multipart field names, in order
	Action        string      // "wx.openApi"
	APIName       string      // "analysis.getWeeklyRetain"
	EnvName       string
	TokenKind     string   // the token that authorised the call: "api", "timer", "cloudbase"; "" none or invalid
	SessionToken  bool     // a non-empty sessionToken field was sent
	APIType       int      // CommApiData.apiType; 0 is OPEN_API
	Pairs         []Pair   // CommApiData's key/value pairs, in order
	AppID         string   // CommApiData.appid, if any
	Credential    string   // the Authorization's scope, "<secret id>/<date>/tcb/tc3_request"
	SignedParams  []string // as the Authorization lists them
	SignedHeaders []string
	Refused       string // why the gateway refused the call; "" if it answered WeChat's answer
}

// A Pair is one CommApiData key/value pair: a snake_case key and its JSON text.
type Pair struct{ Key, Value string }

// GatewayRequests returns the last gateway requests, oldest first.
func (e *Emulator) GatewayRequests() []GatewayRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.gateway)
}

type formField struct {
	name  string
	value []byte
}

// serveGateway is POST /admin with action wx.openApi: injected gateway
// faults first, then the gateway's checks, then WeChat's answer relayed.
func (e *Emulator) serveGateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	headerFaults, err := ParseFaults(r.Header.Get(headerFault))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return
	}
	req := GatewayRequest{Query: r.URL.RawQuery, Header: r.Header.Clone()}
	req.Header.Del("Authorization")
	defer e.keep(&req)
	fields, formErr := readForm(r.Header.Get("Content-Type"), body)
	field := func(name string) string {
		for _, f := range fields {
			if f.name == name {
				return string(f.value)
			}
		}
		return ""
	}
	for _, f := range fields {
		req.Fields = append(req.Fields, f.name)
	}
	req.Action, req.APIName, req.EnvName = field("action"), field("apiName"), field("envName")
	req.SessionToken = field("sessionToken") != ""
	req.TokenKind = e.tokenKind(field("wxCloudApiToken"), field("wxCloudbaseAccesstoken"))
	refuse := func(code, message string) {
		req.Refused = code + ": " + message
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		b, _ := json.Marshal(map[string]string{"code": code, "message": message,
			"requestId": cmp.Or(r.URL.Query().Get("seqId"), newID()[:12])})
		w.Write(b)
	}

	for _, f := range append(only(headerFaults, toGateway), e.takeFaults(toGateway, "")...) {
		if f.Kind == Latency {
			if !sleep(r.Context(), f.D) {
				return
			}
			continue
		}
		req.Refused = "fault " + string(f.Kind)
		switch f.Kind {
		case Reset:
			reset(w)
		case Status:
			statusPage(w, f.N)
		case Malformed:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0xff, 0xff, 0xff}) // not JSON, and protobuf wire type 7
		case BadToken:
			refuse("INVALID_PARAM", "Invalid wxCloudApiToken")
		case Errcode:
			writeResp(w, nil, "", int32(f.N), 0)
		}
		return
	}

	var reason string
	req.Credential, req.SignedParams, req.SignedHeaders, reason = e.verify(r, fields)
	req.APIType, req.Pairs, req.AppID, err = decodeCommAPIData([]byte(field("requestData")))
	switch {
	case formErr != nil:
		refuse("INVALID_PARAM", formErr.Error())
	case reason != "":
		refuse("SIGN_PARAM_INVALID", reason)
	case req.Action != "wx.openApi":
		refuse("INVALID_PARAM", "invalid action")
	case req.TokenKind == "" && field("wxCloudApiToken") == "" && field("wxCloudbaseAccesstoken") == "":
		refuse("INVALID_PARAM", "missing wxCloudApiToken")
	case req.TokenKind == "":
		refuse("INVALID_PARAM", "Invalid wxCloudApiToken")
	case err != nil || req.APIType != 0:
		refuse("INVALID_PARAM", "invalid requestData")
	case methodByAPI(req.APIName) == nil:
		req.Refused = "API not found"
		writeResp(w, nil, "", codeNoAPI, 0)
	case len(e.cfg.PermittedAPIs) > 0 && !slices.Contains(e.cfg.PermittedAPIs, req.APIName):
		req.Refused = "no permission"
		writeResp(w, nil, "", codeNoPerm, 0)
	default:
		e.relay(w, r, methodByAPI(req.APIName), req.Pairs, only(headerFaults, toAnalysis))
	}
}

// relay answers a cloud call the gateway admitted: the body the gateway
// would POST to WeChat, answered by the emulator's own analysis endpoint
// (analysis faults included), in a CommOpenApiResp.
func (e *Emulator) relay(w http.ResponseWriter, r *http.Request, m *method, pairs []Pair, faults []Fault) {
	upstream := []byte{'{'}
	for i, p := range pairs {
		if i > 0 {
			upstream = append(upstream, ',')
		}
		key, _ := json.Marshal(p.Key)
		upstream = append(append(append(upstream, key...), ':'), p.Value...)
	}
	upstream = append(upstream, '}')
	wx := &buffered{ResponseWriter: w, header: http.Header{}}
	faults = append(faults, e.takeFaults(toAnalysis, e.cfg.AppID)...)
	if !e.inject(wx, r, faults) {
		e.answer(wx, r, m, e.cfg.AppID, upstream, faults)
	}
	if wx.status == 0 && wx.body.Len() == 0 {
		return // reset, or the caller left
	}
	writeResp(w, wx.body.Bytes(), wx.header.Get("Content-Type"), 0, uint32(cmp.Or(wx.status, http.StatusOK)))
}

// keep logs a gateway request, never a secret, and keeps it for
// GatewayRequests.
func (e *Emulator) keep(req *GatewayRequest) {
	e.cfg.Logger.Info("gateway", "api", req.APIName, "token", req.TokenKind, "refused", req.Refused)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gateway = append(e.gateway, *req)
	if len(e.gateway) > gatewayKept {
		e.gateway = slices.Delete(e.gateway, 0, len(e.gateway)-gatewayKept)
	}
}

// tokenKind names the kind of a valid token, or "".
func (e *Emulator) tokenKind(apiToken, cloudbaseToken string) string {
	switch {
	case apiToken != "" && slices.Contains(e.cfg.CloudTokens, apiToken):
		return "api"
	case apiToken != "" && slices.Contains(e.cfg.TimerTokens, apiToken):
		return "timer"
	case apiToken == "" && cloudbaseToken != "" && slices.Contains(e.cfg.CloudbaseTokens, cloudbaseToken):
		return "cloudbase"
	}
	return ""
}

// buffered keeps WeChat's side of a cloud call, to wrap it in a
// CommOpenApiResp.
type buffered struct {
	http.ResponseWriter // the gateway's own, reached through Unwrap by a reset
	header              http.Header
	status              int
	body                bytes.Buffer
}

func (b *buffered) Header() http.Header         { return b.header }
func (b *buffered) WriteHeader(code int)        { b.status = code }
func (b *buffered) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *buffered) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// readForm reads a multipart/form-data body's fields, in order.
func readForm(contentType string, body []byte) ([]formField, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, errors.New("content-type must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var fields []formField
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, errors.New("invalid multipart body")
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, errors.New("invalid multipart body")
		}
		fields = append(fields, formField{p.FormName(), v})
	}
}

// verify checks a request's TC3-HMAC-SHA256 signature as the CloudBase
// gateway does (cloudcall.md §4). It returns the Authorization's parts and
// why the signature is refused, or "".
func (e *Emulator) verify(r *http.Request, fields []formField) (credential string, params, headers []string, reason string) {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "TC3-HMAC-SHA256 ")
	if !ok {
		return "", nil, nil, "missing or malformed Authorization"
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(auth, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		parts[k] = v
	}
	credential = parts["Credential"]
	params, headers = strings.Split(parts["SignedParams"], ";"), strings.Split(parts["SignedHeaders"], ";")
	secretID, scope, _ := strings.Cut(credential, "/")
	ts, err := strconv.ParseInt(r.Header.Get("X-Timestamp"), 10, 64)
	switch {
	case secretID != e.cfg.SecretID:
		return credential, params, headers, "secret id error"
	case err != nil:
		return credential, params, headers, "missing or malformed X-Timestamp"
	case e.cfg.Now().Sub(time.Unix(ts, 0)).Abs() > signatureExpiry:
		return credential, params, headers, "signature is expired"
	case scope != time.Unix(ts, 0).UTC().Format("2006-01-02")+"/tcb/tc3_request":
		return credential, params, headers, "credential scope error"
	case !slices.Contains(headers, "content-type") || !slices.Contains(headers, "host"):
		return credential, params, headers, "content-type and host must be signed"
	}
	canonical, signed := canonicalRequest(r, headers, fields)
	if !slices.Equal(signed, params) {
		return credential, params, headers, "signed params do not match the body"
	}
	want := sign(e.cfg.SecretKey, ts, canonical)
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return credential, params, headers, "signature mismatch"
	}
	return credential, params, headers, ""
}

// canonicalRequest is §4's canonical request, and the field names it signs.
// Names sort by byte order, which equals the SDK's localeCompare for the
// names it sends.
func canonicalRequest(r *http.Request, signedHeaders []string, fields []formField) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "post\n//%s%s\n%s\n", r.Host, r.URL.Path, r.URL.RawQuery)
	for _, h := range slices.Sorted(slices.Values(signedHeaders)) {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		v = strings.ToLower(strings.TrimSpace(v))
		if strings.HasPrefix(v, "multipart/form-data") {
			v = "multipart/form-data" // the boundary is not signed
		}
		fmt.Fprintf(&b, "%s:%s\n", h, v)
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n")

	var names []string
	values := map[string][]byte{}
	for _, f := range fields {
		name, v := strings.ToLower(f.name), f.value
		if f.name != "requestData" { // the one binary field: never trimmed nor skipped
			if v = bytes.TrimSpace(v); len(v) == 0 {
				continue
			}
		}
		names = append(names, name)
		values[name] = v
	}
	slices.Sort(names)
	payload := sha256.New()
	for _, n := range names {
		payload.Write([]byte("&" + n + "="))
		payload.Write(values[n])
		payload.Write([]byte("\r\n"))
	}
	b.WriteString(hex.EncodeToString(payload.Sum(nil)))
	return b.String(), names
}

// sign is §4's signature of a canonical request made at ts.
func sign(secretKey string, ts int64, canonical string) string {
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	hashed := sha256.Sum256([]byte(canonical))
	toSign := fmt.Sprintf("TC3-HMAC-SHA256\n%d\n%s/tcb/tc3_request\n%x", ts, date, hashed)
	key := mac(mac(mac([]byte("TC3"+secretKey), date), "tcb"), "tc3_request")
	return hex.EncodeToString(mac(key, toSign))
}

// decodeCommAPIData reads the protobuf CommApiData of §3.3.
func decodeCommAPIData(b []byte) (apiType int, pairs []Pair, appid string, err error) {
	errBad := errors.New("invalid CommApiData")
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			apiType = int(n)
		case num == 6 && typ == protowire.BytesType:
			appid = string(v)
		case num == 2 && typ == protowire.BytesType: // OpenApiData
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != 1 || typ != protowire.BytesType {
					return nil
				}
				var p Pair
				err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					switch {
					case num == 1 && typ == protowire.BytesType:
						p.Key = string(v)
					case num == 2 && typ == protowire.BytesType:
						p.Value = string(v)
					}
					return nil
				})
				pairs = append(pairs, p)
				return err
			})
		}
		return nil
	})
	if err != nil {
		return 0, nil, "", errBad
	}
	return apiType, pairs, appid, nil
}

// eachField calls f for each field of a protobuf message: its bytes for a
// length-delimited field, its value for a varint.
func eachField(b []byte, f func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// writeResp answers a protobuf CommOpenApiResp (cloudcall.md §5).
func writeResp(w http.ResponseWriter, respData []byte, contentType string, errorCode int32, httpCode uint32) {
	var b []byte
	if len(respData) > 0 {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, respData)
	}
	if contentType != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, contentType)
	}
	if errorCode != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(errorCode))) // int32: sign-extended
	}
	if httpCode != 0 {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(httpCode))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}
