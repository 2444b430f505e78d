package openapi

import (
	"reflect"
	"strings"

	"github.com/wxanalysis/wxanalysis/casing"
)

// A Shape is what a successful answer of a method holds: a JSON object with
// at least one of these members, an array or an object (or null, which the
// typed methods read as empty). It is derived from the
// method's typed answer (Retain, VisitTrend, …), so that the registry and
// the typed methods cannot disagree. A 200 answer without them (a proxy's
// text page, null, [], a number, {"result": …}, {}) is not an answer but an
// upstream failure, which is never cached.
type Shape []Member

// A Member is one member a Shape requires: its snake_case name and the
// first byte of its JSON value, '[' for an array or '{' for an object.
type Member struct {
	Name string
	Kind byte

	camel string // Name as a result has it, e.g. visitUvNew
}

// shapeOf derives the Shape of answer type T: its members that hold data
// (slices and structs), not the scalars beside them such as ref_date.
func shapeOf[T any]() Shape {
	var s Shape
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Slice:
			s = append(s, Member{name, '[', casing.CamelKey(name)})
		case reflect.Struct:
			s = append(s, Member{name, '{', casing.CamelKey(name)})
		}
	}
	return s
}

// String describes s for an error message: "a JSON object with
// visit_uv_new or visit_uv".
func (s Shape) String() string {
	var b strings.Builder
	b.WriteString("a JSON object")
	for i, m := range s {
		switch {
		case i == 0:
			b.WriteString(" with ")
		case i == len(s)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(m.Name)
	}
	return b.String()
}

// seen records that an answer has member key (converted, as casing's drop
// sees it) with a value beginning with kind; it returns found with that member's bit set if s requires it.
func (s Shape) seen(found uint64, key []byte, kind byte) uint64 {
	for i, m := range s {
		if (m.Kind == kind || kind == 'n') && m.camel == string(key) {
			return found | 1<<i
		}
	}
	return found
}

// complete reports whether found has a member of s; with no members, any
// object will do.
func (s Shape) complete(found uint64) bool { return found != 0 || len(s) == 0 }

// notAnswer is the failure of a 200 answer that is not of m's shape: the
// SDK's -601001, with at most 200 characters of the body. Not retried: a
// glitch is rare, and the caller may call again; never cached.
func notAnswer(m *Method, body []byte) *Error {
	return &Error{Code: CodeInternal, notAnswer: true, Msg: "wechat server internal error, the answer is not a " +
		m.Name + " answer, " + m.Answer.String() + ": " + truncate(strings.ToValidUTF8(string(body), "\uFFFD"), 200)}
}
