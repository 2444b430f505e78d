package openapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/wxanalysis/wxanalysis/cloudcall"
)

// CloudCall carries calls through CloudBase's cloud-call gateway (云调用), as
// wx-server-sdk's cloud.openapi does: no AppSecret and no access token; the
// platform authorises each call from the invocation's cloud-call token and
// the function's role credentials, which the caller puts in ctx with
// cloudcall.NewContext. Use it with NoToken.
//
// The gateway's answers are final: a request that may have reached WeChat is
// never sent again, and a refused token is returned as it is.
type CloudCall struct {
	Client *cloudcall.Client // nil: a zero cloudcall.Client
}

var defaultCloudClient cloudcall.Client

// RoundTrip sends req through the gateway with the invocation's values.
func (t *CloudCall) RoundTrip(ctx context.Context, req *Request) (*Response, error) {
	env, ok := cloudcall.FromContext(ctx)
	if !ok {
		return nil, &Error{Code: CodeConfig, Msg: "system args error: a cloud call needs the invocation's context"}
	}
	if e := CloudCallReady(env, req.Method); e != nil {
		return nil, e
	}
	cc := t.Client
	if cc == nil {
		cc = &defaultCloudClient
	}
	secrets := []string{env.Token, env.CloudbaseAccessToken, env.SecretKey, env.SessionToken, env.TCBSessionToken}
	r, err := cc.Call(ctx, env, req.Method.API(), req.Body)
	if err != nil {
		var ce *cloudcall.Error
		if !errors.As(err, &ce) {
			return nil, &Error{Code: CodeInternal, Msg: "system error: " + scrub(err.Error(), secrets)}
		}
		msg := scrub(ce.ErrMsg, secrets)
		return nil, &Error{Code: ce.Code, Msg: msg, errMsg: msg, err: ce}
	}
	if len(r.Data) > MaxAnswer {
		return nil, tooLarge(http.StatusOK)
	}
	return &Response{Status: http.StatusOK, ContentType: r.ContentType, Body: r.Data, NoRetry: true, Secrets: secrets}, nil
}

// CloudCallReady reports why an invocation cannot make a cloud call of m, or
// nil if it can: it must carry a cloud-call token. A caller that serves
// answers from a cache asks first, so that an invocation the platform would
// not authorise gets nothing. The code and opening words are the gateway's
// own answer to a call without a token.
func CloudCallReady(env *cloudcall.Env, m *Method) *Error {
	if env.Token != "" || env.CloudbaseAccessToken != "" {
		return nil
	}
	which, why := "WX_API_TOKEN", "only invocations from a Mini Program (wx.cloud.callFunction) or from a timer trigger "+
		"set up in WeChat DevTools carry one; console tests, SCF API calls and other triggers do not"
	if env.TriggerSrc == "timer" {
		which, why = "WX_TRIGGER_API_TOKEN_V0", "only timer triggers set up in WeChat DevTools (config.json triggers) carry one; "+
			"timers made in the console or with tcb fn deploy do not"
	}
	msg := "-501007 invalid parameters. missing wxCloudApiToken: this invocation carries no " + which +
		", so no cloud call was made (" + why + "). Call the function from the Mini Program, or set WECHAT_APPID " +
		"and WECHAT_APPSECRET so that it calls WeChat with its own access token"
	return &Error{API: m.API(), Code: -501007, Msg: msg, err: cloudcall.ErrNoToken}
}
