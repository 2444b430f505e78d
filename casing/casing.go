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
// so 12345678901234567890 stays exact. The one exception is text that is not
// UTF-8: Node decodes an answer before parsing it, so each invalid sequence in
// a string or key becomes U+FFFD, as the WHATWG decoder replaces it, and the
// output is always valid UTF-8. Object members keep their order. When two keys
// of one object end up with the same name (compared decoded, as JavaScript
// compares them), the key whose name changed wins over one that did not;
// between two changed keys, the one that first appears later wins, with its
// last value. That is what the SDK's in-place conversion of an object from
// JSON.parse (a repeated key keeps its first place and its last value)
// amounts to. The cost is linear in the size of the document.
package casing

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays a document may have.
const MaxDepth = 1000

const (
	// checkEvery is how many values a conversion reads between two looks at
	// its context.
	checkEvery = 4096
	// indexAbove is how many keys an object may have before its names are
	// looked up in a hash table rather than compared with each earlier one.
	indexAbove = 16
)

// maxSize bounds src and dst, so that the offsets into dst, which may grow to
// three times src (invalid UTF-8 becomes U+FFFD), fit in 32 bits.
var maxSize = 1 << 28

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
// malformed document gives a *SyntaxError and dst unchanged; so does, with
// another error, a src or dst over 256 MiB.
func (c Converter) Append(dst, src []byte) ([]byte, error) {
	return c.AppendContext(context.Background(), dst, src)
}

// AppendContext is [Converter.Append] that gives up once ctx is done, with
// an error wrapping ctx.Err() and dst unchanged. It looks at ctx every few
// thousand values.
func (c Converter) AppendContext(ctx context.Context, dst, src []byte) ([]byte, error) {
	if err := tooLarge(src, dst); err != nil {
		return dst, err
	}
	s := getState(ctx, c, src, dst)
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
// top-level member for which drop returns true. drop sees the converted key's
// decoded name (escapes resolved, so "err\u0063ode" is "errcode"; an
// unpaired surrogate escape in WTF-8) and the converted value as written;
// both are valid only during the call. A dropped member takes no part in
// collisions, so drop should depend on the name alone. AppendMembers reports
// how many members it wrote. It lets a caller read and replace top-level
// members in the same pass.
func (c Converter) AppendMembers(dst, src []byte, drop func(key, value []byte) bool) ([]byte, int, error) {
	return c.AppendMembersContext(context.Background(), dst, src, drop)
}

// AppendMembersContext is [Converter.AppendMembers] that gives up once ctx is
// done, with an error wrapping ctx.Err() and dst unchanged.
func (c Converter) AppendMembersContext(ctx context.Context, dst, src []byte, drop func(key, value []byte) bool) ([]byte, int, error) {
	if err := tooLarge(src, dst); err != nil {
		return dst, 0, err
	}
	s := getState(ctx, c, src, dst)
	defer putState(s)
	i := s.ws(0)
	if i >= len(src) || src[i] != '{' {
		return dst, 0, s.fail(i, "not an object")
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
	if raw[i+1] != 'u' {
		return 0, 2 // \n, \", \\ …: never a letter or an underscore
	}
	if v := hex4(raw[i+2:]); v < utf8.RuneSelf {
		return byte(v), 6
	}
	return 0, 6
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

// hex4 reads the four hex digits of a validated \u escape.
func hex4(h []byte) rune {
	var v rune
	for _, c := range h[:4] {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		v = v<<4 | rune(c)
	}
	return v
}

// appendDecoded appends the text of the validated, valid UTF-8 string body
// raw as JavaScript sees it, in WTF-8: an unpaired surrogate escape keeps its
// own three bytes, so that "\ud800" and "\ud801" stay two names.
func appendDecoded(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if c = raw[i+1]; c != 'u' {
			switch c {
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			}
			dst = append(dst, c) // ", \ and / stand for themselves
			i += 2
			continue
		}
		r := hex4(raw[i+2:])
		i += 6
		if utf16.IsSurrogate(r) && r < 0xdc00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
			if lo := hex4(raw[i+2:]); utf16.IsSurrogate(lo) && lo >= 0xdc00 {
				r, i = utf16.DecodeRune(r, lo), i+6
			}
		}
		if utf16.IsSurrogate(r) {
			dst = append(dst, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// appendValid appends b with each maximal subpart of an invalid UTF-8
// sequence replaced by U+FFFD, as the WHATWG decoder (Node's Buffer and
// TextDecoder) does.
func appendValid(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		if _, n := utf8.DecodeRune(b[i:]); n > 1 {
			dst = append(dst, b[i:i+n]...)
			i += n
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length of the invalid sequence starting b: a
// lead byte and the continuation bytes that may follow it, as far as they go.
func maximalSubpart(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xbf)
	switch c := b[0]; {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c >= 0xe0 && c <= 0xef:
		need = 2
		if c == 0xe0 {
			lo = 0xa0 // no overlong forms
		} else if c == 0xed {
			hi = 0x9f // no surrogates
		}
	case c >= 0xf0 && c <= 0xf4:
		need = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f // nothing above U+10FFFF
		}
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		n++
		lo, hi = 0x80, 0xbf
	}
	return n
}

// A text locates a decoded key name in src, dst or state.names. Offsets of
// 32 bits, here and in member and slot, halve what a large object costs.
type text struct {
	off, end int32
	in       byte
}

func newText(in byte, off, end int) text { return text{int32(off), int32(end), in} }

func (t text) len() int { return int(t.end - t.off) }

const (
	inSrc byte = iota
	inDst
	inNames
)

// member records one object member written to dst.
type member struct {
	start   int32 // offset of the member (its leading comma, if any) in dst
	rank    int32 // a changed key: the first appearance of its source among the object's changed keys
	name    text  // its decoded converted name
	changed bool  // the conversion changed the key
	dead    bool  // a later member took its name: cut out when the object ends
}

// object holds what state.object needs about the object it reads.
type object struct {
	base, keys, names int   // where its entries start in state.members, .keys and .names
	set               int32 // its sets in the table (set and set|1), or -1 before it is indexed
	dead              int   // how many of its members are dead
}

// slot is an entry of the table: a name of an indexed object.
type slot struct {
	h   uint32 // the name's hash
	set int32  // 2×object: its source keys; 2×object+1: its live members' names
	ref int32  // 1 + index into state.keys or state.members; 0: empty
}

// strFlags tell what a string holds beyond plain text.
type strFlags byte

const (
	hasEscape strFlags = 1 << iota
	hasInvalid
)

// plain marks the bytes a string copies with no further look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

type state struct {
	conv    Converter
	ctx     context.Context
	values  int // values read, to look at ctx now and then
	src     []byte
	dst     []byte
	names   []byte   // decoded names of keys with escapes or invalid UTF-8
	scratch []byte   // a key with its invalid UTF-8 replaced
	members []member // the members of the objects being read
	keys    []text   // the distinct changed source keys of the objects being read
	seed    maphash.Seed
	table   []slot                 // open addressing; a power of two long, at most half full
	used    int                    // filled slots
	sets    int                    // objects indexed so far
	drop    func(k, v []byte) bool // AppendMembers: which top-level members to leave out
	bare    bool                   // AppendMembers: write the top-level object without braces
	written int                    // AppendMembers: members written at the top level
	work    int                    // names compared, slots probed and members moved, for tests
}

var statePool = sync.Pool{New: func() any {
	return &state{members: make([]member, 0, 32), seed: maphash.MakeSeed()}
}}

func tooLarge(src, dst []byte) error {
	if len(src) > maxSize || len(dst) > maxSize {
		return fmt.Errorf("casing: a document or buffer over %d bytes", maxSize)
	}
	return nil
}

func getState(ctx context.Context, c Converter, src, dst []byte) *state {
	s := statePool.Get().(*state)
	s.conv, s.src, s.dst = c, src, dst
	if ctx.Done() != nil {
		s.ctx = ctx // one that can end
	}
	return s
}

func putState(s *state) {
	if cap(s.members) > 1<<12 || cap(s.keys) > 1<<12 || cap(s.names) > 1<<16 || cap(s.scratch) > 1<<16 ||
		len(s.table) > 1<<13 {
		return // what one large document needed is not worth keeping
	}
	if s.used > 0 {
		clear(s.table)
	}
	s.ctx, s.src, s.dst, s.drop, s.bare = nil, nil, nil, nil, false
	s.members, s.keys, s.names = s.members[:0], s.keys[:0], s.names[:0]
	s.values, s.used, s.sets, s.written, s.work = 0, 0, 0, 0, 0
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
	if s.values%checkEvery == 0 && s.ctx != nil {
		if err := s.ctx.Err(); err != nil {
			return i, fmt.Errorf("casing: conversion stopped at byte %d: %w", i, err)
		}
	}
	s.values++
	if i >= len(s.src) {
		return i, s.fail(i, "unexpected end of input")
	}
	switch c := s.src[i]; {
	case c == '{':
		return s.object(i, depth+1)
	case c == '[':
		return s.array(i, depth+1)
	case c == '"':
		j, f, err := s.str(i)
		if err != nil {
			return j, err
		}
		if f&hasInvalid != 0 {
			s.dst = appendValid(s.dst, s.src[i:j])
		} else {
			s.dst = append(s.dst, s.src[i:j]...)
		}
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
// just past its closing quote and whether it holds escapes or invalid UTF-8.
func (s *state) str(i int) (int, strFlags, error) {
	src := s.src
	var f strFlags
	for i++; i < len(src); {
		c := src[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, f, nil
		case c < 0x20:
			return i, 0, s.fail(i, "control character in string")
		case c == '\\':
			f |= hasEscape
			if i+1 >= len(src) {
				return i, 0, s.fail(i, "unexpected end of input")
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) {
					return i, 0, s.fail(i, "unexpected end of input")
				}
				for _, h := range src[i+2 : i+6] {
					if !isHex(h) {
						return i, 0, s.fail(i, "invalid \\u escape")
					}
				}
				i += 6
			default:
				return i, 0, s.fail(i, "invalid escape")
			}
		default:
			_, n := utf8.DecodeRune(src[i:])
			if n == 1 {
				f |= hasInvalid
			}
			i += n
		}
	}
	return i, 0, s.fail(i, "unexpected end of input")
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
	o := object{base: len(s.members), keys: len(s.keys), names: len(s.names), set: -1}
	defer func() { s.members, s.keys, s.names = s.members[:o.base], s.keys[:o.keys], s.names[:o.names] }()

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
		j, f, err := s.str(i)
		if err != nil {
			return j, err
		}
		if o.set < 0 && len(s.members)-o.base+len(s.keys)-o.keys > indexAbove {
			s.index(&o)
		}
		m := member{start: int32(len(s.dst))}
		if len(s.members) > o.base {
			s.dst = append(s.dst, ',') // a dead member keeps its place until the object ends
		}
		s.dst = append(s.dst, '"')
		s.key(&o, &m, i+1, j-1, f)
		s.dst = append(s.dst, '"', ':')

		i = s.ws(j)
		if i >= len(s.src) || s.src[i] != ':' {
			return i, s.fail(i, "expected : after an object key")
		}
		vs := len(s.dst)
		if i, err = s.value(s.ws(i+1), depth); err != nil {
			return i, err
		}
		if (drop == nil || !drop(s.bytes(m.name), s.dst[vs:])) && s.resolve(&o, &m) {
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
			n := s.compact(&o)
			if bare {
				s.written = n
			} else {
				s.dst = append(s.dst, '}')
			}
			return i + 1, nil
		default:
			return i, s.fail(i, "expected , or } after an object member")
		}
	}
}

// key writes the converted form of the source key src[ks:ke] to dst and sets
// m's name, changed and rank. Each escaped name is decoded once.
func (s *state) key(o *object, m *member, ks, ke int, f strFlags) {
	raw := s.src[ks:ke]
	if f&hasInvalid != 0 {
		s.scratch = appendValid(s.scratch[:0], raw)
		raw = s.scratch
	}
	start := len(s.dst)
	s.dst, m.changed = s.conv.key(s.dst, raw)
	m.name = newText(inDst, start, len(s.dst))
	if f&hasEscape != 0 {
		m.name = s.decode(s.dst[start:])
	}
	if !m.changed {
		return // its source is its name: only changed keys need a rank
	}
	source := newText(inSrc, ks, ke)
	if f != 0 {
		source = s.decode(raw)
	}
	m.rank = int32(s.rank(o, source))
}

// decode stores the decoded text of the string body raw in names.
func (s *state) decode(raw []byte) text {
	off := len(s.names)
	s.names = appendDecoded(s.names, raw)
	return newText(inNames, off, len(s.names))
}

func (s *state) bytes(t text) []byte {
	switch t.in {
	case inSrc:
		return s.src[t.off:t.end]
	case inDst:
		return s.dst[t.off:t.end]
	}
	return s.names[t.off:t.end]
}

// rank returns the index, among the distinct changed source keys of object o,
// of the first appearance of the source key t, recording t if it is new.
func (s *state) rank(o *object, t text) int {
	name := s.bytes(t)
	if o.set >= 0 {
		sl := s.find(o.set, name)
		if sl.ref == 0 {
			s.keys = append(s.keys, t)
			sl.ref = int32(len(s.keys))
			s.used++
		}
		return int(sl.ref) - 1 - o.keys
	}
	for r := o.keys; r < len(s.keys); r++ {
		s.work++
		if k := s.keys[r]; k.len() == len(name) && string(s.bytes(k)) == string(name) {
			return r - o.keys
		}
	}
	s.keys = append(s.keys, t)
	return len(s.keys) - 1 - o.keys
}

// resolve settles a collision between the member m being written and the
// live earlier member of object o with the same name, if any. It reports
// whether m is kept; when m wins, the earlier member dies.
func (s *state) resolve(o *object, m *member) bool {
	name := s.bytes(m.name)
	var sl *slot
	k := -1
	if o.set >= 0 {
		sl = s.find(o.set|1, name)
		k = int(sl.ref) - 1
	} else {
		for j := o.base; j < len(s.members); j++ {
			s.work++
			if p := &s.members[j]; p.name.len() == len(name) && !p.dead && string(s.bytes(p.name)) == string(name) {
				k = j
				break
			}
		}
	}
	if k >= 0 {
		// The same source key: its last value. Otherwise a converted key
		// beats one that is not, and between converted keys the one that
		// first appears later wins.
		p := &s.members[k]
		if p.changed && (!m.changed || p.rank > m.rank) {
			return false
		}
		p.dead = true
		o.dead++
	}
	if sl != nil {
		if sl.ref == 0 {
			s.used++
		}
		sl.ref = int32(len(s.members)) + 1 // m's index once appended
	}
	return true
}

// compact cuts the dead members of object o out of dst, in one pass, and
// returns how many members remain.
func (s *state) compact(o *object) int {
	ms := s.members[o.base:]
	if o.dead == 0 {
		return len(ms)
	}
	w, first := int(ms[0].start), true
	for k, m := range ms {
		if m.dead {
			continue
		}
		from, to := int(m.start), len(s.dst)
		if k > 0 {
			from++ // its comma
		}
		if k+1 < len(ms) {
			to = int(ms[k+1].start)
		}
		if !first {
			s.dst[w] = ','
			w++
		}
		w += copy(s.dst[w:], s.dst[from:to])
		first = false
		s.work++
	}
	s.dst = s.dst[:w]
	return len(ms) - o.dead
}

// index puts the names object o has so far into the table, which finds its
// later names from then on.
func (s *state) index(o *object) {
	o.set = int32(2 * s.sets)
	s.sets++
	for r := o.keys; r < len(s.keys); r++ {
		s.find(o.set, s.bytes(s.keys[r])).ref = int32(r) + 1
		s.used++
	}
	for k := o.base; k < len(s.members); k++ {
		if !s.members[k].dead {
			s.find(o.set|1, s.bytes(s.members[k].name)).ref = int32(k) + 1
			s.used++
		}
	}
}

// find returns the slot of name in set, or the empty slot where it belongs,
// which the caller may fill.
func (s *state) find(set int32, name []byte) *slot {
	if 2*(s.used+1) > len(s.table) {
		s.grow()
	}
	h := uint32(maphash.Bytes(s.seed, name))
	mask := len(s.table) - 1
	for i := home(h, set) & mask; ; i = (i + 1) & mask {
		s.work++
		sl := &s.table[i]
		if sl.ref == 0 {
			sl.h, sl.set = h, set
			return sl
		}
		if sl.h == h && sl.set == set && string(s.slotName(sl)) == string(name) {
			return sl
		}
	}
}

func (s *state) slotName(sl *slot) []byte {
	if sl.set&1 == 0 {
		return s.bytes(s.keys[sl.ref-1])
	}
	return s.bytes(s.members[sl.ref-1].name)
}

func home(h uint32, set int32) int { return int(h ^ uint32(set)*0x9e3779b9) }

func (s *state) grow() {
	old := s.table
	s.table = make([]slot, max(64, 2*len(old)))
	mask := len(s.table) - 1
	for _, sl := range old {
		if sl.ref == 0 {
			continue
		}
		i := home(sl.h, sl.set) & mask
		for s.table[i].ref != 0 {
			i = (i + 1) & mask
		}
		s.table[i] = sl
	}
}
