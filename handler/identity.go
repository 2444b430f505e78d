package handler

import (
	"net/http"
	"slices"
	"strings"

	"github.com/wxanalysis/wxanalysis/cloudcall"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// Caller kinds, as the log line names them.
const (
	KindOwner       = "direct"      // no end-user identity: console, SCF API, timer, local invoker
	KindMiniProgram = "miniprogram" // a Mini Program user: WX_OPENID, or X-WX-OPENID behind WeChat Cloud Run
	KindWebUser     = "webuser"     // a CloudBase web user: TCB_CUSTOM_USER_ID or TCB_UUID
	KindAnonymous   = "anonymous"   // a CloudBase anonymous web user
	KindUnverified  = "unverified"  // an end-user identity that cannot be read: present but unlisted, or empty
	KindHTTP        = "http"        // an HTTP client, by API key
)

// identityKeys are the invocation keys that carry an end user. Any of them,
// listed or not, empty or not, means the caller is not the account owner.
var identityKeys = []string{"WX_OPENID", "WX_UNIONID", "WX_FROM_OPENID", "WX_FROM_UNIONID",
	"TCB_UUID", "TCB_CUSTOM_USER_ID", "TCB_ISANONYMOUS_USER"}

// A Caller is who an invocation comes from.
type Caller struct {
	Kind string
	ID   string // the openid or the web user's id; "" for the others
}

// callerOf reads the caller from an invocation's own environment (never the
// process's, which scf-go-lib leaves stale, nor the event, which the caller
// writes). It fails closed: only an invocation with no end-user key at all
// is the owner.
func callerOf(env map[string]string) Caller {
	l := cloudcall.ListedKeys(env)
	if !slices.ContainsFunc(identityKeys, func(k string) bool { _, ok := env[k]; return ok || l[k] }) {
		return Caller{Kind: KindOwner}
	}
	if id, _ := l.Get(env, "WX_OPENID"); id != "" {
		return Caller{Kind: KindMiniProgram, ID: id}
	}
	if _, ok := env["TCB_ISANONYMOUS_USER"]; ok && !strings.EqualFold(env["TCB_ISANONYMOUS_USER"], "false") {
		return Caller{Kind: KindAnonymous}
	}
	for _, k := range []string{"TCB_CUSTOM_USER_ID", "TCB_UUID"} {
		if id, _ := l.Get(env, k); id != "" {
			return Caller{Kind: KindWebUser, ID: id}
		}
	}
	return Caller{Kind: KindUnverified}
}

// callerOfHTTP reads the caller of an HTTP request served directly (WeChat
// Cloud Run, an SCF web function). The X-WX-* headers are WeChat Cloud Run's
// and are trusted only when the operator says so (cloudRun: WECHAT_CLOUDRUN,
// never the platform's CBR_ENV_ID alone) and with X-WX-SOURCE, the check
// WeChat documents; WeChat does not document that its gateway drops a
// client's own X-WX-* on public access, so elsewhere they are ignored and
// the request needs an API key.
func callerOfHTTP(h http.Header, cloudRun bool) Caller {
	if !cloudRun || h.Get("X-WX-SOURCE") == "" {
		return Caller{Kind: KindHTTP}
	}
	if id := h.Get("X-WX-OPENID"); id != "" {
		return Caller{Kind: KindMiniProgram, ID: id}
	}
	return Caller{Kind: KindUnverified}
}

// idForms are the forms of a caller's id that a message may hold: as
// authorize quotes it (escaped, cut to 40 characters), then raw. A log line
// replaces each; the longest first.
func idForms(id string) []string {
	if id == "" {
		return nil
	}
	return []string{quote(id), id}
}

// authorize says whether c may call; HTTP callers are checked by key elsewhere.
func (h *Handler) authorize(c Caller) *openapi.Error {
	switch {
	case c.Kind == KindOwner || c.Kind == KindHTTP || h.cfg.AllowAnyCaller:
		return nil
	case c.Kind == KindMiniProgram && slices.Contains(h.cfg.AdminOpenIDs, c.ID):
		return nil
	case c.Kind == KindWebUser && slices.Contains(h.cfg.AdminUIDs, c.ID):
		return nil
	}
	msg := "api permission denied: "
	switch c.Kind {
	case KindMiniProgram:
		msg += "the Mini Program user " + quote(c.ID) + " may not read analytics; add this openid to ADMIN_OPENIDS, or set ALLOW_ANY_CALLER=true"
	case KindWebUser:
		msg += "the CloudBase user " + quote(c.ID) + " may not read analytics; add this id to ADMIN_UIDS, or set ALLOW_ANY_CALLER=true"
	case KindAnonymous:
		msg += "anonymous users may not read analytics unless ALLOW_ANY_CALLER=true"
	default:
		msg += "the caller's identity cannot be verified (an end-user key that is empty or not listed in the invocation's context keys); only ALLOW_ANY_CALLER=true lets such callers in"
	}
	return &openapi.Error{Code: openapi.CodePermission, Msg: msg}
}

// IdentityRule is one row of the identity table in SECURITY.md, which a
// test keeps equal to what callerOf and authorize do.
type IdentityRule struct {
	Keys, Kind, Allowed string
	Env                 map[string]string // an invocation of this row, for the test
}

// IdentityRules are the rows of SECURITY.md's identity table.
var IdentityRules = []IdentityRule{
	{"no end-user key at all (console, SCF API, timer, `make run`)", KindOwner, "always",
		map[string]string{"TRIGGER_SRC": "timer"}},
	{"`WX_OPENID` listed in `WX_CONTEXT_KEYS`, not empty", KindMiniProgram, "its openid in `ADMIN_OPENIDS` (exactly), or `ALLOW_ANY_CALLER=true`",
		map[string]string{"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID", "WX_OPENID": "o1", "WX_APPID": "wx1"}},
	{"`TCB_ISANONYMOUS_USER` present and not `false`", KindAnonymous, "only with `ALLOW_ANY_CALLER=true`",
		map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID,TCB_ISANONYMOUS_USER", "TCB_UUID": "u1", "TCB_ISANONYMOUS_USER": "true"}},
	{"`TCB_CUSTOM_USER_ID` or else `TCB_UUID` listed in `TCB_CONTEXT_KEYS`, not empty", KindWebUser, "its id in `ADMIN_UIDS` (exactly), or `ALLOW_ANY_CALLER=true`",
		map[string]string{"TCB_CONTEXT_KEYS": "TCB_UUID", "TCB_UUID": "u1"}},
	{"any other end-user key (`WX_OPENID` empty or unlisted, only `WX_FROM_OPENID`, `WX_UNIONID`, an unlisted `TCB_UUID`, or a key listed but absent)",
		KindUnverified, "only with `ALLOW_ANY_CALLER=true`", map[string]string{"WX_CONTEXT_KEYS": "WX_FROM_OPENID", "WX_FROM_OPENID": "o2"}},
}
