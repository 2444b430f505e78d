// Command floor is the least a Go SCF function that calls WeChat can do: one
// POST with a known token, the raw body back — no checks, no conversion, no
// token management. Its cost is the runtime protocol plus one HTTP call: the
// floor the benchmark measures the others against.
package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
)

type handler struct {
	url    string
	client *http.Client
}

var body = []byte(`{"begin_date":"20170306","end_date":"20170312"}`)

func (h handler) Invoke(ctx context.Context, _ []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func main() {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64 // as generous as ours
	// FLOOR_URL: the API URL, access_token included.
	cloudfunction.StartHandler(handler{url: os.Getenv("FLOOR_URL"), client: &http.Client{Transport: t}})
}
