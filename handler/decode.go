package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-viper/mapstructure/v2"

	"github.com/wxanalysis/wxanalysis/casing"
	"github.com/wxanalysis/wxanalysis/openapi"
)

// ignored are event fields that are not parameters: the action itself, what
// the platform injects and what tcb-router adds.
var ignored = map[string]bool{"action": true, "userInfo": true, "tcbContext": true, "$url": true}

// decodeParams decodes the event's parameters into m's typed parameters.
// Stricter than wx-server-sdk on purpose: a missing, null, mistyped or unknown
// parameter is an error that names it, before any quota is spent.
func decodeParams(m *openapi.Method, ev map[string]any) (openapi.Params, *openapi.Error) {
	// The event was decoded for this invocation alone and the action is
	// already read: drop what is not a parameter in place.
	for k := range ignored {
		delete(ev, k)
	}
	if p := m.Params(); decodeStrings(p, ev) {
		return p, nil
	}
	if path := nullAt(ev); path != "" {
		return nil, invalidArgs(excerpt(path, 80) + " must not be null")
	}
	params := m.Params()
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:   params,
		Metadata: &md,
		// Exact names: mapstructure would match "begindate" to beginDate.
		MatchName:  func(key, field string) bool { return key == field },
		DecodeHook: strictNumbers,
	})
	if err != nil {
		return nil, &openapi.Error{Code: openapi.CodeInternal, Msg: "system error: " + err.Error()}
	}
	if err := dec.Decode(ev); err != nil {
		var de *mapstructure.DecodeError
		if errors.As(err, &de) {
			return nil, invalidArgs(fmt.Sprintf("%s must be %s, not %s",
				de.Name(), expected(reflect.TypeOf(params), de.Name()), describe(valueAt(ev, de.Name()))))
		}
		return nil, invalidArgs("parameters do not match " + m.Name + "'s")
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return nil, invalidArgs(unknownMessage(m, md.Unused[0], md.Keys, md.Unset))
	}
	if len(md.Unset) > 0 {
		sort.Strings(md.Unset)
		return nil, invalidArgs("missing parameter " + md.Unset[0])
	}
	return params, nil
}

// strictNumbers refuses a JSON number where a string belongs, which
// mapstructure would otherwise accept because json.Number is a string type.
func strictNumbers(from, to reflect.Type, v any) (any, error) {
	if from == reflect.TypeFor[json.Number]() && to.Kind() == reflect.String {
		return nil, errors.New("a number where a string belongs")
	}
	return v, nil
}

func unknownMessage(m *openapi.Method, key string, known, unset []string) string {
	msg := "unknown parameter " + quote(key) + " for " + m.Name
	dot := strings.LastIndexByte(key, '.')
	leaf := key[dot+1:]
	for _, f := range append(append([]string(nil), unset...), known...) {
		fLeaf := f[strings.LastIndexByte(f, '.')+1:]
		if strings.EqualFold(fLeaf, leaf) || casing.CamelKey(leaf) == fLeaf {
			return msg + "; did you mean " + f + "?"
		}
	}
	return msg
}

// didYouMean is "; did you mean X?" for the name of names nearest to got
// (the same but for case, or at most two edits away), or "".
func didYouMean(got string, names []string) string {
	leaf := strings.TrimPrefix(strings.TrimPrefix(got, "openapi."), "analysis.")
	if leaf == "" || len(leaf) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(strings.ToLower(leaf), strings.ToLower(n))
		if strings.EqualFold(leaf, n) {
			d = 0
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nullAt returns the path of the first null value in v, or "". The path is
// built once, at the end: building it level by level would cost the square
// of a deep event's size.
func nullAt(v any) string {
	var path []string
	if !findNull(v, &path) {
		return ""
	}
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func findNull(v any, path *[]string) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			*path = append(*path, k)
			if findNull(t[k], path) {
				return true
			}
			*path = (*path)[:len(*path)-1]
		}
	case []any:
		for i, e := range t {
			*path = append(*path, "["+strconv.Itoa(i)+"]")
			if findNull(e, path) {
				return true
			}
			*path = (*path)[:len(*path)-1]
		}
	}
	return false
}

// valueAt follows a mapstructure path such as "params[0].field" into v.
func valueAt(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			rest = strings.TrimPrefix(after, "[")
			i, err := strconv.Atoi(idx)
			a, ok := v.([]any)
			if err != nil || !ok || i < 0 || i >= len(a) {
				return nil
			}
			v = a[i]
		}
	}
	return v
}

// expected describes the type at a mapstructure path of the struct t points to.
func expected(t reflect.Type, path string) string {
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "a value of another type"
		}
		found := false
		for i := range t.NumField() {
			if f := t.Field(i); f.Tag.Get("mapstructure") == name {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return "a value of another type"
		}
		for ; rest != "" && t.Kind() == reflect.Slice; rest = rest[strings.IndexByte(rest, ']')+1:] {
			t = t.Elem()
		}
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return "a value of another type"
}

// describe names the JSON type of a decoded value.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return "a number with a fraction or exponent"
		}
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return "a value of another type"
}

// quote echoes a caller's value: quoted, and cut short if long.
func quote(s string) string { return openapi.Excerpt(s, 40) }

// stringFields holds, per parameter type, its fields if all are strings
// (the Dates of ten methods of eleven), or nil.
var stringFields sync.Map // reflect.Type → []stringField

type stringField struct {
	index int
	name  string
}

// decodeStrings fills params when ev holds exactly its fields, each a
// string: the common case, without mapstructure's cost. Anything else is
// left to mapstructure, with its messages.
func decodeStrings(params openapi.Params, ev map[string]any) bool {
	v := reflect.ValueOf(params).Elem()
	cached, ok := stringFields.Load(v.Type())
	if !ok {
		var fs []stringField
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Type.Kind() != reflect.String {
				fs = nil
				break
			}
			fs = append(fs, stringField{i, f.Tag.Get("mapstructure")})
		}
		cached, _ = stringFields.LoadOrStore(v.Type(), fs)
	}
	fs := cached.([]stringField)
	if fs == nil || len(ev) != len(fs) {
		return false
	}
	for _, f := range fs {
		s, ok := ev[f.name].(string)
		if !ok {
			return false
		}
		v.Field(f.index).SetString(s)
	}
	return true
}
