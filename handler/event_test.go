package handler

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// slowDecodeEvent is decodeEvent without its fast path.
func slowDecodeEvent(payload []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil || ev == nil || dec.More() {
		return nil, false
	}
	return ev, true
}

var flatCases = []string{
	`{"action":"getWeeklyRetain","beginDate":"20170306","endDate":"20170312"}`,
	" \t\r\n{ \"action\" : \"getWeeklyRetain\" ,\n\"beginDate\":\"20170306\"} \n",
	`{}`, ` { } `, `{"a":""}`, `{"":"x"}`, `{"a":"1","a":"2"}`, `{"日本":"語","€":"\u00e9"}`,
	`{"a":"b"}}`, `{"a":"b"} x`, `{"a":"b"}{"c":"d"}`, `{"a":"b",}`, `{"a":"b" "c":"d"}`, `{"a" "b"}`, `{"a":}`,
	`{"a":"b`, `{"a`, `{`, `}`, ``, ` `, `null`, `[]`, `"x"`, `{"a":1}`, `{"a":true}`, `{"a":null}`, `{"a":{"b":"c"}}`,
	`{"a":["b"]}`, `{"a":"b\"c"}`, `{"a":"b\\c"}`, "{\"a\":\"b\tc\"}", "{\"a\":\"b\x00c\"}", "{\"a\":\"\xff\"}",
	"{\"a\xff\":\"b\"}", `{"a":"b"`, `{'a':'b'}`, `{a:"b"}`, "\ufeff{\"a\":\"b\"}", `{"a":"b"}` + "\x00",
	`{"a":"\u2028"}`, "{\"a\":\"\u2028\"}", `{"a":"b"},`, `{"a":"b"}]`,
}

// TestDecodeFlatAsDecoder: where the fast path answers, it answers what the
// decoder answers; it declines what it does not handle.
func TestDecodeFlatAsDecoder(t *testing.T) {
	for _, p := range flatCases {
		checkFlat(t, []byte(p))
	}
	ev, ok := decodeFlat([]byte(flatCases[0]))
	assert.True(t, ok, "the common event takes the fast path")
	assert.Equal(t, map[string]any{"action": "getWeeklyRetain", "beginDate": "20170306", "endDate": "20170312"}, ev)
}

func checkFlat(t *testing.T, p []byte) {
	t.Helper()
	fast, ok := decodeFlat(p)
	if !ok {
		return
	}
	slow, sok := slowDecodeEvent(p)
	if assert.True(t, sok, "fast path accepted %q, the decoder refuses it", p) {
		assert.Equal(t, slow, fast, "%q", p)
	}
}

// FuzzDecodeFlat: the fast path never answers differently from the decoder.
func FuzzDecodeFlat(f *testing.F) {
	for _, p := range flatCases {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, p []byte) { checkFlat(t, p) })
}
