package openapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// TestWhichHTTPClient: the default client's calls go through the lean
// HTTP/1.1 client (it names itself), a caller's own *http.Client is used as
// given, and both answer alike.
func TestWhichHTTPClient(t *testing.T) {
	agents := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents <- r.UserAgent()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ref_date":"20170306-20170312","visit_uv_new":[],"visit_uv":[]}`))
	}))
	defer srv.Close()
	m, p := weekly()

	own := new(countingTransport)
	var answers []string
	for _, opts := range [][]openapi.Option{
		nil,
		{openapi.WithHTTPClient(openapi.DefaultHTTPClient())},
		{openapi.WithHTTPClient(&http.Client{Transport: own})},
	} {
		c, err := openapi.NewClient(openapi.StaticToken("T"), append(opts, openapi.WithBaseURL(srv.URL))...)
		require.NoError(t, err)
		out, err := c.Call(context.Background(), m, p)
		require.NoError(t, err)
		answers = append(answers, string(out))
	}
	assert.Equal(t, []string{"wxanalysis", "wxanalysis", "Go-http-client/1.1"}, []string{<-agents, <-agents, <-agents})
	assert.EqualValues(t, 1, own.n.Load())
	assert.Equal(t, answers[0], answers[2])
	assert.Equal(t, answers[1], answers[2])
}
