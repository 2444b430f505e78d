package main

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
)

func TestHelpNamesEverySetting(t *testing.T) {
	var out bytes.Buffer
	require.ErrorIs(t, run([]string{"-h"}, &out, &out), flag.ErrHelp)
	for _, f := range []string{"-addr", "loopback", "-latency", "-open-api", "-cloudbase-tokens", "-secret-id", "-secret-key",
		"-cloud-tokens", "-timer-tokens", "-permitted-apis", "-game", "-data-delay", "-hint", "gateway.errcode"} {
		assert.Contains(t, out.String(), f)
	}
}

func TestBadFaultsAreRefusedBeforeListening(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, run([]string{"-addr", "127.0.0.1:0", "-faults", "errcode=x"}, &out, &out), `fault "errcode=x"`)
}

func TestSettingsNeverPrintChosenSecrets(t *testing.T) {
	var out bytes.Buffer
	printSettings(&out, "http://127.0.0.1:8090", emulator.Config{AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret,
		SecretID: emulator.DefaultSecretID, SecretKey: emulator.DefaultSecretKey})
	s := out.String()
	for _, want := range []string{"WECHAT_APPID=" + emulator.DefaultAppID, "WECHAT_APPSECRET=" + emulator.DefaultSecret,
		"WECHAT_API_BASE=http://127.0.0.1:8090", "make run MODE=cloud"} {
		assert.Contains(t, s, want)
	}
	// Item 18: no cloud-call setting, which the invoker cannot give a function.
	for _, unusable := range []string{"TCB_CONTEXT_CNFG", "WX_API_TOKEN", "TENCENTCLOUD_SECRETKEY", emulator.DefaultCloudToken, emulator.DefaultSecretKey} {
		assert.NotContains(t, s, unusable)
	}

	out.Reset()
	printSettings(&out, "http://127.0.0.1:8090", emulator.Config{AppID: "wx1", Secret: "my-real-secret", SecretID: "AKIDx",
		SecretKey: "my-real-key", CloudTokens: []string{"my-token"}})
	s = out.String()
	for _, secret := range []string{"my-real-secret", "my-real-key", "my-token"} {
		assert.NotContains(t, s, secret)
	}
	assert.Contains(t, s, "WECHAT_APPSECRET=<your -secret>")
}
