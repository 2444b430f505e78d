package openapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/emulator"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// countingTransport counts the requests a client's HTTP client carries.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestOneSettingSteersEveryRequest (issue 16, item 17): a token source
// without a base URL or HTTP client of its own follows the client's
// WithBaseURL and WithHTTPClient, token requests included; the caller's
// source is not changed; two different base URLs are an error.
func TestOneSettingSteersEveryRequest(t *testing.T) {
	e := emulator.New(emulator.Config{})
	srv := httptest.NewServer(e)
	defer srv.Close()
	for name, src := range map[string]openapi.TokenSource{
		"stable":     &openapi.StableToken{AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
		"credential": &openapi.CredentialToken{AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret},
	} {
		counter := &countingTransport{}
		client, err := openapi.NewClient(src, openapi.WithBaseURL(srv.URL), openapi.WithHTTPClient(&http.Client{Transport: counter}))
		require.NoError(t, err, name)
		_, err = client.WeeklyRetain(context.Background(), "20250303", "20250309")
		require.NoError(t, err, "%s: the token came from WithBaseURL's host", name)
		assert.Equal(t, int64(2), counter.n.Load(), "%s: the token request and the call, both through WithHTTPClient", name)
	}
	assert.Positive(t, e.Requests("/cgi-bin/stable_token"))
	assert.Positive(t, e.Requests("/cgi-bin/token"))

	own := &openapi.StableToken{AppID: emulator.DefaultAppID, Secret: emulator.DefaultSecret}
	_, err := openapi.NewClient(own, openapi.WithBaseURL(srv.URL))
	require.NoError(t, err)
	assert.Empty(t, own.BaseURL, "the caller's source is left as it was")

	_, err = openapi.NewClient(&openapi.StableToken{BaseURL: "https://api.weixin.qq.com", AppID: "wx1", Secret: "s"},
		openapi.WithBaseURL(srv.URL))
	assert.ErrorContains(t, err, "StableToken.BaseURL and WithBaseURL differ")
	_, err = openapi.NewClient(&openapi.StableToken{BaseURL: srv.URL + "/", AppID: "wx1", Secret: "s"}, openapi.WithBaseURL(srv.URL))
	assert.NoError(t, err, "the same URL twice is one setting")
}
