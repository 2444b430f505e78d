// Package badinput loads the corpus of malformed events in
// handler/testdata/badinput and checks the function's answers to them, for
// the tests that run it through the handler and through the binary.
package badinput

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A Case is one malformed event and what the function must answer.
type Case struct {
	Name    string          `json:"name"`
	Event   json.RawMessage `json:"event"`   // the event, or
	Payload *string         `json:"payload"` // a payload that is not JSON
	ErrCode int             `json:"errCode"`
	Msg     string          `json:"msg"`    // a fragment of errMsg
	Status  int             `json:"status"` // for an HTTP event, the status
}

// MaxErrMsg bounds errMsg: a message echoes at most a short excerpt of what
// was sent, whatever its size.
const MaxErrMsg = 400

// APIKey is the HTTP API key the corpus's HTTP events present.
const APIKey = "corpus-api-key-0123456789"

// Load reads every case in dir.
func Load(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// Payload returns the bytes the function receives.
func (c Case) Bytes() []byte {
	if c.Payload != nil {
		return []byte(*c.Payload)
	}
	return c.Event
}

// Check reports what is wrong with out as the answer to c, or nil.
func (c Case) Check(out []byte) error {
	body := out
	if c.Status != 0 {
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return fmt.Errorf("not an HTTP response: %s", out)
		}
		if resp.StatusCode != c.Status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, c.Status)
		}
		body = []byte(resp.Body)
	}
	var res map[string]any
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("not JSON: %s", body)
	}
	msg, _ := res["errMsg"].(string)
	switch {
	case len(res) != 2:
		return fmt.Errorf("want exactly errCode and errMsg: %s", body)
	case res["errCode"] != float64(c.ErrCode):
		return fmt.Errorf("errCode %v, want %d: %s", res["errCode"], c.ErrCode, msg)
	case !strings.Contains(msg, c.Msg):
		return fmt.Errorf("errMsg %q lacks %q", msg, c.Msg)
	case len(msg) > MaxErrMsg:
		return fmt.Errorf("errMsg of %d bytes echoes too much", len(msg))
	}
	return nil
}
