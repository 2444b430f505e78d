// Package wxcrypt is WeChat's message encryption (消息加解密), as the open
// platform uses it to push component_verify_ticket and authorization events
// to a third-party platform's authorization-event URL:
//
//   - msg_signature is the hex SHA-1 of the token, the timestamp, the nonce
//     and the Encrypt field, sorted and concatenated;
//   - Encrypt is base64 of AES-256-CBC, the key base64-decoded from the
//     43-character EncodingAESKey plus "=", the IV the key's first 16 bytes,
//     PKCS#7 padding to 32-byte blocks;
//   - the plaintext is 16 random bytes, the message's length as 4 bytes big
//     endian, the message, and the AppID it is addressed to.
//
// It is part of the library because a platform that receives pushes itself
// needs it to feed openapi.Component's ticket. Every refusal is an *Error
// whose Reason says what was wrong, and none repeats a key, a token or the
// message.
package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Reason is why a message was refused.
type Reason string

// Reasons of an *Error.
const (
	BadKey       Reason = "key"       // the EncodingAESKey is not 43 characters of base64
	BadSignature Reason = "signature" // msg_signature does not match
	BadAppID     Reason = "appid"     // the message is addressed to another AppID
	Stale        Reason = "timestamp" // the timestamp is missing, or outside the window
	BadPadding   Reason = "padding"   // the PKCS#7 padding is wrong: the key is wrong, or the ciphertext was altered
	BadLength    Reason = "length"    // the ciphertext or the message length does not fit
	BadFormat    Reason = "format"    // not the XML, base64 or fields expected
)

// An Error is a refused message. Msg never holds a key, token or message content.
type Error struct {
	Reason Reason
	Msg    string
}

func (e *Error) Error() string { return "wxcrypt: " + string(e.Reason) + ": " + e.Msg }

func fail(r Reason, msg string) *Error { return &Error{Reason: r, Msg: msg} }

// DefaultWindow is how far a push's timestamp may be from the receiver's
// clock, either way. WeChat sends a push at once and retries within seconds;
// 5 minutes leaves room for clock skew while keeping a captured push from
// being replayed later (within the window, Crypter does not detect replays:
// see Open).
const DefaultWindow = 5 * time.Minute

// KeyLength is the length of an EncodingAESKey.
const KeyLength = 43

const blockSize = 32 // WeChat pads to 32 bytes, not AES's 16

// A Crypter encrypts and decrypts the messages of one AppID. It is safe for
// concurrent use.
type Crypter struct {
	token string
	key   []byte
	appID string

	// Now is the clock Open checks timestamps against; nil: time.Now.
	Now func() time.Time
	// Window is how far a timestamp may be from Now; 0: DefaultWindow.
	Window time.Duration
	// Rand is the source of the 16 random bytes; nil: crypto/rand.
	Rand io.Reader
}

// New returns a Crypter for the token, the 43-character EncodingAESKey and
// the AppID messages must be addressed to.
func New(token, encodingAESKey, appID string) (*Crypter, error) {
	if len(encodingAESKey) != KeyLength {
		return nil, fail(BadKey, "the EncodingAESKey must be "+strconv.Itoa(KeyLength)+" characters, not "+strconv.Itoa(len(encodingAESKey)))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fail(BadKey, "the EncodingAESKey must be base64 (A-Z, a-z, 0-9, + and /)")
	}
	if token == "" || appID == "" {
		return nil, fail(BadKey, "the token and the AppID must not be empty")
	}
	return &Crypter{token: token, key: key, appID: appID}, nil
}

// Signature returns msg_signature for a message: the hex SHA-1 of the
// token, timestamp, nonce and encrypted message, sorted and concatenated.
func Signature(token, timestamp, nonce, encrypted string) string {
	parts := []string{token, timestamp, nonce, encrypted}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Signature is the package's Signature with c's token.
func (c *Crypter) Signature(timestamp, nonce, encrypted string) string {
	return Signature(c.token, timestamp, nonce, encrypted)
}

// Encrypt returns the base64 Encrypt field for msg, addressed to c's AppID.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	plain := make([]byte, 20, 20+len(msg)+len(c.appID)+blockSize)
	if _, err := io.ReadFull(r, plain[:16]); err != nil {
		return "", err
	}
	if uint64(len(msg)) > 1<<31 {
		return "", fail(BadLength, "the message is too long")
	}
	binary.BigEndian.PutUint32(plain[16:20], uint32(len(msg)))
	plain = append(append(plain, msg...), c.appID...)
	n := blockSize - len(plain)%blockSize
	plain = append(plain, bytes.Repeat([]byte{byte(n)}, n)...)
	block, _ := aes.NewCipher(c.key) // 32 bytes, checked by New
	cipher.NewCBCEncrypter(block, c.key[:16]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// Decrypt returns the message of an Encrypt field, refusing one addressed
// to another AppID, with bad padding or with a length that does not fit.
func (c *Crypter) Decrypt(encrypted string) ([]byte, error) {
	msg, appID, err := c.decrypt(encrypted)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(appID), []byte(c.appID)) != 1 {
		return nil, fail(BadAppID, "the message is addressed to another AppID")
	}
	return msg, nil
}

func (c *Crypter) decrypt(encrypted string) (msg []byte, appID string, err error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil {
		return nil, "", fail(BadFormat, "Encrypt is not base64")
	}
	if len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, "", fail(BadLength, "the ciphertext is "+strconv.Itoa(len(raw))+" bytes, not a whole number of AES blocks")
	}
	block, _ := aes.NewCipher(c.key)
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, c.key[:16]).CryptBlocks(plain, raw)
	n := int(plain[len(plain)-1])
	if n < 1 || n > blockSize || n > len(plain) {
		return nil, "", fail(BadPadding, "the padding byte is "+strconv.Itoa(n)+", not 1 to 32")
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, "", fail(BadPadding, "the padding bytes differ")
		}
	}
	plain = plain[:len(plain)-n]
	if len(plain) < 20 {
		return nil, "", fail(BadLength, "the plaintext is shorter than its 20-byte header")
	}
	size := binary.BigEndian.Uint32(plain[16:20])
	if uint64(size) > uint64(len(plain)-20) {
		return nil, "", fail(BadLength, "the message length "+strconv.FormatUint(uint64(size), 10)+
			" is more than the "+strconv.Itoa(len(plain)-20)+" bytes that follow it")
	}
	return plain[20 : 20+size], string(plain[20+size:]), nil
}

// A Push is a message as WeChat posts it: the query's msg_signature,
// timestamp and nonce, and the XML body.
type Push struct {
	MsgSignature string
	Timestamp    string
	Nonce        string
	Body         []byte
}

// envelope is a push's body: <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>
// (public-account messages carry ToUserName instead of AppId).
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	AppID      string   `xml:"AppId"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
}

// MaxPush bounds a push's body; a ticket push is about 600 bytes.
const MaxPush = 64 << 10

// Open checks a push and returns its decrypted message: the signature
// first (before any decryption), then the timestamp against the window, the
// envelope's AppID, then the padding, the length and the AppID inside.
// A push replayed within the window passes: a caller that must refuse
// replays remembers msg_signature for twice the window.
func (c *Crypter) Open(p Push) ([]byte, error) {
	if len(p.Body) > MaxPush {
		return nil, fail(BadFormat, "the body is larger than 64 KiB")
	}
	var env envelope
	if err := xml.Unmarshal(p.Body, &env); err != nil {
		return nil, fail(BadFormat, "the body is not <xml> with an Encrypt element")
	}
	if env.Encrypt == "" {
		return nil, fail(BadFormat, "the body has no Encrypt element")
	}
	want := c.Signature(p.Timestamp, p.Nonce, env.Encrypt)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(p.MsgSignature)), []byte(want)) != 1 {
		return nil, fail(BadSignature, "msg_signature does not match the token, timestamp, nonce and Encrypt")
	}
	if err := c.checkTime(p.Timestamp); err != nil {
		return nil, err
	}
	if to := env.AppID + env.ToUserName; to != "" && env.AppID != c.appID && env.ToUserName != c.appID {
		return nil, fail(BadAppID, "the push is addressed to another AppID")
	}
	return c.Decrypt(env.Encrypt)
}

func (c *Crypter) checkTime(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fail(Stale, "timestamp must be a number of seconds")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	w := c.Window
	if w <= 0 {
		w = DefaultWindow
	}
	d := now().Sub(time.Unix(sec, 0))
	if d > w || d < -w {
		return fail(Stale, "timestamp is "+d.Round(time.Second).String()+" from now; at most "+w.String()+" either way is accepted")
	}
	return nil
}

// Seal encrypts msg and returns the push that carries it, as WeChat would
// post it: for tests and emulators.
func (c *Crypter) Seal(msg []byte, timestamp, nonce string) (Push, error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return Push{}, err
	}
	var b bytes.Buffer
	b.WriteString("<xml><AppId><![CDATA[")
	xml.EscapeText(&b, []byte(c.appID))
	b.WriteString("]]></AppId><Encrypt><![CDATA[")
	b.WriteString(enc)
	b.WriteString("]]></Encrypt></xml>")
	return Push{MsgSignature: c.Signature(timestamp, nonce, enc), Timestamp: timestamp, Nonce: nonce, Body: b.Bytes()}, nil
}

// InfoTicket is the InfoType of a component_verify_ticket push.
const InfoTicket = "component_verify_ticket"

// A Ticket is a decrypted component_verify_ticket push.
type Ticket struct {
	AppID      string    // the platform's AppID
	Ticket     string    // ComponentVerifyTicket
	CreateTime time.Time // when WeChat made it
}

// String never shows the ticket.
func (t Ticket) String() string {
	return "ticket for " + t.AppID + " of " + t.CreateTime.UTC().Format(time.RFC3339)
}

// ErrNotTicket is returned by ParseTicket for a push of another InfoType
// (authorized, unauthorized, updateauthorized): not an error of the push.
var ErrNotTicket = errors.New("wxcrypt: the push is not a component_verify_ticket")

// ParseTicket reads a decrypted push. Other InfoTypes give ErrNotTicket,
// wrapped with the InfoType.
func ParseTicket(plain []byte) (Ticket, error) {
	var m struct {
		XMLName    xml.Name `xml:"xml"`
		AppID      string   `xml:"AppId"`
		CreateTime string   `xml:"CreateTime"`
		InfoType   string   `xml:"InfoType"`
		Ticket     string   `xml:"ComponentVerifyTicket"`
	}
	if err := xml.Unmarshal(plain, &m); err != nil {
		return Ticket{}, fail(BadFormat, "the decrypted push is not <xml> with InfoType")
	}
	info := strings.TrimSpace(m.InfoType)
	if info != InfoTicket {
		if len(info) > 40 {
			info = info[:40]
		}
		return Ticket{}, &notTicket{strconv.Quote(info)}
	}
	t := Ticket{AppID: strings.TrimSpace(m.AppID), Ticket: strings.TrimSpace(m.Ticket)}
	if t.Ticket == "" {
		return Ticket{}, fail(BadFormat, "the push has no ComponentVerifyTicket")
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(m.CreateTime), 10, 64)
	if err != nil || sec <= 0 {
		return Ticket{}, fail(BadFormat, "CreateTime must be a positive number of seconds")
	}
	t.CreateTime = time.Unix(sec, 0)
	return t, nil
}

type notTicket struct{ info string }

func (e *notTicket) Error() string { return ErrNotTicket.Error() + ": InfoType " + e.info }
func (e *notTicket) Unwrap() error { return ErrNotTicket }
