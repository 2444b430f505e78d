package casing_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/casing"
	"github.com/wxanalysis/wxanalysis/internal/fixture"
)

func TestKeys(t *testing.T) {
	// The examples of wx-server-sdk.md, both directions.
	snake := map[string]string{
		"beginDate": "begin_date", "BeginX": "begin_x", "pageURL": "page_u_r_l", "a_bC": "a_b_c",
		"beginTimestamp": "begin_timestamp", "begin_date": "begin_date", "": "", "A": "a",
		"visitUV": "visit_u_v", "中文Key": "中文_key", "x1Y": "x1_y", `\`: `\`, `a\Bc`: `a\_bc`, `\u0041`: `\u0041`,
	}
	for in, want := range snake {
		assert.Equal(t, want, casing.SnakeKey(in), "SnakeKey(%q)", in)
	}
	camel := map[string]string{
		"visit_uv_new": "visitUvNew", "item_list": "itemList", "_x": "X", "a__b": "a_B",
		"x_1y": "x_1y", "A_B": "A_B", "k_": "k_", "u_中文_key": "u_中文Key", "refdate": "refdate",
		"page_staytime_pv": "pageStaytimePv", "entrypage_pv": "entrypagePv", "__a": "_A", "": "",
		"top_10": "top_10", "a___b": "a__B", `\`: `\`, `x\_y`: `x\Y`, `\u005fa`: `\u005fa`,
	}
	for in, want := range camel {
		assert.Equal(t, want, casing.CamelKey(in), "CamelKey(%q)", in)
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		conv     casing.Converter
		in, want string
	}{
		{"seed weekly answer", casing.ToCamel,
			`{"ref_date":"20170306-20170312","visit_uv_new":[{"key":0,"value":0},{"key":1,"value":16853}],"visit_uv":[{"key":0,"value":0},{"key":1,"value":99310}]}`,
			`{"refDate":"20170306-20170312","visitUvNew":[{"key":0,"value":0},{"key":1,"value":16853}],"visitUv":[{"key":0,"value":0},{"key":1,"value":99310}]}`},
		{"values untouched", casing.ToSnake,
			`{"params":[{"field":"device_level","value":"Big Value"}],"module":"10022"}`,
			`{"params":[{"field":"device_level","value":"Big Value"}],"module":"10022"}`},
		{"nested request", casing.ToSnake,
			`{"time":{"endTimestamp":1609689600,"beginTimestamp":1609603200}}`,
			`{"time":{"end_timestamp":1609689600,"begin_timestamp":1609603200}}`},
		{"arrays of arrays", casing.ToCamel, `[[{"a_b":[[{"c_d":1}]]}],[]]`, `[[{"aB":[[{"cD":1}]]}],[]]`},
		{"big numbers digit for digit", casing.ToCamel,
			`{"big_int":12345678901234567890,"neg":-0.000000000000000000001e-400,"f":1.50}`,
			`{"bigInt":12345678901234567890,"neg":-0.000000000000000000001e-400,"f":1.50}`},
		{"strings verbatim", casing.ToCamel, `{"s_x":"a\u005fb \"q\" \/ é \ud83d\ude00"}`, `{"sX":"a\u005fb \"q\" \/ é \ud83d\ude00"}`},
		{"white space dropped", casing.ToCamel, " {\n\t\"a_b\" : [ 1 , 2 ] ,\r\"c\":{ } } ", `{"aB":[1,2],"c":{}}`},
		{"scalars", casing.ToCamel, ` "x_y" `, `"x_y"`},
		{"escaped capital is a capital", casing.ToSnake, `{"a\u0042c":1}`, `{"a_bc":1}`},
		{"escaped underscore", casing.ToCamel, `{"a\u005fb":1,"c\n_d":2}`, `{"aB":1,"c\nD":2}`},
		{"changed key wins, first", casing.ToCamel, `{"a_b":1,"aB":2}`, `{"aB":1}`},
		{"changed key wins, second", casing.ToCamel, `{"aB":2,"a_b":1}`, `{"aB":1}`},
		{"changed key wins, others kept in order", casing.ToCamel,
			`{"x":0,"aB":2,"y":3,"a_b":1,"z":4}`, `{"x":0,"y":3,"aB":1,"z":4}`},
		{"first member cut", casing.ToCamel, `{"aB":2,"y":3,"a_b":{"c_d":1},"z":4}`, `{"y":3,"aB":{"cD":1},"z":4}`},
		{"unchanged loses to earlier changed", casing.ToCamel, `{"a_b":1,"x":0,"aB":2,"y":3}`, `{"aB":1,"x":0,"y":3}`},
		{"two changed: later wins", casing.ToCamel, `{"_a_b":1,"_aB":2}`, `{"AB":2}`},
		{"duplicates: later wins", casing.ToCamel, `{"k":1,"k":2}`, `{"k":2}`},
		{"a repeated key ranks by its first place", casing.ToCamel, `{"_aB":0,"_a_b":0,"_aB":1}`, `{"AB":0}`},
		{"a repeated converted key keeps its win", casing.ToCamel, `{"a_b":1,"aB":2,"a_b":3}`, `{"aB":3}`},
		{"a repeated plain key loses to a converted one", casing.ToCamel, `{"aB":1,"a_b":2,"aB":3}`, `{"aB":2}`},
		{"escaped duplicate", casing.ToCamel, `{"k":1,"\u006b":2}`, `{"\u006b":2}`},
		{"snake collision", casing.ToSnake, `{"a_b":1,"aB":2,"c":3}`, `{"a_b":2,"c":3}`},
		// Keys compare as JavaScript strings: escapes decoded, an unpaired
		// surrogate distinct from another and from U+FFFD, a pair equal to
		// its character.
		{"escaped keys collide decoded", casing.ToCamel, `{"a\u005fb":1,"x":0,"\u0061B":2}`, `{"aB":1,"x":0}`},
		{"unpaired surrogates stay apart", casing.ToCamel,
			`{"\ud800":1,"\ud801":2,"\ufffd":3,"\udc00\ud800":4,"\ud800":5}`,
			`{"\ud801":2,"\ufffd":3,"\udc00\ud800":4,"\ud800":5}`},
		{"surrogate pair is its character", casing.ToCamel, `{"\ud83d\ude00":1,"😀":2,"\uD83D\uDE00_a":3}`, `{"😀":2,"\uD83D\uDE00A":3}`},
		// Node decodes the answer before parsing it: invalid UTF-8 becomes U+FFFD.
		{"invalid UTF-8 in a value", casing.ToCamel, "{\"k_v\":\"a\xffb\xe2\x82\"}", "{\"kV\":\"a\uFFFDb\uFFFD\"}"},
		{"invalid UTF-8 in a key", casing.ToCamel, "{\"a_\xc3_b\":[\"\xed\xa0\x80\"]}", "{\"a_\uFFFDB\":[\"\uFFFD\uFFFD\uFFFD\"]}"},
		{"a replaced key collides with U+FFFD", casing.ToCamel, "{\"\xff\":1,\"\uFFFD\":2,\"\\ufffd\":3}", "{\"\\ufffd\":3}"},
		{"invalid UTF-8 in a snake request", casing.ToSnake, "{\"aB\xf0\x9f\":\"\xc0\xaf\"}", "{\"a_b\uFFFD\":\"\uFFFD\uFFFD\"}"},
		{"invalid UTF-8 at the top", casing.ToCamel, "\"\xf4\x90\x80\x80\"", "\"\uFFFD\uFFFD\uFFFD\uFFFD\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.conv.Append([]byte("prefix:"), []byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, "prefix:"+tc.want, string(got))
		})
	}
}

func TestAppendMembers(t *testing.T) {
	var code string
	drop := func(k, v []byte) bool {
		if string(k) == "errcode" {
			code = string(v)
		}
		return string(k) == "errcode" || string(k) == "errMsg"
	}
	got, n, err := casing.ToCamel.AppendMembers([]byte("{"),
		[]byte(`{"errcode":0,"ref_date":"x","err_msg":"y","list":[{"errcode":1}]}`), drop)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, `{"refDate":"x","list":[{"errcode":1}]`, string(got))
	assert.Equal(t, "0", code)

	got, n, err = casing.ToCamel.AppendMembers(nil, []byte(` {} `), drop)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, got)

	_, _, err = casing.ToCamel.AppendMembers(nil, []byte(`[1]`), drop)
	require.Error(t, err)
}

// TestInvalidUTF8LikeNode checks the replacement of invalid UTF-8 against
// what Node 20 gives for the same bytes (Buffer.toString and TextDecoder
// agree): one U+FFFD per maximal subpart.
func TestInvalidUTF8LikeNode(t *testing.T) {
	node := map[string]string{ // input bytes → Node's text, both in hex
		"ff": "efbfbd", "c0af": "efbfbdefbfbd", "e282": "efbfbd", "e28241": "efbfbd41",
		"f09f98": "efbfbd", "f09f9841": "efbfbd41", "eda080": "efbfbdefbfbdefbfbd",
		"edbfbf": "efbfbdefbfbdefbfbd", "f4908080": "efbfbdefbfbdefbfbdefbfbd",
		"f8888080": "efbfbdefbfbdefbfbdefbfbd", "80bf": "efbfbdefbfbd", "c3": "efbfbd",
		"e0809f": "efbfbdefbfbdefbfbd", "e0a0": "efbfbd", "f0808080": "efbfbdefbfbdefbfbdefbfbd",
		"c2c3a9": "efbfbdc3a9", "efbfbd": "efbfbd", "e2ffe282ac": "efbfbdefbfbde282ac", "f48f": "efbfbd",
		"f390": "efbfbd",
	}
	for in, want := range node {
		b, err := hex.DecodeString(in)
		require.NoError(t, err)
		w, err := hex.DecodeString(want)
		require.NoError(t, err)
		for _, doc := range []string{`{"v":"%s"}`, `{"%s":0}`, `["x%sx"]`} {
			src := []byte(strings.Replace(doc, "%s", string(b), 1))
			out, err := casing.ToCamel.Append(nil, src)
			require.NoError(t, err, "%q", src)
			assert.Equal(t, strings.Replace(doc, "%s", string(w), 1), string(out), "%q", src)
			assert.True(t, utf8.Valid(out), "%q", out)
		}
	}
}

// openapiDrop picks the reserved members out as openapi/client.go does.
func openapiDrop(seen map[string]string) func(k, v []byte) bool {
	return func(k, v []byte) bool {
		switch string(k) {
		case "errcode", "errmsg", "errMsg", "errCode":
			seen[string(k)] = string(v)
			return true
		}
		return false
	}
}

func TestAppendMembersDecodedNames(t *testing.T) {
	tests := []struct {
		name, in, want string
		seen           map[string]string
	}{
		{"escaped errcode", `{"err\u0063ode":40001,"errms\u0067":"bad"}`, ``,
			map[string]string{"errcode": "40001", "errmsg": `"bad"`}},
		{"every errMsg spelling dropped", `{"errMsg":"a","err\u004dsg":"b","err_msg":"c","err\u005fmsg":"d","ref_date":1}`,
			`"refDate":1`, map[string]string{"errMsg": `"d"`}},
		{"escaped errCode", `{"x":0,"\u0065rr_code":1}`, `"x":0`, map[string]string{"errCode": "1"}},
		{"nested reserved keys stay", `{"list":[{"err\u0063ode":1}]}`, `"list":[{"err\u0063ode":1}]`,
			map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]string{}
			out, n, err := casing.ToCamel.AppendMembers(nil, []byte(tc.in), openapiDrop(seen))
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(out))
			assert.Equal(t, strings.Count(tc.want, ":")-strings.Count(tc.want, "{"), n)
			assert.Equal(t, tc.seen, seen)
		})
	}

	// drop sees decoded names; an unpaired surrogate in WTF-8, so it stays distinct.
	var keys []string
	_, n, err := casing.ToCamel.AppendMembers(nil, []byte(`{"\u0072ef_date":1,"\ud800":2,"\ud83d\ude00":3,"a\n":4}`),
		func(k, _ []byte) bool { keys = append(keys, string(k)); return false })
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Equal(t, []string{"refDate", "\xed\xa0\x80", "😀", "a\n"}, keys)
}

// object returns a JSON object of the members member(0) … member(n-1).
func object(n int, member func(i int) string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(member(i))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// pathological objects of n keys, each a way for key handling to go quadratic.
var pathological = map[string]func(n int) []byte{
	"escaped keys": func(n int) []byte {
		return object(n, func(i int) string { return fmt.Sprintf(`"\u005fa%d":%d`, i, i) })
	},
	"plain keys": func(n int) []byte { return object(n, func(i int) string { return fmt.Sprintf(`"k_%d":%d`, i, i) }) },
	"converted keys cut earlier ones": func(n int) []byte {
		return object(n, func(i int) string {
			if i < n/2 {
				return fmt.Sprintf(`"aB%d":%d`, i, i)
			}
			return fmt.Sprintf(`"a_b%d":%d`, i-n/2, i)
		})
	},
	"later converted keys win": func(n int) []byte {
		return object(n, func(i int) string {
			if i < n/2 {
				return fmt.Sprintf(`"_a_b%d":%d`, i, i)
			}
			return fmt.Sprintf(`"_a\u0042%d":%d`, i-n/2, i)
		})
	},
	"one key repeated": func(n int) []byte { return object(n, func(i int) string { return fmt.Sprintf(`"k\u005fk":%d`, i) }) },
}

// TestKeyWorkIsLinear counts the work of key handling instead of timing it:
// names compared, hash slots probed and members moved stay within a few per
// key, however the keys of a large object collide.
func TestKeyWorkIsLinear(t *testing.T) {
	for name, doc := range pathological {
		for _, n := range []int{1000, 8000} {
			w, err := casing.Work(casing.ToCamel, doc(n))
			require.NoError(t, err)
			assert.LessOrEqual(t, w, 6*n+500, "%s, %d keys", name, n)
		}
	}
}

// TestLargeObjectsMatchReference checks the hashed lookups of large objects
// against the plain reference, with colliding keys in random order.
func TestLargeObjectsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	spellings := []string{"a_b%d", "aB%d", "a\\u005fb%d", "\\u0061B%d", "_a_b%d", "_aB%d", "AB%d", "k%d"}
	for _, n := range []int{20, 200, 2000} {
		for _, conv := range []struct {
			c   casing.Converter
			key func(string) string
		}{{casing.ToCamel, casing.CamelKey}, {casing.ToSnake, casing.SnakeKey}} {
			inner := object(n, func(i int) string {
				return fmt.Sprintf(`"`+spellings[rng.IntN(len(spellings))]+`":{"x_y%d":%d}`, rng.IntN(n/10+1), rng.IntN(9), i)
			})
			// Nested after other keys, so that its entries start past the outer ones.
			src := []byte(`{"p_q":1,"rS":2,"w_x":[` + string(inner) + `]}`)
			out, err := conv.c.Append(nil, src)
			require.NoError(t, err)
			assert.Equal(t, reference(t, src, conv.key), decodeTree(t, out), "%s", src)
		}
	}
}

// countingCtx reports DeadlineExceeded from its failAt-th look on (never if
// failAt is 0) and counts the looks.
type countingCtx struct {
	context.Context
	looks, failAt int
}

func (c *countingCtx) Err() error {
	c.looks++
	if c.failAt > 0 && c.looks >= c.failAt {
		return context.DeadlineExceeded
	}
	return nil
}

func TestContext(t *testing.T) {
	values := 5 * 4096
	live, cancel := context.WithCancel(context.Background()) // a Done channel: a context that can end
	defer cancel()
	src := object(values, func(i int) string { return fmt.Sprintf(`"k_%d":%d`, i%100, i) })

	// A conversion looks at its context every few thousand values, no more.
	ctx := &countingCtx{Context: live}
	out, n, err := casing.ToCamel.AppendMembersContext(ctx, nil, src, nil)
	require.NoError(t, err)
	assert.Equal(t, 100, n)
	whole, err := casing.ToCamel.Append(nil, src)
	require.NoError(t, err)
	assert.Equal(t, string(whole), "{"+string(out)+"}")
	assert.Equal(t, 5, ctx.looks)

	// A deadline passed mid-way stops it.
	ctx = &countingCtx{Context: live, failAt: 3}
	out, n, err = casing.ToCamel.AppendMembersContext(ctx, []byte("keep"), src, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "keep", string(out))
	assert.Zero(t, n)
	assert.Equal(t, 3, ctx.looks)

	done, stop := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer stop()
	out, err = casing.ToSnake.AppendContext(done, []byte("keep"), []byte(`[1]`))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "keep", string(out))
	_, _, err = casing.ToCamel.AppendMembersContext(done, nil, []byte(`{"a":1}`), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSizeBound(t *testing.T) {
	defer casing.SetMaxSize(9)()
	out, err := casing.ToCamel.Append(nil, []byte(`{"a_b":1}`)) // 9 bytes: allowed
	require.NoError(t, err)
	assert.Equal(t, `{"aB":1}`, string(out))

	out, err = casing.ToCamel.Append([]byte("keep"), []byte(`{"a_b":12}`))
	require.ErrorContains(t, err, "over 9 bytes")
	assert.Equal(t, "keep", string(out))
	_, _, err = casing.ToCamel.AppendMembers(make([]byte, 10), []byte(`{}`), nil)
	require.ErrorContains(t, err, "over 9 bytes")
}

func TestSyntaxErrors(t *testing.T) {
	bad := []string{
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`, `{a:1}`,
		`"abc`, `"a\x"`, `"\u12G4"`, "\"a\x01\"", `01`, `-`, `1.`, `1e`, `.5`, `+1`, `tru`, `nul`,
		`{"a":1}x`, `[] []`, `{"a" 1}`, `NaN`, `"\u12"`, `"\`,
		strings.Repeat("[", casing.MaxDepth+1) + strings.Repeat("]", casing.MaxDepth+1),
	}
	for _, in := range bad {
		dst := []byte("keep")
		out, err := casing.ToCamel.Append(dst, []byte(in))
		var se *casing.SyntaxError
		require.ErrorAs(t, err, &se, "input %q", in)
		assert.Equal(t, "keep", string(out), "dst unchanged for %q", in)
		assert.False(t, json.Valid([]byte(in)) && len(in) < casing.MaxDepth, "the standard library accepts %q", in)
	}
	deep := strings.Repeat("[", casing.MaxDepth) + strings.Repeat("]", casing.MaxDepth)
	_, err := casing.ToCamel.Append(nil, []byte(deep))
	require.NoError(t, err)
}

func TestErrorDoesNotEchoInput(t *testing.T) {
	_, err := casing.Camel([]byte(`{"secret_value":"s3cr3t" oops}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
	assert.Contains(t, err.Error(), "byte 25")
}

// reference converts src the plain way: decode to a tree, then convert each
// object as wx-server-sdk does, in place, over its keys in order.
func reference(t testing.TB, src []byte, key func(string) string) any {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	v := decodeOrdered(t, dec)
	return refConvert(v, key)
}

type kv struct {
	k string
	v any
}

func decodeOrdered(t testing.TB, dec *json.Decoder) any {
	tok, err := dec.Token()
	require.NoError(t, err)
	switch d := tok.(type) {
	case json.Delim:
		if d == '[' {
			arr := []any{}
			for dec.More() {
				arr = append(arr, decodeOrdered(t, dec))
			}
			_, err = dec.Token()
			require.NoError(t, err)
			return arr
		}
		var obj []kv
		for dec.More() {
			k, err := dec.Token()
			require.NoError(t, err)
			obj = append(obj, kv{k.(string), decodeOrdered(t, dec)})
		}
		_, err = dec.Token()
		require.NoError(t, err)
		return obj
	default:
		return tok
	}
}

func refConvert(v any, key func(string) string) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = refConvert(e, key)
		}
		return out
	case []kv:
		// JSON.parse: one property per name, the last value.
		obj := map[string]any{}
		var order []string
		for _, m := range t {
			if _, ok := obj[m.k]; !ok {
				order = append(order, m.k)
			}
			obj[m.k] = m.v
		}
		// The SDK: for each key, in order, move its converted value to the new name.
		for _, k := range order {
			nk := key(k)
			val := refConvert(obj[k], key)
			if nk != k {
				delete(obj, k)
			}
			obj[nk] = val
		}
		return obj
	default:
		return v
	}
}

func decodeTree(t testing.TB, b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		`{"ref_date":"20170306-20170312","visit_uv_new":[{"key":0,"value":0}]}`,
		`{"a_b":1,"aB":2}`, `{"aB":2,"a_b":1}`, `{"_a_b":1,"_aB":2,"AB":3}`, `[[{"x_y":[{"Z_z":null}]}]]`,
		`{"beginDate":"20170306","time":{"endTimestamp":1}}`, `{"a\u0042":1,"a_b":2}`, `12345678901234567890`,
		`{"k":1,"k":{"k_k":[true,false]}}`, `{"u_中文_key":"v"}`, "{\"a_\xff\":\"\xe2\x82\"}",
		string(pathological["later converted keys win"](40)), string(pathological["converted keys cut earlier ones"](40)),
	} {
		f.Add([]byte(s))
	}
}

func fuzzConvert(f *testing.F, conv casing.Converter, key func(string) string) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := conv.Append(nil, src)
		valid := json.Valid(src)
		if err != nil {
			// Only documents the standard library rejects, or nested deeper than we allow.
			if valid {
				require.Greater(t, bytes.Count(src, []byte("["))+bytes.Count(src, []byte("{")), casing.MaxDepth)
			}
			return
		}
		require.True(t, valid, "accepted invalid JSON %q", src)
		require.True(t, json.Valid(out), "invalid output %q for %q", out, src)
		require.True(t, utf8.Valid(out), "output %q for %q is not UTF-8", out, src)
		if !utf8.Valid(src) || bytes.Contains(bytes.ToLower(src), []byte(`\ud`)) {
			// The SDK sees such a body after UTF-8 replacement (tested against
			// Node above), and Go's decoder, unlike JavaScript, makes every
			// unpaired surrogate U+FFFD: compare only what the reference reads right.
			return
		}
		assert.Equal(t, reference(t, src, key), decodeTree(t, out), "input %q output %q", src, out)
	})
}

func FuzzToCamel(f *testing.F) { fuzzConvert(f, casing.ToCamel, casing.CamelKey) }

func FuzzToSnake(f *testing.F) { fuzzConvert(f, casing.ToSnake, casing.SnakeKey) }

var seedWeekly = fixture.SeedWeekly

func visitPage() []byte { return fixture.VisitPage() }

func TestVisitPageFixtureSize(t *testing.T) {
	n := len(visitPage())
	assert.InDelta(t, 100_000, n, 15_000)
	out, err := casing.Camel(visitPage())
	require.NoError(t, err)
	assert.Equal(t, reference(t, visitPage(), casing.CamelKey), decodeTree(t, out))
}

func benchmark(b *testing.B, conv casing.Converter, src []byte) {
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	dst := make([]byte, 0, 2*len(src))
	for b.Loop() {
		var err error
		if dst, err = conv.Append(dst[:0], src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCamelSeedWeekly(b *testing.B) { benchmark(b, casing.ToCamel, seedWeekly) }

func BenchmarkCamelVisitPage100KB(b *testing.B) { benchmark(b, casing.ToCamel, visitPage()) }

func BenchmarkSnakeRequest(b *testing.B) {
	benchmark(b, casing.ToSnake, []byte(`{"beginDate":"20170306","endDate":"20170312"}`))
}

// BenchmarkCamelEscapedKeys3000 is the answer that took seconds when each key
// was compared with every earlier one: one object of 3 000 escaped keys.
func BenchmarkCamelEscapedKeys3000(b *testing.B) {
	benchmark(b, casing.ToCamel, pathological["escaped keys"](3000))
}

func BenchmarkSnakeVisitPage100KB(b *testing.B) {
	camel, err := casing.Camel(visitPage())
	if err != nil {
		b.Fatal(err)
	}
	benchmark(b, casing.ToSnake, camel)
}

// The fuzz corpus in testdata/fuzz must stay loadable: a crasher saved there
// is a regression test.
func TestFuzzCorpusPresent(t *testing.T) {
	for _, name := range []string{"FuzzToCamel", "FuzzToSnake"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		require.NoError(t, err)
		require.NotEmpty(t, entries, name)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", name, e.Name()))
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(b, []byte("go test fuzz v1")), e.Name())
		}
	}
}
