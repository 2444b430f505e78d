// Package casing converts the keys of JSON documents between camelCase and
// snake_case exactly as wx-server-sdk's cloud call does, without decoding the
// document into Go values.
//
// The key rules are those of wx-server-sdk 4.0.2 (src/utils/utils.ts):
//
//   - camel → snake (requests): every ASCII capital A–Z becomes "_" plus its
//     lower case, except at the start of the key, where it is only lowered.
//   - snake → camel (answers): every "_" followed by an ASCII lower-case
//     letter is replaced by that letter in upper case; nothing else changes.
//
// Conversion is recursive through objects and arrays at any depth. Values are
// never changed: strings are copied byte for byte and numbers digit for digit,
// so 12345678901234567890 stays exact. Object members keep their order. When
// two keys of one object end up with the same name, the key whose name changed
// wins over one that did not; between two changed keys, the one that first
// appears later wins, with its last value. That is what the SDK's in-place
// conversion of an object from JSON.parse (a repeated key keeps its first
// place and its last value) amounts to.
package casing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays a document may have.
const MaxDepth = 1000

// A SyntaxError reports a malformed JSON document.
type SyntaxError struct {
	Offset int64  // byte offset at which the error was found
	msg    string // description, never the document's content
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.msg)
}

// A Converter rewrites the object keys of JSON documents. The zero value is
// not usable; use [ToSnake] or [ToCamel].
type Converter struct {
	key func(dst, raw []byte) ([]byte, bool)
}

var (
	// ToSnake converts camelCase keys to snake_case, as for a request.
	ToSnake = Converter{key: snakeRaw}
	// ToCamel converts snake_case keys to camelCase, as for an answer.
	ToCamel = Converter{key: camelRaw}
)

// Append appends the converted form of the JSON document src to dst and
// returns the extended buffer. Insignificant white space is dropped. A
// malformed document gives a *SyntaxError and dst unchanged.
func (c Converter) Append(dst, src []byte) ([]byte, error) {
	s := getState(c, src, dst)
	defer putState(s)
	i, err := s.value(s.ws(0), 0)
	if err == nil {
		err = s.end(i)
	}
	if err != nil {
		return dst, err
	}
	return s.dst, nil
}

// AppendMembers requires src to be a JSON object. It appends the object's
// converted members to dst, without the enclosing braces, leaving out every
// top-level member for which drop returns true. drop sees the converted key
// as written (without quotes) and the converted value; both are valid only
// during the call. AppendMembers reports how many members it wrote. It lets a
// caller read and replace top-level members in the same pass.
func (c Converter) AppendMembers(dst, src []byte, drop func(key, value []byte) bool) ([]byte, int, error) {
	s := getState(c, src, dst)
	defer putState(s)
	i := s.ws(0)
	if i >= len(src) || src[i] != '{' {
		return dst, 0, s.fail(i, "not an object")
	}
	if drop == nil {
		drop = func(_, _ []byte) bool { return false }
	}
	s.drop, s.bare = drop, true
	i, err := s.object(i, 0)
	if err == nil {
		err = s.end(i)
	}
	if err != nil {
		return dst, 0, err
	}
	return s.dst, s.written, nil
}

// Snake returns src with its keys converted to snake_case.
func Snake(src []byte) ([]byte, error) {
	return ToSnake.Append(make([]byte, 0, len(src)+len(src)/8), src)
}

// Camel returns src with its keys converted to camelCase.
func Camel(src []byte) ([]byte, error) { return ToCamel.Append(make([]byte, 0, len(src)), src) }

// SnakeKey converts one camelCase name to snake_case: "beginDate" gives
// "begin_date", "pageURL" gives "page_u_r_l".
func SnakeKey(name string) string {
	b, changed := snake(nil, []byte(name), false)
	if !changed {
		return name
	}
	return string(b)
}

// CamelKey converts one snake_case name to camelCase: "visit_uv_new" gives
// "visitUvNew", "a__b" gives "a_B", "x_1y" stays "x_1y".
func CamelKey(name string) string {
	b, changed := camel(nil, []byte(name), false)
	if !changed {
		return name
	}
	return string(b)
}

func snakeRaw(dst, raw []byte) ([]byte, bool) { return snake(dst, raw, true) }

func camelRaw(dst, raw []byte) ([]byte, bool) { return camel(dst, raw, true) }

// next reads the character at raw[i]: the ASCII character it stands for (0
// if none the rules care about) and how many bytes it takes. With esc, raw is
// the body of a JSON string, where \u0041 is the letter A as the SDK sees it
// after parsing; without, a decoded name.
func next(raw []byte, i int, esc bool) (byte, int) {
	if c := raw[i]; c != '\\' || !esc {
		return c, 1
	}
	return escaped(raw, i)
}

// snake appends the snake_case form of raw. Characters are copied as written
// unless they stand for a capital.
func snake(dst, raw []byte, esc bool) ([]byte, bool) {
	changed := false
	for i, pos := 0, 0; i < len(raw); pos++ {
		c, n := next(raw, i, esc)
		if c >= 'A' && c <= 'Z' {
			if pos > 0 {
				dst = append(dst, '_')
			}
			dst = append(dst, c+('a'-'A'))
			changed = true
		} else {
			dst = append(dst, raw[i:i+n]...)
		}
		i += n
	}
	return dst, changed
}

// camel appends the camelCase form of raw.
func camel(dst, raw []byte, esc bool) ([]byte, bool) {
	changed := false
	for i := 0; i < len(raw); {
		c, n := next(raw, i, esc)
		if c == '_' && i+n < len(raw) {
			if d, m := next(raw, i+n, esc); d >= 'a' && d <= 'z' {
				dst = append(dst, d-('a'-'A'))
				i += n + m
				changed = true
				continue
			}
		}
		if n == 1 {
			dst = append(dst, raw[i])
		} else {
			dst = append(dst, raw[i:i+n]...)
		}
		i += n
	}
	return dst, changed
}

// escaped reads the escape at raw[i] of a validated JSON string body.
func escaped(raw []byte, i int) (byte, int) {
	if raw[i+1] != 'u' {
		return 0, 2 // \n, \", \\ …: never a letter or an underscore
	}
	var v rune
	for _, h := range raw[i+2 : i+6] {
		v = v<<4 | rune(hexVal(h))
	}
	if v < utf8.RuneSelf {
		return byte(v), 6
	}
	return 0, 6
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// member records one object member written to dst.
type member struct {
	start   int  // offset of the member (its leading comma, if any) in dst
	ks, ke  int  // offsets of the key's bytes between its quotes in dst
	rank    int  // index of the first appearance of its source key in the object
	changed bool // the conversion changed the key
	escaped bool // the key has escapes, so equal keys may differ in bytes
}

// rawKey is a source key: the bytes between its quotes in src.
type rawKey struct {
	ks, ke  int
	escaped bool
}

type state struct {
	conv    Converter
	src     []byte
	dst     []byte
	members []member
	keys    []rawKey               // the distinct source keys of the objects being read
	drop    func(k, v []byte) bool // AppendMembers: which top-level members to leave out
	bare    bool                   // AppendMembers: write the top-level object without braces
	written int                    // AppendMembers: members written at the top level
}

var statePool = sync.Pool{New: func() any { return &state{members: make([]member, 0, 32)} }}

func getState(c Converter, src, dst []byte) *state {
	s := statePool.Get().(*state)
	s.conv, s.src, s.dst = c, src, dst
	return s
}

func putState(s *state) {
	s.src, s.dst, s.drop, s.bare = nil, nil, nil, false
	s.members = s.members[:0]
	s.keys = s.keys[:0]
	s.written = 0
	statePool.Put(s)
}

func (s *state) fail(i int, msg string) error {
	return &SyntaxError{Offset: int64(i), msg: msg}
}

func (s *state) ws(i int) int {
	for i < len(s.src) {
		switch s.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *state) end(i int) error {
	if i = s.ws(i); i != len(s.src) {
		return s.fail(i, "data after the top-level value")
	}
	return nil
}

func (s *state) value(i, depth int) (int, error) {
	if i >= len(s.src) {
		return i, s.fail(i, "unexpected end of input")
	}
	switch c := s.src[i]; {
	case c == '{':
		return s.object(i, depth+1)
	case c == '[':
		return s.array(i, depth+1)
	case c == '"':
		j, _, err := s.str(i)
		if err != nil {
			return j, err
		}
		s.dst = append(s.dst, s.src[i:j]...)
		return j, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(i)
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	default:
		return i, s.fail(i, "unexpected character "+strconv.QuoteRune(rune(c)))
	}
}

func (s *state) literal(i int, lit string) (int, error) {
	if len(s.src)-i < len(lit) || string(s.src[i:i+len(lit)]) != lit {
		return i, s.fail(i, "invalid literal")
	}
	s.dst = append(s.dst, lit...)
	return i + len(lit), nil
}

func (s *state) number(i int) (int, error) {
	src, start := s.src, i
	digits := func() bool {
		j := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		return i > j
	}
	if src[i] == '-' {
		i++
	}
	if i < len(src) && src[i] == '0' {
		i++
	} else if !digits() {
		return i, s.fail(i, "invalid number")
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return i, s.fail(i, "invalid number")
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return i, s.fail(i, "invalid number")
		}
	}
	s.dst = append(s.dst, src[start:i]...)
	return i, nil
}

// str validates the string starting at src[i] == '"' and returns the offset
// just past its closing quote and whether it holds escapes.
func (s *state) str(i int) (int, bool, error) {
	src := s.src
	escaped := false
	for i++; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return i, false, s.fail(i, "control character in string")
		case c == '\\':
			escaped = true
			if i+1 >= len(src) {
				return i, false, s.fail(i, "unexpected end of input")
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(src) {
					return i, false, s.fail(i, "unexpected end of input")
				}
				for _, h := range src[i+2 : i+6] {
					if !isHex(h) {
						return i, false, s.fail(i, "invalid \\u escape")
					}
				}
				i += 5
			default:
				return i, false, s.fail(i, "invalid escape")
			}
		}
	}
	return i, false, s.fail(i, "unexpected end of input")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *state) array(i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, s.fail(i, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	s.dst = append(s.dst, '[')
	i = s.ws(i + 1)
	if i < len(s.src) && s.src[i] == ']' {
		s.dst = append(s.dst, ']')
		return i + 1, nil
	}
	for {
		var err error
		if i, err = s.value(i, depth); err != nil {
			return i, err
		}
		i = s.ws(i)
		if i >= len(s.src) {
			return i, s.fail(i, "unexpected end of input")
		}
		switch s.src[i] {
		case ',':
			s.dst = append(s.dst, ',')
			i = s.ws(i + 1)
		case ']':
			s.dst = append(s.dst, ']')
			return i + 1, nil
		default:
			return i, s.fail(i, "expected , or ] after an array element")
		}
	}
}

func (s *state) object(i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, s.fail(i, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	drop, bare := s.drop, s.bare
	s.drop, s.bare = nil, false // they apply to the outermost object only
	base, keyBase := len(s.members), len(s.keys)
	defer func() { s.members, s.keys = s.members[:base], s.keys[:keyBase] }()

	if !bare {
		s.dst = append(s.dst, '{')
	}
	i = s.ws(i + 1)
	if i < len(s.src) && s.src[i] == '}' {
		if !bare {
			s.dst = append(s.dst, '}')
		}
		return i + 1, nil
	}
	for {
		if i >= len(s.src) || s.src[i] != '"' {
			return i, s.fail(i, "expected a string key")
		}
		j, escaped, err := s.str(i)
		if err != nil {
			return j, err
		}
		start := len(s.dst)
		if len(s.members) > base {
			s.dst = append(s.dst, ',')
		}
		s.dst = append(s.dst, '"')
		ks := len(s.dst)
		var changed bool
		s.dst, changed = s.conv.key(s.dst, s.src[i+1:j-1])
		m := member{start: start, ks: ks, ke: len(s.dst), changed: changed, escaped: escaped,
			rank: s.rank(keyBase, rawKey{i + 1, j - 1, escaped})}
		s.dst = append(s.dst, '"', ':')

		i = s.ws(j)
		if i >= len(s.src) || s.src[i] != ':' {
			return i, s.fail(i, "expected : after an object key")
		}
		vs := len(s.dst)
		if i, err = s.value(s.ws(i+1), depth); err != nil {
			return i, err
		}
		// A dropped member takes no part in collisions; resolve may cut an
		// earlier member, so it comes last.
		if (drop == nil || !drop(s.dst[m.ks:m.ke], s.dst[vs:])) && s.resolve(base, &m) {
			s.members = append(s.members, m)
		} else {
			s.dst = s.dst[:m.start]
		}
		i = s.ws(i)
		if i >= len(s.src) {
			return i, s.fail(i, "unexpected end of input")
		}
		switch s.src[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			if bare {
				s.written = len(s.members) - base
			} else {
				s.dst = append(s.dst, '}')
			}
			return i + 1, nil
		default:
			return i, s.fail(i, "expected , or } after an object member")
		}
	}
}

// rank returns the index, among the distinct source keys of the object whose
// keys start at keys[base], of k's first appearance, recording k if it is new.
func (s *state) rank(base int, k rawKey) int {
	for r := base; r < len(s.keys); r++ {
		if s.equal(s.src[s.keys[r].ks:s.keys[r].ke], s.src[k.ks:k.ke], s.keys[r].escaped || k.escaped) {
			return r - base
		}
	}
	s.keys = append(s.keys, k)
	return len(s.keys) - 1 - base
}

// resolve settles a collision between the member m being written and an
// earlier member of the same object (members[base:]). It reports whether m is
// kept; when m wins, the earlier member is cut out of dst.
func (s *state) resolve(base int, m *member) bool {
	for k := base; k < len(s.members); k++ {
		o := s.members[k]
		if !s.equal(s.dst[o.ks:o.ke], s.dst[m.ks:m.ke], o.escaped || m.escaped) {
			continue
		}
		// The same source key: its last value. Otherwise a converted key
		// beats one that is not, and between converted keys the one that
		// first appears later wins.
		if o.rank != m.rank && (o.changed && !m.changed || o.changed == m.changed && o.rank > m.rank) {
			return false
		}
		s.cut(base, k, m)
		return true
	}
	return true
}

// cut removes members[k] from dst and from the list, shifting what follows,
// including the member m being written.
func (s *state) cut(base, k int, m *member) {
	from, to := s.members[k].start, m.start
	if k+1 < len(s.members) {
		to = s.members[k+1].start
	}
	if k == base {
		// The next member loses its leading comma instead: it becomes the first.
		to++
	}
	n := to - from
	copy(s.dst[from:], s.dst[to:])
	s.dst = s.dst[:len(s.dst)-n]
	s.members = append(s.members[:k], s.members[k+1:]...)
	for j := k; j < len(s.members); j++ {
		s.shift(&s.members[j], n, j == base)
	}
	s.shift(m, n, len(s.members) == base)
}

func (s *state) shift(p *member, n int, first bool) {
	p.ks -= n
	p.ke -= n
	if first {
		// Its comma went with the cut; its start moves one byte less.
		p.start -= n - 1
		return
	}
	p.start -= n
}

// equal compares two keys given as the bytes between their quotes; keys
// with escapes are compared decoded.
func (s *state) equal(a, b []byte, escaped bool) bool {
	if !escaped {
		return string(a) == string(b)
	}
	return unquote(a) == unquote(b)
}

// unquote decodes the body of a validated JSON string as encoding/json does.
func unquote(raw []byte) string {
	var v string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &v); err != nil {
		return string(raw) // validated already: cannot happen
	}
	return v
}
