package cloudcall

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The values the SDK sends and signs (§3.1).
const (
	userAgent  = "tcb-node-sdk/3.17.2"
	sdkVersion = "wx-server-sdk/4.0.2"
)

// header is one request header, in the SDK's order and spelling.
type header struct{ name, value string }

// wireRequest is one gateway request as the SDK would write it.
type wireRequest struct {
	url     *url.URL // what Go sends: the request target and the address to dial
	host    string   // the Host header
	headers []header // Host excluded; Go writes it from host
	body    []byte
}

// formField is one multipart field (§3.2).
type formField struct {
	name   string
	value  []byte
	binary bool // requestData: a Buffer, with its own Content-Type, never skipped when signing
}

// isHostEnvID reports whether the environment ID may prefix the host name
// (^[a-z0-9_-]{1,40}$). By hand rather than with regexp, which would bring
// 0.24 MiB to the binary for two checks.
func isHostEnvID(s string) bool {
	if len(s) < 1 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// build makes the request the SDK sends for one call at now, with sequence number seq.
func build(env *Env, apiName string, data []byte, now time.Time, seq uint64, boundary string) (*wireRequest, error) {
	requestData, err := commAPIData(data)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"the env id", env.EnvID}, {"TCB_SEQID", env.SeqIDPrefix}} {
		// The SDK puts them in the query unescaped; Node's URL parsers would then escape
		// some characters differently in the request line and in the signature.
		if i := strings.IndexFunc(f.v, unsafeInQuery); i >= 0 {
			return nil, fmt.Errorf("cloudcall: %s %q contains %q, which the gateway URL cannot carry unescaped", f.name, f.v, f.v[i:i+1])
		}
	}
	ms := now.UnixMilli()
	seqID := strconv.FormatInt(ms, 16) + "_" + strconv.FormatUint(seq, 16)
	if env.SeqIDPrefix != "" {
		seqID = env.SeqIDPrefix + "-" + seqID
	}
	raw := gatewayURL(env, seqID)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoted: the URL is no business of the caller's (§5 row 3).
		return nil, errors.New("cloudcall: the gateway URL (TCB_CONTEXT_CNFG's URL, or one made from TENCENTCLOUD_REGION) is not an absolute http(s) URL")
	}
	host := strings.ToLower(u.Host) // Node's url.parse lower-cases the host

	fields := []formField{
		{name: "action", value: []byte("wx.openApi")},
		{name: "apiName", value: []byte(apiName)},
		{name: "requestData", value: requestData, binary: true},
		{name: "envName", value: []byte(env.EnvID)},
		{name: "wxCloudApiToken", value: []byte(env.Token)},
	}
	if env.Token == "" {
		fields = append(fields, formField{name: "wxCloudbaseAccesstoken", value: []byte(env.CloudbaseAccessToken)})
	}
	fields = append(fields, formField{name: "tcb_sessionToken", value: []byte(env.TCBSessionToken)})
	if env.HasSessionToken {
		fields = append(fields, formField{name: "sessionToken", value: []byte(env.SessionToken)})
	}
	fields = append(fields, formField{name: "crossAuthorizationToken"})

	signed := []header{
		{"content-type", "multipart/form-data; boundary=" + boundary},
		{"User-Agent", userAgent},
		{"X-TCB-Source", env.Source + "," + env.RunEnvTag},
		{"X-Client-Timestamp", strconv.FormatInt(ms, 10)},
		{"X-SDK-Version", sdkVersion},
		{"Host", host},
	}
	if env.Tracelog != "" { // the SDK sends it when truthy
		signed = append(signed, header{"X-TCB-Tracelog", env.Tracelog})
	}
	if env.Region != "" {
		signed = append(signed, header{"X-TCB-Region", env.Region})
	}
	for _, h := range signed {
		if i := strings.IndexFunc(h.value, invalidHeaderChar); i >= 0 {
			// Node refuses the request the same way, before sending anything.
			return nil, fmt.Errorf("cloudcall: Invalid character in header content [%q]", h.name)
		}
	}
	ts := now.Unix() - 1 // the SDK signs with Math.floor(now/1000) - 1
	auth := sign(env.SecretID, env.SecretKey, raw, signed, fields, ts)

	headers := make([]header, 0, len(signed)+2)
	for _, h := range signed {
		if h.name != "Host" {
			headers = append(headers, h)
		}
	}
	headers = append(headers,
		header{"Authorization", auth},
		header{"X-Signature-Expires", "600"},
		header{"X-Timestamp", strconv.FormatInt(ts, 10)})
	return &wireRequest{url: u, host: host, headers: headers, body: multipart(boundary, fields)}, nil
}

// gatewayURL is §2.1's URL, including its quirk: no "&" when the base already has a "?".
func gatewayURL(env *Env, seqID string) string {
	base := env.BaseURL
	if base == "" {
		region := env.Region
		var host string
		switch {
		case env.InSCF && region != "":
			host = "internal." + region + ".tcb-api.tencentcloudapi.com"
		case env.InSCF:
			host = "internal.tcb-api.tencentcloudapi.com"
		case region != "":
			host = region + ".tcb-api.tencentcloudapi.com"
		default:
			host = "tcb-api.tencentcloudapi.com"
		}
		if isHostEnvID(env.EnvID) {
			host = env.EnvID + "." + host
		}
		scheme := "https"
		if env.InSCF {
			scheme = "http"
		}
		base = scheme + "://" + host + "/admin"
	}
	qs := "env=" + env.EnvID + "&seqId=" + seqID
	if strings.Contains(base, "?") {
		return base + qs
	}
	return base + "?" + qs
}

func unsafeInQuery(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"#%&'<>\\^`{|}", r)
}

// invalidHeaderChar: Node refuses control characters and anything beyond Latin-1, and
// would send Latin-1 as one byte where Go sends UTF-8; platform values are ASCII.
func invalidHeaderChar(r rune) bool { return (r < ' ' && r != '\t') || r >= 0x7f }

// commAPIData encodes data, a JSON object, as CommApiData{apiType: OPEN_API,
// openapiData: {pairs}} (§3.3): apiType is written although it is 0, as protobufjs
// writes every set field, and openapiData is present even with no pairs.
func commAPIData(data []byte) ([]byte, error) {
	v, err := parseJS(data)
	if err != nil {
		return nil, fmt.Errorf("cloudcall: data is not JSON: %w", err)
	}
	if v.kind != jsObjectKind {
		return nil, errors.New("cloudcall: data must be a JSON object")
	}
	var pairs, pair []byte
	var val bytes.Buffer
	for _, k := range v.obj.ordered() {
		val.Reset()
		writeBigint(&val, v.obj.vals[k])
		pair = appendTag(pair[:0], 1, wireBytes)
		pair = appendString(pair, k)
		pair = appendTag(pair, 2, wireBytes)
		pair = appendBytes(pair, val.Bytes())
		pairs = appendTag(pairs, 1, wireBytes)
		pairs = appendBytes(pairs, pair)
	}
	out := appendTag(nil, 1, wireVarint)
	out = appendVarint(out, 0) // OPEN_API
	out = appendTag(out, 2, wireBytes)
	return appendBytes(out, pairs), nil
}

// The protocol buffers wire types CommApiData uses. Its encoding is written
// here by hand: google.golang.org/protobuf's protowire, for these few lines,
// brought a package init that reads samples of the executable from disk
// (internal/detrand), 0.1 ms of every start. The tests check these bytes with
// protowire, as the emulator's gateway parses them.
const (
	wireVarint = 0
	wireBytes  = 2
)

// appendVarint appends v as a varint: seven bits a byte, the lowest first,
// the high bit set on every byte but the last.
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendTag appends the key of field num, of wire type typ.
func appendTag(b []byte, num, typ uint64) []byte { return appendVarint(b, num<<3|typ) }

// appendBytes appends v, length-delimited.
func appendBytes(b, v []byte) []byte { return append(appendVarint(b, uint64(len(v))), v...) }

// appendString appends v, length-delimited.
func appendString(b []byte, v string) []byte { return append(appendVarint(b, uint64(len(v))), v...) }

// multipart is form-data 4.0.6's getBuffer() for fields (§3.2).
func multipart(boundary string, fields []formField) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.name + "\"\r\n")
		if f.binary {
			b.WriteString("Content-Type: application/octet-stream\r\n")
		}
		b.WriteString("\r\n")
		b.Write(f.value)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// sign is @cloudbase/signature-nodejs 2.2.0's tc3sign with signed params (§4); it
// returns the Authorization header.
func sign(secretID, secretKey, rawURL string, headers []header, fields []formField, ts int64) string {
	hk := make([]header, len(headers))
	for i, h := range headers {
		k, v := strings.ToLower(strings.TrimFunc(h.name, jsSpace)), h.value
		if k == "content-type" && strings.HasPrefix(v, "multipart/form-data") {
			v = "multipart/form-data" // the boundary is not signed
		} else {
			v = strings.ToLower(strings.TrimFunc(v, jsSpace))
		}
		hk[i] = header{k, v}
	}
	// The SDK sorts with localeCompare; for these keys that is byte order.
	sort.Slice(hk, func(i, j int) bool { return hk[i].name < hk[j].name })
	var canonHeaders strings.Builder
	names := make([]string, len(hk))
	for i, h := range hk {
		canonHeaders.WriteString(h.name + ":" + h.value + "\n")
		names[i] = h.name
	}

	params := make([]formField, len(fields))
	for i, f := range fields {
		params[i] = formField{name: strings.ToLower(strings.TrimFunc(f.name, jsSpace)), value: f.value, binary: f.binary}
		if !f.binary {
			params[i].value = []byte(strings.TrimFunc(string(f.value), jsSpace))
		}
	}
	sort.Slice(params, func(i, j int) bool { return params[i].name < params[j].name })
	payload := sha256.New()
	var signedParams []string
	for _, p := range params {
		if !p.binary && len(p.value) == 0 {
			continue // empty strings are not hashed
		}
		signedParams = append(signedParams, p.name)
		payload.Write([]byte("&" + p.name + "="))
		payload.Write(p.value)
		payload.Write([]byte("\r\n"))
	}

	signedURL, query, _ := strings.Cut(rawURL, "?")
	signedURL = strings.TrimPrefix(strings.TrimPrefix(signedURL, "http:"), "https:")
	query, _, _ = strings.Cut(query, "#")
	canonical := "post\n" + signedURL + "\n" + query + "\n" + canonHeaders.String() + "\n" +
		strings.Join(names, ";") + "\n" + hex.EncodeToString(payload.Sum(nil))

	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	scope := date + "/tcb/tc3_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("TC3"+secretKey), date)
	key = hmacSHA256(key, "tcb")
	key = hmacSHA256(key, "tc3_request")
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedParams=" + strings.Join(signedParams, ";") +
		", SignedHeaders=" + strings.Join(names, ";") + ", Signature=" + hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// jsSpace is what JavaScript's String.prototype.trim removes: white space and line
// terminators (not U+0085, which Go's unicode.IsSpace includes).
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0xfeff, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}
