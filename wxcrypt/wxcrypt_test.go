package wxcrypt_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/wxcrypt"
)

// WeChat Work's published callback sample (developer.work.weixin.qq.com,
// document 90968, and its official WXBizMsgCrypt samples): a message pushed
// to corp wx5823bf96d3bd56c7.
const (
	workToken     = "QDG6eK"
	workKey       = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	workCorp      = "wx5823bf96d3bd56c7"
	workSignature = "477715d11cdb4164915debcba66cb864d751f3e6"
	workTimestamp = "1409659813"
	workNonce     = "1372623149"
	workEncrypt   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

// The official public-platform sample (WXBizMsgCryptTest, token "pamtest"):
// a fixed random prefix makes the ciphertext a known answer.
const (
	mpKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	mpToken   = "pamtest"
	mpAppID   = "wxb11529c136998cb6"
	mpRandom  = "aaaabbbbccccdddd"
	mpMessage = "我是中文abcd123"
	mpEncrypt = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)

func at(ts string) func() time.Time {
	sec, _ := strconv.ParseInt(ts, 10, 64)
	return func() time.Time { return time.Unix(sec, 0) }
}

func TestKnownVectors(t *testing.T) {
	// Decryption of the published push, signature included.
	c, err := wxcrypt.New(workToken, workKey, workCorp)
	require.NoError(t, err)
	c.Now = at(workTimestamp)
	body := "<xml><ToUserName><![CDATA[" + workCorp + "]]></ToUserName><Encrypt><![CDATA[" + workEncrypt +
		"]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
	assert.Equal(t, workSignature, c.Signature(workTimestamp, workNonce, workEncrypt))
	msg, err := c.Open(wxcrypt.Push{MsgSignature: workSignature, Timestamp: workTimestamp, Nonce: workNonce, Body: []byte(body)})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(msg), "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"), "%s", msg)
	assert.Contains(t, string(msg), "<Content><![CDATA[hello]]></Content>")
	assert.Contains(t, string(msg), "<MsgId>4561255354251345929</MsgId>")

	// Encryption with the published random prefix gives the published ciphertext.
	mp, err := wxcrypt.New(mpToken, mpKey, mpAppID)
	require.NoError(t, err)
	mp.Rand = strings.NewReader(mpRandom)
	enc, err := mp.Encrypt([]byte(mpMessage))
	require.NoError(t, err)
	assert.Equal(t, mpEncrypt, enc)
	got, err := mp.Decrypt(mpEncrypt)
	require.NoError(t, err)
	assert.Equal(t, mpMessage, string(got))
}

// TestIndependentImplementation: what we encrypt, the emulator's own
// implementation (hand-written CBC, no code of ours) decrypts, and the
// other way round, for every length around the block boundaries.
func TestIndependentImplementation(t *testing.T) {
	c, err := wxcrypt.New(mpToken, mpKey, mpAppID)
	require.NoError(t, err)
	for n := range 80 {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		enc, err := c.Encrypt(msg)
		require.NoError(t, err)
		got, appid, err := emulator.OpenMessage(mpKey, enc)
		require.NoError(t, err, "length %d", n)
		assert.Equal(t, msg, got)
		assert.Equal(t, mpAppID, appid)

		enc, err = emulator.SealMessage(mpKey, msg, mpAppID, nil)
		require.NoError(t, err)
		got, err = c.Decrypt(enc)
		require.NoError(t, err, "length %d", n)
		assert.Equal(t, msg, got)
	}
	enc, err := emulator.SealMessage(mpKey, []byte(mpMessage), mpAppID, []byte(mpRandom))
	require.NoError(t, err)
	assert.Equal(t, mpEncrypt, enc, "the emulator's implementation meets the published vector too")
}

func reason(t *testing.T, err error) wxcrypt.Reason {
	t.Helper()
	var e *wxcrypt.Error
	require.True(t, errors.As(err, &e), "a *wxcrypt.Error, not %v", err)
	return e.Reason
}

func TestRefusals(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	c, err := wxcrypt.New(mpToken, mpKey, mpAppID)
	require.NoError(t, err)
	c.Now = func() time.Time { return now }
	good, err := c.Seal([]byte("<xml><InfoType>component_verify_ticket</InfoType></xml>"), ts, "n1")
	require.NoError(t, err)
	_, err = c.Open(good)
	require.NoError(t, err)

	other, err := wxcrypt.New(mpToken, mpKey, "wx0000000000other")
	require.NoError(t, err)
	misaddressed, err := other.Seal([]byte("<xml/>"), ts, "n1")
	require.NoError(t, err)
	innerOther, err := other.Encrypt([]byte("<xml/>"))
	require.NoError(t, err)
	innerOnly := wxcrypt.Push{Timestamp: ts, Nonce: "n", MsgSignature: c.Signature(ts, "n", innerOther),
		Body: []byte("<xml><AppId>" + mpAppID + "</AppId><Encrypt>" + innerOther + "</Encrypt></xml>")}

	// Ciphertexts a holder of the key could sign: bad padding, bad length.
	raw := func(plain []byte) string {
		// Encrypt with an empty message and then replace: build from the
		// independent implementation with a chosen plaintext is not
		// possible, so use block-aligned framing by hand.
		return emulatorRaw(t, plain)
	}
	signed := func(enc string) wxcrypt.Push {
		return wxcrypt.Push{Timestamp: ts, Nonce: "n", MsgSignature: c.Signature(ts, "n", enc),
			Body: []byte("<xml><AppId>" + mpAppID + "</AppId><Encrypt>" + enc + "</Encrypt></xml>")}
	}
	badPad := bytes.Repeat([]byte{0}, 32) // last byte 0: no valid padding
	badLen := append(make([]byte, 16), 0, 0, 1, 0)
	badLen = append(badLen, bytes.Repeat([]byte{12}, 12)...) // says 256 bytes follow; none do

	tampered := good
	tampered.Body = bytes.Replace(good.Body, []byte("<Encrypt><![CDATA["), []byte("<Encrypt><![CDATA[A"), 1)
	stale := good
	stale.Timestamp = strconv.FormatInt(now.Add(-wxcrypt.DefaultWindow-time.Second).Unix(), 10)
	stale.MsgSignature = c.Signature(stale.Timestamp, stale.Nonce, encryptOf(t, good))
	future := good
	future.Timestamp = strconv.FormatInt(now.Add(wxcrypt.DefaultWindow+time.Second).Unix(), 10)
	future.MsgSignature = c.Signature(future.Timestamp, future.Nonce, encryptOf(t, good))

	for name, tc := range map[string]struct {
		push wxcrypt.Push
		want wxcrypt.Reason
	}{
		"tampered Encrypt":       {tampered, wxcrypt.BadSignature},
		"wrong token":            {withSig(good, wxcrypt.Signature("other", good.Timestamp, good.Nonce, encryptOf(t, good))), wxcrypt.BadSignature},
		"nonce changed":          {withNonce(good, "n2"), wxcrypt.BadSignature},
		"stale":                  {stale, wxcrypt.Stale},
		"from the future":        {future, wxcrypt.Stale},
		"no timestamp":           {signed2(c, good, ""), wxcrypt.Stale},
		"envelope mis-addressed": {resign(c, misaddressed), wxcrypt.BadAppID},
		"inner AppID another":    {innerOnly, wxcrypt.BadAppID},
		"bad padding":            {signed(raw(badPad)), wxcrypt.BadPadding},
		"bad length":             {signed(raw(badLen)), wxcrypt.BadLength},
		"not whole blocks":       {signed("AAAA"), wxcrypt.BadLength},
		"not base64":             {signed("!!!"), wxcrypt.BadFormat},
		"not xml":                {wxcrypt.Push{Body: []byte("{}")}, wxcrypt.BadFormat},
		"no Encrypt":             {wxcrypt.Push{Body: []byte("<xml><AppId>x</AppId></xml>")}, wxcrypt.BadFormat},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Open(tc.push)
			require.Error(t, err)
			assert.Equal(t, tc.want, reason(t, err), "%v", err)
			assert.NotContains(t, err.Error(), mpKey)
			assert.NotContains(t, err.Error(), mpToken)
		})
	}

	for _, key := range []string{"", "short", mpKey + "A", strings.Repeat("!", 43)} {
		_, err := wxcrypt.New(mpToken, key, mpAppID)
		assert.Equal(t, wxcrypt.BadKey, reason(t, err))
	}
}

func encryptOf(t *testing.T, p wxcrypt.Push) string {
	s := string(p.Body)
	i := strings.Index(s, "<Encrypt><![CDATA[")
	require.True(t, i >= 0)
	s = s[i+len("<Encrypt><![CDATA["):]
	return s[:strings.Index(s, "]]>")]
}

func withSig(p wxcrypt.Push, sig string) wxcrypt.Push { p.MsgSignature = sig; return p }
func withNonce(p wxcrypt.Push, n string) wxcrypt.Push { p.Nonce = n; return p }

// signed2 re-signs p with another timestamp.
func signed2(c *wxcrypt.Crypter, p wxcrypt.Push, ts string) wxcrypt.Push {
	s := string(p.Body)
	i := strings.Index(s, "<Encrypt><![CDATA[") + len("<Encrypt><![CDATA[")
	enc := s[i : i+strings.Index(s[i:], "]]>")]
	p.Timestamp = ts
	p.MsgSignature = c.Signature(ts, p.Nonce, enc)
	return p
}

func resign(c *wxcrypt.Crypter, p wxcrypt.Push) wxcrypt.Push { return signed2(c, p, p.Timestamp) }

// emulatorRaw encrypts plain, already framed and padded, with the sample
// key: AES-256-CBC, IV the key's first 16 bytes.
func emulatorRaw(t *testing.T, plain []byte) string {
	t.Helper()
	enc, err := rawCBC(mpKey, plain)
	require.NoError(t, err)
	return enc
}

func TestParseTicket(t *testing.T) {
	tk, err := wxcrypt.ParseTicket([]byte("<xml><AppId><![CDATA[wxc]]></AppId><CreateTime>1413192605</CreateTime>" +
		"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>"))
	require.NoError(t, err)
	assert.Equal(t, wxcrypt.Ticket{AppID: "wxc", Ticket: "ticket@@@x", CreateTime: time.Unix(1413192605, 0)}, tk)
	assert.NotContains(t, tk.String(), "ticket@@@x")

	_, err = wxcrypt.ParseTicket([]byte("<xml><InfoType>unauthorized</InfoType><AuthorizerAppid>wx1</AuthorizerAppid></xml>"))
	assert.ErrorIs(t, err, wxcrypt.ErrNotTicket)
	assert.Contains(t, err.Error(), `"unauthorized"`)
	for _, bad := range []string{"", "<xml>", "<xml><InfoType>component_verify_ticket</InfoType><CreateTime>1</CreateTime></xml>",
		"<xml><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket><CreateTime>x</CreateTime></xml>"} {
		_, err := wxcrypt.ParseTicket([]byte(bad))
		assert.Equal(t, wxcrypt.BadFormat, reason(t, err), "%q", bad)
	}
}

// FuzzPush: no push, however malformed, panics or is accepted unsigned;
// what is accepted decrypts to what was sealed.
func FuzzPush(f *testing.F) {
	c, err := wxcrypt.New(mpToken, mpKey, mpAppID)
	require.NoError(f, err)
	now := time.Unix(1_700_000_000, 0)
	c.Now = func() time.Time { return now }
	ts := strconv.FormatInt(now.Unix(), 10)
	p, err := c.Seal([]byte("<xml><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket><CreateTime>1</CreateTime></xml>"), ts, "n")
	require.NoError(f, err)
	f.Add(p.Body, p.MsgSignature, p.Timestamp, p.Nonce)
	f.Add([]byte("<xml><Encrypt>AAAA</Encrypt></xml>"), "", ts, "")
	f.Add([]byte("<xml><AppId><![CDATA[x]]></AppId><Encrypt><![CDATA[]]></Encrypt></xml>"), "0", "0", "0")
	f.Fuzz(func(t *testing.T, body []byte, sig, ts, nonce string) {
		msg, err := c.Open(wxcrypt.Push{MsgSignature: sig, Timestamp: ts, Nonce: nonce, Body: body})
		if err != nil {
			var e *wxcrypt.Error
			if !errors.As(err, &e) {
				t.Fatalf("not a *wxcrypt.Error: %v", err)
			}
			return
		}
		_, _ = wxcrypt.ParseTicket(msg)
	})
}
