package emulator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The open platform's credentials the emulator uses unless configured otherwise.
const (
	DefaultComponentAppID  = "wx0000000component"
	DefaultComponentSecret = "emulator-component-secret"
	DefaultComponentToken  = "emulator-push-token"
	DefaultComponentAESKey = "emulatorAESkey0123456789abcdefghijklmnopqrs" // 43 characters
)

// Open-platform rules, as WeChat documents them.
const (
	TicketInterval    = 10 * time.Minute // WeChat pushes a ticket this often
	ticketLife        = 12 * time.Hour   // a ticket is accepted this long
	maxAuthorizerPage = 500
)

// A Component is the open platform (第三方平台) the emulator plays.
type Component struct {
	AppID       string // default DefaultComponentAppID
	Secret      string // default DefaultComponentSecret
	Token       string // the push token (消息校验Token); default DefaultComponentToken
	AESKey      string // the 43-character EncodingAESKey; default DefaultComponentAESKey
	Authorizers []Authorizer
}

// An Authorizer is a Mini Program that authorized the platform. Its data is
// its own: generated from its AppID.
type Authorizer struct {
	AppID        string
	Secret       string // its own AppSecret, for comparing with calls made with its own token
	RefreshToken string // authorizer_refresh_token at start; each api_authorizer_token call rotates it
	NoAnalysis   bool   // granted neither permission set 18 nor 21: analysis calls answer 48001
}

// DefaultAuthorizers are three Mini Programs of different sizes.
func DefaultAuthorizers() []Authorizer {
	var out []Authorizer
	for i, name := range []string{"merchant1", "merchant2", "merchant3"} {
		out = append(out, Authorizer{AppID: fmt.Sprintf("wx00000000%s", name), Secret: "own-secret-of-" + name,
			RefreshToken: fmt.Sprintf("refreshtoken@@@%d-%s", i+1, newID())})
	}
	return out
}

// platform is the open platform's state.
type platform struct {
	cfg          Component
	tickets      map[string]time.Time // ticket → when it was pushed
	compTokens   map[string]time.Time // component_access_token → expiry
	refresh      map[string]string    // authorizer AppID → its current refresh token
	authTokens   map[string]bool      // authorizer access tokens: third-party calls
	tokenFetches int
	issued       []string // every ticket, token and refresh token handed out, for secret scans
}

func (e *Emulator) servePlatform() {
	c := e.cfg.Component
	if c == nil {
		return
	}
	cfg := *c
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.AppID, DefaultComponentAppID)
	def(&cfg.Secret, DefaultComponentSecret)
	def(&cfg.Token, DefaultComponentToken)
	def(&cfg.AESKey, DefaultComponentAESKey)
	if cfg.Authorizers == nil {
		cfg.Authorizers = DefaultAuthorizers()
	}
	cfg.Authorizers = append([]Authorizer(nil), cfg.Authorizers...)
	p := &platform{cfg: cfg, tickets: map[string]time.Time{}, compTokens: map[string]time.Time{},
		refresh: map[string]string{}, authTokens: map[string]bool{}}
	for _, a := range cfg.Authorizers {
		p.refresh[a.AppID] = a.RefreshToken
	}
	e.platform = p
	e.mux.HandleFunc("/cgi-bin/component/api_component_token", e.componentToken)
	e.mux.HandleFunc("/cgi-bin/component/api_get_authorizer_list", e.authorizerList)
	e.mux.HandleFunc("/cgi-bin/component/api_authorizer_token", e.authorizerToken)
}

// Platform returns the open platform's settings, defaults filled in; the
// zero Component when there is none.
func (e *Emulator) Platform() Component {
	if e.platform == nil {
		return Component{}
	}
	return e.platform.cfg
}

// RefreshToken returns an authorizer's current refresh token.
func (e *Emulator) RefreshToken(appid string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.platform == nil {
		return ""
	}
	return e.platform.refresh[appid]
}

// Reauthorize plays a merchant authorizing the platform again: appid gets a
// new refresh token, which the authorizer list shows, and every earlier one
// answers 61023.
func (e *Emulator) Reauthorize(appid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.platform == nil {
		return
	}
	next := fmt.Sprintf("refreshtoken@@@%s", newID())
	e.platform.refresh[appid] = next
	e.platform.issued = append(e.platform.issued, next)
}

// Secrets returns every secret of the open platform: its secret, push
// token and AES key, the authorizers' first refresh tokens and secrets, and
// every ticket, token and refresh token handed out since, for scans of what
// the function logs and answers.
func (e *Emulator) Secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.platform == nil {
		return nil
	}
	p := e.platform
	out := []string{p.cfg.Secret, p.cfg.Token, p.cfg.AESKey}
	for _, a := range p.cfg.Authorizers {
		out = append(out, a.RefreshToken, a.Secret)
	}
	return append(out, p.issued...)
}

// ComponentTokenFetches returns how many component_access_tokens were issued.
func (e *Emulator) ComponentTokenFetches() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.platform == nil {
		return 0
	}
	return e.platform.tokenFetches
}

func (e *Emulator) authorizerApp(appid string) *Authorizer {
	if e.platform == nil {
		return nil
	}
	for i := range e.platform.cfg.Authorizers {
		if a := &e.platform.cfg.Authorizers[i]; a.AppID == appid {
			return a
		}
	}
	return nil
}

func (e *Emulator) isAuthorizerToken(tok string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.platform != nil && e.platform.authTokens[tok]
}

// readJSON decodes a POST body into v, answering WeChat's error if it cannot.
func (e *Emulator) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost {
		e.writeErr(w, 43002)
		return false
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(v); err != nil {
		e.writeErr(w, 47001)
		return false
	}
	return true
}

// componentToken is POST /cgi-bin/component/api_component_token: the
// platform's AppID and secret, and a ticket WeChat pushed within 12 hours.
func (e *Emulator) componentToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(toToken, "")) {
		return
	}
	var req struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_appsecret"`
		Ticket string `json:"component_verify_ticket"`
	}
	if !e.readJSON(w, r, &req) {
		return
	}
	p := e.platform
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	pushed, known := p.tickets[req.Ticket]
	switch {
	case req.AppID == "":
		e.writeErr(w, 41002)
	case req.AppID != p.cfg.AppID:
		e.writeErr(w, 40013)
	case req.Secret != p.cfg.Secret:
		e.writeErr(w, 40125)
	case !known:
		e.writeErr(w, 61006) // component ticket is invalid
	case !now.Before(pushed.Add(ticketLife)):
		e.writeErr(w, 61005) // component ticket is expired
	default:
		tok := "emucomp_" + newID() + newID()
		p.compTokens[tok] = now.Add(TokenLifetime)
		p.tokenFetches++
		p.issued = append(p.issued, tok)
		writeJSON(w, map[string]any{"component_access_token": tok, "expires_in": int(TokenLifetime.Seconds())})
	}
}

// checkComponent checks ?component_access_token= and the body's component_appid.
func (e *Emulator) checkComponentLocked(tok, appid string) int {
	exp, ok := e.platform.compTokens[tok]
	switch {
	case tok == "":
		return 41001
	case !ok:
		return 40001
	case !e.cfg.Now().Before(exp):
		return 42001
	case appid != e.platform.cfg.AppID:
		return 40013
	}
	return 0
}

// authorizerList is POST /cgi-bin/component/api_get_authorizer_list: a page
// of at most 500 authorizers with their refresh tokens.
func (e *Emulator) authorizerList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID  string `json:"component_appid"`
		Offset int    `json:"offset"`
		Count  int    `json:"count"`
	}
	if !e.readJSON(w, r, &req) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if code := e.checkComponentLocked(r.URL.Query().Get("component_access_token"), req.AppID); code != 0 {
		e.writeErr(w, code)
		return
	}
	if req.Offset < 0 || req.Count < 1 || req.Count > maxAuthorizerPage {
		e.writeErr(w, 40097)
		return
	}
	all := e.platform.cfg.Authorizers
	type item struct {
		AppID        string `json:"authorizer_appid"`
		RefreshToken string `json:"refresh_token"`
		AuthTime     int64  `json:"auth_time"`
	}
	list := []item{}
	for i := req.Offset; i < len(all) && i < req.Offset+req.Count; i++ {
		list = append(list, item{all[i].AppID, e.platform.refresh[all[i].AppID], 1700000000 + int64(i)})
	}
	writeJSON(w, map[string]any{"total_count": len(all), "list": list})
}

// authorizerToken is POST /cgi-bin/component/api_authorizer_token: an
// authorizer's access token for its current refresh token, which the
// answer rotates: the old one stops working at once (61023).
func (e *Emulator) authorizerToken(w http.ResponseWriter, r *http.Request) {
	if e.inject(w, r, e.takeFaults(toToken, "")) {
		return
	}
	var req struct {
		AppID        string `json:"component_appid"`
		Authorizer   string `json:"authorizer_appid"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	if !e.readJSON(w, r, &req) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.platform
	if code := e.checkComponentLocked(r.URL.Query().Get("component_access_token"), req.AppID); code != 0 {
		e.writeErr(w, code)
		return
	}
	cur, ok := p.refresh[req.Authorizer]
	switch {
	case !ok:
		e.writeErr(w, 61003) // component is not authorized by this account
		return
	case req.RefreshToken != cur:
		e.writeErr(w, 61023) // refresh_token is invalid
		return
	}
	tok := e.newTokenFor(req.Authorizer, e.cfg.Now().Add(TokenLifetime))
	p.authTokens[tok] = true
	next := fmt.Sprintf("refreshtoken@@@%s", newID())
	p.refresh[req.Authorizer] = next
	p.issued = append(p.issued, tok, next)
	writeJSON(w, map[string]any{"authorizer_access_token": tok, "expires_in": int(TokenLifetime.Seconds()),
		"authorizer_refresh_token": next})
}

// A TicketPush is a component_verify_ticket push as WeChat posts it to the
// platform's authorization-event URL: the query and the XML body.
type TicketPush struct {
	Query  url.Values
	Body   []byte
	Ticket string // the ticket it carries
}

// NewTicketPush makes a new ticket, valid from now, and the encrypted push
// that carries it, addressed to appid (the platform's own, unless a test
// wants it mis-addressed: "").
func (e *Emulator) NewTicketPush(appid string) (TicketPush, error) {
	p := e.platform
	if p == nil {
		return TicketPush{}, errors.New("wxemu: no open platform (Config.Component)")
	}
	if appid == "" {
		appid = p.cfg.AppID
	}
	now := e.cfg.Now()
	ticket := "ticket@@@" + base64.RawURLEncoding.EncodeToString([]byte(newID()+newID()))
	e.mu.Lock()
	p.tickets[ticket] = now
	p.issued = append(p.issued, ticket)
	for t, at := range p.tickets {
		if !now.Before(at.Add(ticketLife)) {
			delete(p.tickets, t)
		}
	}
	e.mu.Unlock()
	plain := fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime>"+
		"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket></xml>",
		appid, now.Unix(), ticket)
	enc, err := SealMessage(p.cfg.AESKey, []byte(plain), appid, nil)
	if err != nil {
		return TicketPush{}, err
	}
	ts, nonce := strconv.FormatInt(now.Unix(), 10), strconv.FormatUint(uint64(seed(newID())%1e10), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"},
		"signature":     {sha1Hex(p.cfg.Token, ts, nonce)},
		"msg_signature": {sha1Hex(p.cfg.Token, ts, nonce, enc)}}
	body := fmt.Sprintf("<xml>\n    <AppId><![CDATA[%s]]></AppId>\n    <Encrypt><![CDATA[%s]]></Encrypt>\n</xml>", appid, enc)
	return TicketPush{Query: q, Body: []byte(body), Ticket: ticket}, nil
}

// Send posts push to the authorization-event URL and returns the status
// and body of the answer; the platform must answer "success".
func (push TicketPush) Send(ctx context.Context, hc *http.Client, rawURL string) (int, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, "", errors.New("wxemu: the push URL is not a URL")
	}
	q := u.Query()
	for k, v := range push.Query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(push.Body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", errors.New("wxemu: the push was not delivered: " + errors.Unwrap(err).Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// PushTicket makes a new ticket and pushes it to rawURL, as WeChat does
// every 10 minutes; it fails unless the platform answers "success".
func (e *Emulator) PushTicket(ctx context.Context, hc *http.Client, rawURL string) error {
	push, err := e.NewTicketPush("")
	if err != nil {
		return err
	}
	status, body, err := push.Send(ctx, hc, rawURL)
	if err != nil {
		return err
	}
	if status != http.StatusOK || strings.TrimSpace(body) != "success" {
		return fmt.Errorf("wxemu: the platform answered HTTP %d %q to the ticket push, not success", status, truncate(body, 200))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sha1Hex(parts ...string) string {
	sort.Strings(parts)
	h := sha1.New()
	for _, p := range parts {
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SealMessage is WeChat's message encryption, written here from the
// documentation and independently of the function's: random (16 bytes;
// crypto/rand when nil), the length in 4 bytes big endian, msg, appid,
// PKCS#7 to 32, AES-256-CBC by hand over the block cipher, IV the key's
// first 16 bytes; base64.
func SealMessage(encodingAESKey string, msg []byte, appid string, random []byte) (string, error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return "", err
	}
	if random == nil {
		random = make([]byte, 16)
		rand.Read(random)
	}
	if len(random) != 16 {
		return "", errors.New("wxemu: the random prefix must be 16 bytes")
	}
	var buf bytes.Buffer
	buf.Write(random)
	binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appid)
	pad := 32 - buf.Len()%32
	for range pad {
		buf.WriteByte(byte(pad))
	}
	data := buf.Bytes()
	block, _ := aes.NewCipher(key)
	prev := key[:16]
	for i := 0; i < len(data); i += 16 {
		for j := range 16 {
			data[i+j] ^= prev[j]
		}
		block.Encrypt(data[i:i+16], data[i:i+16])
		prev = data[i : i+16]
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// OpenMessage undoes SealMessage, returning the message and the AppID it
// was addressed to.
func OpenMessage(encodingAESKey, encrypted string) (msg []byte, appid string, err error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return nil, "", err
	}
	data, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(data) == 0 || len(data)%16 != 0 {
		return nil, "", errors.New("wxemu: not base64 of whole AES blocks")
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(data))
	prev := key[:16]
	for i := 0; i < len(data); i += 16 {
		block.Decrypt(out[i:i+16], data[i:i+16])
		for j := range 16 {
			out[i+j] ^= prev[j]
		}
		prev = data[i : i+16]
	}
	pad := int(out[len(out)-1])
	if pad < 1 || pad > 32 || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, "", errors.New("wxemu: bad padding")
	}
	out = out[:len(out)-pad]
	if len(out) < 20 {
		return nil, "", errors.New("wxemu: too short")
	}
	n := int(binary.BigEndian.Uint32(out[16:20]))
	if n > len(out)-20 {
		return nil, "", errors.New("wxemu: bad length")
	}
	return out[20 : 20+n], string(out[20+n:]), nil
}

var keyChars = regexp.MustCompile(`^[A-Za-z0-9+/]{43}$`)

func aesKey(encodingAESKey string) ([]byte, error) {
	if !keyChars.MatchString(encodingAESKey) {
		return nil, errors.New("wxemu: an EncodingAESKey is 43 base64 characters")
	}
	return base64.StdEncoding.DecodeString(encodingAESKey + "=")
}
