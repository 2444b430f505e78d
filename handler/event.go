package handler

import "unicode/utf8"

// decodeFlat decodes the common event, a JSON object whose values are all
// plain strings, such as {"action":"getWeeklyRetain","beginDate":"20170306",
// "endDate":"20170312"}, into the map decodeEvent's json.Decoder would make,
// in one pass and with one string for all keys and values. It reports false
// for anything else (a number, an escape, a control character, invalid
// UTF-8, anything after the object but white space), which decodeEvent then
// decodes as before: so every answer and message stays the decoder's.
func decodeFlat(payload []byte) (map[string]any, bool) {
	i := skipSpace(payload, 0)
	if i == len(payload) || payload[i] != '{' {
		return nil, false
	}
	// Cheap checks first: no backslash and valid UTF-8 anywhere.
	for _, c := range payload {
		if c == '\\' {
			return nil, false
		}
	}
	if !utf8.Valid(payload) {
		return nil, false
	}
	s := string(payload) // every key and value is a substring of this one string
	ev := make(map[string]any, 4)
	i = skipSpace(payload, i+1)
	if i < len(s) && s[i] == '}' {
		return ev, skipSpace(payload, i+1) == len(s)
	}
	for {
		key, j, ok := flatString(s, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(payload, j)
		if i == len(s) || s[i] != ':' {
			return nil, false
		}
		value, j, ok := flatString(s, skipSpace(payload, i+1))
		if !ok {
			return nil, false
		}
		ev[key] = value // a repeated key: the last one wins, as with json.Decoder
		i = skipSpace(payload, j)
		if i == len(s) {
			return nil, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(payload, i+1)
		case '}':
			return ev, skipSpace(payload, i+1) == len(s)
		default:
			return nil, false
		}
	}
}

// flatString reads the JSON string at s[i:], which has no escapes (checked
// by the caller), and returns it and the index after it.
func flatString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
