package openapi

import (
	"bytes"
	"context"
	"net/http"
)

// CallRaw is CallBody that also returns WeChat's answer as it was sent, for
// a store that keeps it and converts it again later with Convert. raw has
// every secret the client knows scrubbed, as the result has.
func (c *Client) CallRaw(ctx context.Context, m *Method, body []byte) (raw, result []byte, err error) {
	out, err := c.send(ctx, m, body, func(ctx context.Context, r *Response) ([]byte, *Error) {
		out, e := answer(ctx, m, r)
		if e == nil {
			raw = []byte(c.scrub(string(r.Body), r.Secrets))
		}
		return out, e
	})
	if err != nil {
		return nil, nil, err
	}
	return raw, out, nil
}

// Convert turns an answer WeChat sent for m, kept as CallRaw returned it,
// into the result CallBody returns for it: byte for byte the same.
func Convert(ctx context.Context, m *Method, raw []byte) ([]byte, error) {
	out, e := answer(ctx, m, &Response{Status: http.StatusOK, ContentType: "application/json", Body: bytes.Clone(raw)})
	if e != nil {
		return nil, e.WithAPI(m.API())
	}
	return out, nil
}
