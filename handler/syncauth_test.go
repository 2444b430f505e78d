package handler_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/handler"
)

// TestSyncAuthorizersSetting: SYNC_AUTHORIZERS is validated entry by entry,
// named by position, applies only in the per-authorizer modes and is
// required where only a token service knows the authorizers.
func TestSyncAuthorizersSetting(t *testing.T) {
	component := map[string]string{"WECHAT_TOKEN_MODE": "component", "WECHAT_COMPONENT_APPID": "wx0000000component",
		"WECHAT_COMPONENT_APPSECRET": "s", "WECHAT_COMPONENT_TOKEN": "t", "WECHAT_COMPONENT_AES_KEY": "emulatorAESkey0123456789abcdefghijklmnopqrs"}
	urlMode := map[string]string{"WECHAT_TOKEN_MODE": "url", "WECHAT_TOKEN_URL": "http://127.0.0.1:1/token/{appid}"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // "" for no error
	}{
		{"component, all", with(component, "DATABASE_URL", "postgres://u@h/db"), ""},
		{"component, two", with(component, "SYNC_AUTHORIZERS", " wx00000000merchant1 , wx00000000merchant2"), ""},
		{"not an AppID", with(component, "SYNC_AUTHORIZERS", "wx00000000merchant1,merchant2"),
			"SYNC_AUTHORIZERS: entry 2 is not a Mini Program's AppID (wx followed by 8 to 30 letters and digits)"},
		{"repeated", with(component, "SYNC_AUTHORIZERS", "wx00000000merchant1,wx00000000merchant2,wx00000000merchant1"),
			"SYNC_AUTHORIZERS: entry 3 repeats entry 1"},
		{"url mode needs the list", with(urlMode, "DATABASE_URL", "postgres://u@h/db"),
			"SYNC_AUTHORIZERS is required with DATABASE_URL and a WECHAT_TOKEN_URL holding {appid}"},
		{"url mode with the list", with(urlMode, "DATABASE_URL", "postgres://u@h/db", "SYNC_AUTHORIZERS", "wx00000000merchant1"), ""},
		{"url mode without a database", urlMode, ""},
		{"not per authorizer", map[string]string{"WECHAT_ACCESS_TOKEN": "t", "WECHAT_APPID": "wx00000000emulator", "SYNC_AUTHORIZERS": "wx00000000merchant1"},
			"SYNC_AUTHORIZERS applies only to a third-party platform's authorizers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env["WECHAT_ACCESS_TOKEN"] != "" {
				tc.env["WECHAT_TOKEN_MODE"] = "static"
			}
			_, err := handler.ConfigFromEnv(envOf(tc.env))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var se *handler.SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, []string{"SYNC_AUTHORIZERS"}, handler.Settings(err))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
