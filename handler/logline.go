package handler

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The invocation's log line, appended by hand: the bytes slog's JSON handler
// writes for logInvocation's record (TestLogLineAsSlog compares them), without
// its attribute values, its reflection-based float encoding and its locks.
// One write(2) per line, as slog's.

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeLine writes rec's line at level to h.line.
func (h *Handler) writeLine(ctx context.Context, level slog.Level, rec *record, d time.Duration) {
	bp := lineBufs.Get().(*[]byte)
	b := h.appendLine((*bp)[:0], time.Now(), ctx, level, rec, d)
	h.line.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
}

// appendLine appends rec's line, stamped t, to b.
func (h *Handler) appendLine(b []byte, t time.Time, ctx context.Context, level slog.Level, rec *record, d time.Duration) []byte {
	b = append(b, `{"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"invocation"`...)
	if id, ok := logRequestID(ctx, rec); ok {
		b = appendField(b, "request_id", id)
	}
	b = appendField(b, "caller", rec.caller)
	b = appendField(b, "action", rec.action)
	b = appendInt(b, "errCode", rec.code)
	b = appendInt(b, "attempts", rec.stats.Attempts)
	b = append(b, `,"latency_ms":`...)
	b = appendJSONFloat(b, latencyMs(d))
	if rec.reason != "" {
		b = appendField(b, "reason", h.logReason(rec))
	}
	if rec.cache != "" {
		b = appendField(b, "cache", string(rec.cache))
	}
	if rec.items > 0 {
		b = appendInt(b, "items", rec.items)
	}
	if rec.stats.TokenRefreshes > 0 {
		b = appendInt(b, "token_refreshes", rec.stats.TokenRefreshes)
	}
	if rec.status != 0 {
		b = appendInt(b, "status", rec.status)
	}
	if rec.whose != "" {
		b = appendField(b, "authorizer", rec.whose)
	}
	return append(b, "}\n"...)
}

// appendField appends ,"key":"value"; key needs no escaping.
func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	b = appendJSONString(b, value)
	return append(b, '"')
}

func appendInt(b []byte, key string, n int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(n), 10)
}

// appendJSONFloat formats f as encoding/json does (and so slog).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped as slog's JSON handler escapes it: ",
// \ and control characters; invalid UTF-8 as \ufffd; U+2028 and U+2029.
func appendJSONString(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
