package casing_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		`{"k":1,"k":{"k_k":[true,false]}}`, `{"u_中文_key":"v"}`,
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
		if !utf8.Valid(src) {
			return // the SDK sees such a body after UTF-8 replacement; compare only valid text
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
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", name, e.Name()))
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(b, []byte("go test fuzz v1")), e.Name())
		}
	}
}
