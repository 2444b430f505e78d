package cloudcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// jsValue is a JSON value as JavaScript holds it after JSON.parse: objects keep
// their members in JavaScript's property order, numbers keep their text.
type jsValue struct {
	kind int // one of the kinds below
	str  string
	num  string // a number's JSON text
	b    bool
	arr  []*jsValue
	obj  *jsObject
}

const (
	jsNull = iota
	jsBool
	jsNumber
	jsString
	jsArray
	jsObjectKind
)

// jsObject is an object's own properties in JavaScript's order: integer-like keys
// first in ascending order, then the others in insertion order. A repeated key keeps
// its first position and its last value, as JSON.parse does.
type jsObject struct {
	keys []string
	vals map[string]*jsValue
}

func (o *jsObject) set(k string, v *jsValue) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *jsObject) get(k string) (*jsValue, bool) { v, ok := o.vals[k]; return v, ok }

// ordered returns the keys in JavaScript's property order.
func (o *jsObject) ordered() []string {
	var ints []uint32
	var rest []string
	for _, k := range o.keys {
		if n, ok := arrayIndex(k); ok {
			ints = append(ints, n)
		} else {
			rest = append(rest, k)
		}
	}
	if len(ints) == 0 {
		return rest
	}
	sort.Slice(ints, func(i, j int) bool { return ints[i] < ints[j] })
	out := make([]string, 0, len(o.keys))
	for _, n := range ints {
		out = append(out, strconv.FormatUint(uint64(n), 10))
	}
	return append(out, rest...)
}

// arrayIndex reports whether k is a canonical array index ("0" to "4294967294"),
// which JavaScript orders before every other key.
func arrayIndex(k string) (uint32, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil || n >= math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// parseJS parses one JSON text as JSON.parse would (the whole input, nothing after it).
func parseJS(b []byte) (*jsValue, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

const maxDepth = 512

func parseValue(dec *json.Decoder, depth int) (*jsValue, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case nil:
		return &jsValue{kind: jsNull}, nil
	case bool:
		return &jsValue{kind: jsBool, b: t}, nil
	case json.Number:
		return &jsValue{kind: jsNumber, num: string(t)}, nil
	case string:
		return &jsValue{kind: jsString, str: t}, nil
	case json.Delim:
		if t == '[' {
			v := &jsValue{kind: jsArray}
			for dec.More() {
				e, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := dec.Token()
			return v, err
		}
		v := &jsValue{kind: jsObjectKind, obj: &jsObject{vals: map[string]*jsValue{}}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			e, err := parseValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			v.obj.set(k.(string), e)
		}
		_, err := dec.Token()
		return v, err
	}
	return nil, fmt.Errorf("unexpected JSON token %v", t)
}

// float is Number(text) of a JSON number; a too large one is ±Infinity, as in JavaScript.
func (v *jsValue) float() float64 {
	f, _ := strconv.ParseFloat(v.num, 64)
	return f
}

// jsNumberString is JavaScript's Number.prototype.toString() (radix 10).
func jsNumberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// Shortest round-trip digits d1.d2…dk and exponent: f = 0.d1…dk × 10^n.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1
	var s string
	switch {
	case k <= n && n <= 21:
		s = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		s = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		s = "0." + strings.Repeat("0", -n) + digits
	default:
		es := "+"
		if n-1 < 0 {
			es = "-"
		}
		ev := strconv.Itoa(abs(n - 1))
		if k == 1 {
			s = digits + "e" + es + ev
		} else {
			s = digits[:1] + "." + digits[1:] + "e" + es + ev
		}
	}
	return sign + s
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// bigintNumber is how a request number is written. json-bigint writes JavaScript's
// String(n); an integer beyond 2^53, which JavaScript would round, is kept digit for
// digit (the function promises exact numbers).
func bigintNumber(text string) string {
	if !strings.ContainsAny(text, ".eE") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < -1<<53 || n > 1<<53 {
			return text
		}
		return strconv.FormatInt(n, 10) // also turns -0 into 0
	}
	f, _ := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		return "null" // json-bigint: isFinite(value) ? String(value) : 'null'
	}
	return jsNumberString(f)
}

// A dialect is how one JavaScript serializer writes numbers and which
// characters it escapes beyond '"', '\\' and the control characters.
type dialect struct {
	number func(v *jsValue) string
	escape func(r rune) bool
}

var (
	// bigint is json-bigint 1.0.0's stringify (§3.3): more escapes than
	// JSON.stringify, numbers as written.
	bigint = dialect{
		number: func(v *jsValue) string { return bigintNumber(v.num) },
		escape: func(r rune) bool {
			return r >= 0x7f && r <= 0x9f || r == 0xad || r >= 0x600 && r <= 0x604 || r == 0x70f ||
				r == 0x17b4 || r == 0x17b5 || r >= 0x200c && r <= 0x200f || r >= 0x2028 && r <= 0x202f ||
				r >= 0x2060 && r <= 0x206f || r == 0xfeff || r >= 0xfff0 && r <= 0xffff
		},
	}
	// stringify is JavaScript's JSON.stringify. Go strings from JSON text
	// hold no lone surrogates (encoding/json turns them into U+FFFD), so
	// none is escaped.
	stringify = dialect{
		number: func(v *jsValue) string {
			if f := v.float(); !math.IsInf(f, 0) {
				return jsNumberString(f)
			}
			return "null"
		},
		escape: func(rune) bool { return false },
	}
)

// writeBigint writes v as json-bigint 1.0.0's stringify does (§3.3).
func writeBigint(w *bytes.Buffer, v *jsValue) { bigint.write(w, v) }

// writeStringify writes v as JavaScript's JSON.stringify does.
func writeStringify(w *bytes.Buffer, v *jsValue) { stringify.write(w, v) }

func (d dialect) write(w *bytes.Buffer, v *jsValue) {
	switch v.kind {
	case jsNull:
		w.WriteString("null")
	case jsBool:
		w.WriteString(strconv.FormatBool(v.b))
	case jsNumber:
		w.WriteString(d.number(v))
	case jsString:
		d.quote(w, v.str)
	case jsArray:
		w.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				w.WriteByte(',')
			}
			d.write(w, e)
		}
		w.WriteByte(']')
	case jsObjectKind:
		w.WriteByte('{')
		for i, k := range v.obj.ordered() {
			if i > 0 {
				w.WriteByte(',')
			}
			d.quote(w, k)
			w.WriteByte(':')
			d.write(w, v.obj.vals[k])
		}
		w.WriteByte('}')
	}
}

// quote writes s as a JSON string: short escapes where JavaScript has them,
// lower-case \u00xx for the other control characters and what d escapes.
func (d dialect) quote(w *bytes.Buffer, s string) {
	w.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			w.WriteString(`\"`)
		case r == '\\':
			w.WriteString(`\\`)
		case r == '\b':
			w.WriteString(`\b`)
		case r == '\t':
			w.WriteString(`\t`)
		case r == '\n':
			w.WriteString(`\n`)
		case r == '\f':
			w.WriteString(`\f`)
		case r == '\r':
			w.WriteString(`\r`)
		case r < 0x20 || d.escape(r):
			fmt.Fprintf(w, `\u%04x`, r)
		default:
			w.WriteRune(r)
		}
	}
	w.WriteByte('"')
}

// toString is JavaScript's String(v), as a template literal writes it.
func (v *jsValue) toString() string {
	switch v.kind {
	case jsNull:
		return "null"
	case jsBool:
		return strconv.FormatBool(v.b)
	case jsNumber:
		return jsNumberString(v.float())
	case jsString:
		return v.str
	case jsArray: // Array.prototype.join: null and undefined give ""
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			if e.kind != jsNull {
				parts[i] = e.toString()
			}
		}
		return strings.Join(parts, ",")
	default:
		return "[object Object]"
	}
}

// truthy is JavaScript's Boolean(v).
func (v *jsValue) truthy() bool {
	switch v.kind {
	case jsNull:
		return false
	case jsBool:
		return v.b
	case jsNumber:
		f := v.float()
		return f != 0 && !math.IsNaN(f)
	case jsString:
		return v.str != ""
	default:
		return true
	}
}

// member returns v[k] for an object (own properties only); nil when absent.
func (v *jsValue) member(k string) *jsValue {
	if v == nil || v.kind != jsObjectKind {
		return nil
	}
	e, _ := v.obj.get(k)
	return e
}
