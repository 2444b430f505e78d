// Package cloudcall sends WeChat open-API requests through CloudBase's cloud-call
// gateway (云调用) exactly as wx-server-sdk 4.0.2 does: no AppSecret and no access
// token, only the invocation's wxCloudApiToken and the function's role credentials.
// The wire protocol is shared/reference/cloudcall.md; section numbers (§) refer to it.
package cloudcall

import (
	"context"
	"encoding/json"
	"strings"
)

// Env is what one cloud call needs, resolved per invocation by the SDK's rules (§2).
type Env struct {
	EnvID   string // §2.2: TCB_ENV if listed, else SCF_NAMESPACE
	Region  string // TENCENTCLOUD_REGION
	InSCF   bool   // the SDK's "internal": TENCENTCLOUD_RUNENV=SCF, CBR_ENV_ID set, or SUMERU_ENV formal|pre|test
	BaseURL string // TCB_CONTEXT_CNFG's URL when the invocation carries it (§2.3), else ""
	// RunEnvTag is the X-TCB-Source suffix: "scf", "cbr", "sumeru", or "unknown" outside them
	// (the SDK would ask Tencent Cloud's metadata service there; we do not).
	RunEnvTag string

	Token                string // wxCloudApiToken: WX_API_TOKEN (listed only); TRIGGER_SRC=timer: WX_TRIGGER_API_TOKEN_V0 || WX_API_TOKEN
	TokenSource          string // the variable Token came from ("WX_API_TOKEN" or "WX_TRIGGER_API_TOKEN_V0"), "" if none
	TriggerSrc           string // TRIGGER_SRC
	CloudbaseAccessToken string // WX_CLOUDBASE_ACCESSTOKEN (listed only)
	TCBSessionToken      string // TCB_SESSIONTOKEN (listed only)
	Source               string // TCB_SOURCE (listed only)
	SeqIDPrefix          string // TCB_SEQID (listed only)
	Tracelog             string // TCB_TRACELOG (listed only); X-TCB-Tracelog when not empty
	HasTracelog          bool   // TCB_TRACELOG is visible, perhaps empty

	SecretID, SecretKey string // TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY
	SessionToken        string // TENCENTCLOUD_SESSIONTOKEN
	HasSessionToken     bool   // absent: the sessionToken field is omitted; "": it is sent empty
}

// Resolve applies §2. invocation is the invocation's own environment (scf-go-lib's
// functioncontext Environment); process looks up the process environment
// (os.LookupEnv in production).
//
// Per-invocation keys come only from invocation, because scf-go-lib copies every
// invocation's keys into the process environment and never removes them: a key read
// there could be an earlier caller's. A key outside the fixed list counts only when
// this invocation's TCB_CONTEXT_KEYS or WX_CONTEXT_KEYS (comma-split, untrimmed) names
// it. Credentials come from invocation when it has both the id and the key, else from
// process, the session token always with its pair. Region, run environment and
// namespace come from process (the namespace from invocation when process lacks it).
func Resolve(invocation map[string]string, process func(string) (string, bool)) *Env {
	if process == nil {
		process = func(string) (string, bool) { return "", false }
	}
	listed := ListedKeys(invocation)
	get := func(k string) (string, bool) { return listed.Get(invocation, k) }
	getv := func(k string) string { v, _ := get(k); return v }
	proc := func(k string) string { v, _ := process(k); return v }

	e := &Env{Region: proc("TENCENTCLOUD_REGION"), TriggerSrc: invocation["TRIGGER_SRC"]}
	switch {
	case proc("TENCENTCLOUD_RUNENV") == "SCF":
		e.InSCF, e.RunEnvTag = true, "scf"
	case proc("CBR_ENV_ID") != "":
		e.InSCF, e.RunEnvTag = true, "cbr"
	case sumeru[proc("SUMERU_ENV")]:
		e.InSCF, e.RunEnvTag = true, "sumeru"
	default:
		e.RunEnvTag = "unknown"
	}

	// §2.2: TCB_ENV || SCF_NAMESPACE, with JavaScript's || (an empty value falls through).
	e.EnvID = getv("TCB_ENV")
	if e.EnvID == "" {
		e.EnvID = proc("SCF_NAMESPACE")
	}
	if e.EnvID == "" {
		e.EnvID = invocation["SCF_NAMESPACE"]
	}

	if e.TriggerSrc == "timer" {
		if v := invocation["WX_TRIGGER_API_TOKEN_V0"]; v != "" {
			e.Token, e.TokenSource = v, "WX_TRIGGER_API_TOKEN_V0"
		}
	}
	if e.Token == "" {
		if v := getv("WX_API_TOKEN"); v != "" {
			e.Token, e.TokenSource = v, "WX_API_TOKEN"
		}
	}
	e.CloudbaseAccessToken = getv("WX_CLOUDBASE_ACCESSTOKEN")
	e.TCBSessionToken = getv("TCB_SESSIONTOKEN")
	e.Source = getv("TCB_SOURCE")
	e.SeqIDPrefix = getv("TCB_SEQID")
	e.Tracelog, e.HasTracelog = get("TCB_TRACELOG")

	// TCB_CONTEXT_CNFG is read unlisted, as the SDK reads it. Its URL decides
	// where the signed request and the session token go: what protects it is
	// that it comes from the invocation's own environment, which the platform
	// writes, never from the process (stale) nor the event (the caller's).
	if cnfg := invocation["TCB_CONTEXT_CNFG"]; cnfg != "" {
		var c struct {
			URL any `json:"URL"`
		}
		// The SDK ignores a configuration it cannot parse, and a URL that is not a string.
		if json.Unmarshal([]byte(cnfg), &c) == nil {
			if u, ok := c.URL.(string); ok {
				e.BaseURL = u
			}
		}
	}

	if invocation["TENCENTCLOUD_SECRETID"] != "" && invocation["TENCENTCLOUD_SECRETKEY"] != "" {
		e.SecretID, e.SecretKey = invocation["TENCENTCLOUD_SECRETID"], invocation["TENCENTCLOUD_SECRETKEY"]
		e.SessionToken, e.HasSessionToken = invocation["TENCENTCLOUD_SESSIONTOKEN"]
	} else if id, key := proc("TENCENTCLOUD_SECRETID"), proc("TENCENTCLOUD_SECRETKEY"); id != "" && key != "" {
		e.SecretID, e.SecretKey = id, key
		e.SessionToken, e.HasSessionToken = process("TENCENTCLOUD_SESSIONTOKEN")
	}
	return e
}

// Listed holds the keys an invocation names in TCB_CONTEXT_KEYS or
// WX_CONTEXT_KEYS: wx-server-sdk reads a key outside its fixed list only when
// the invocation lists it.
type Listed map[string]bool

// ListedKeys returns the keys invocation lists (comma-split, untrimmed, as
// the SDK splits them); nil when it lists none.
func ListedKeys(invocation map[string]string) Listed {
	var l Listed
	for _, k := range []string{"TCB_CONTEXT_KEYS", "WX_CONTEXT_KEYS"} {
		if v := invocation[k]; v != "" {
			if l == nil {
				l = Listed{}
			}
			for _, name := range strings.Split(v, ",") {
				l[name] = true
			}
		}
	}
	return l
}

// Get returns invocation's value of k, absent unless k is listed.
func (l Listed) Get(invocation map[string]string, k string) (string, bool) {
	if !l[k] {
		return "", false
	}
	v, ok := invocation[k]
	return v, ok
}

var sumeru = map[string]bool{"formal": true, "pre": true, "test": true}

type envKey struct{}

// NewContext returns a copy of ctx carrying e.
func NewContext(ctx context.Context, e *Env) context.Context {
	return context.WithValue(ctx, envKey{}, e)
}

// FromContext returns the Env that NewContext stored in ctx.
func FromContext(ctx context.Context) (*Env, bool) {
	e, ok := ctx.Value(envKey{}).(*Env)
	return e, ok && e != nil
}
