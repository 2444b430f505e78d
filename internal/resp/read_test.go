package resp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheMaxReply is what cache.NewRedis sets: a result of 6 MB in its envelope.
const cacheMaxReply = 6_000_020

// hostile is a reply a server sends: head once, then tail over and over
// until the client hangs up (no tail: the server then waits).
type hostile struct {
	head, tail string
}

func (h hostile) send(cn net.Conn) {
	if _, err := cn.Write([]byte(h.head)); err != nil || h.tail == "" {
		return
	}
	tail := []byte(h.tail)
	for {
		if _, err := cn.Write(tail); err != nil {
			return
		}
	}
}

// TestHostileReplies sends replies that are malformed, too long, too wide or
// too deep from a server on loopback, with the cache's limit, and checks
// that the client refuses each with a clear error, without allocating much
// more than the limit, and that it accepts the largest legitimate ones.
func TestHostileReplies(t *testing.T) {
	big := strings.Repeat("x", 5_000_000)
	bulk := "$5000000\r\n" + big + "\r\n"
	for _, tc := range []struct {
		name  string
		reply hostile
		want  any    // the reply, when err is ""
		err   string // a part of the error's text
		large bool   // the error is ErrTooLarge
	}{
		{name: "array of 6 million", reply: hostile{head: "*6000000\r\n"}, err: "an array of 6000000 elements", large: true},
		{name: "array of 1025", reply: hostile{head: "*1025\r\n"}, err: "an array of 1025 elements", large: true},
		{name: "arrays nested without end", reply: hostile{tail: "*1\r\n"}, err: "arrays nested deeper than 4"},
		{name: "wide arrays nested without end", reply: hostile{tail: "*1024\r\n"}, err: "arrays nested deeper than 4"},
		{name: "arrays of 6 million nested", reply: hostile{head: strings.Repeat("*6000000\r\n", 8)}, large: true},
		{name: "arrays of 1000 nested 4 deep", reply: hostile{head: strings.Repeat("*1000\r\n", 3), tail: "*1000\r\n" + strings.Repeat(":1\r\n", 1000)},
			err: "the reply's limit", large: true},
		{name: "bulk strings adding up", reply: hostile{head: "*1000\r\n", tail: bulk}, err: "the reply's limit", large: true},
		{name: "bulk string over the limit", reply: hostile{head: "$6000021\r\n"}, err: "a bulk string of 6000021 bytes", large: true},
		{name: "bulk string not ended by CRLF", reply: hostile{head: "$3\r\nabcd\r\n"}, err: "bulk string not ended by CRLF"},
		{name: "negative bulk length", reply: hostile{head: "$-2\r\n"}, err: "bad bulk length"},
		{name: "negative array length", reply: hostile{head: "*-2\r\n"}, err: "bad array length"},
		{name: "array length not a number", reply: hostile{head: "*1e3\r\n"}, err: "bad array length"},
		{name: "integer not a number", reply: hostile{head: ":x\r\n"}, err: "bad integer reply"},
		{name: "unknown type", reply: hostile{head: "%2\r\n"}, err: "unknown reply type '%'"},
		{name: "empty line", reply: hostile{head: "\r\n"}, err: "empty reply line"},
		{name: "line without CR", reply: hostile{head: "+OK\n"}, err: "not ended by CRLF"},
		{name: "line without end", reply: hostile{tail: "+aaaaaaaa"}, err: "reply line too long"},

		{name: "arrays nested 4 deep", reply: hostile{head: "*1\r\n*1\r\n*1\r\n*2\r\n:7\r\n$-1\r\n"},
			want: []any{[]any{[]any{[]any{int64(7), nil}}}}},
		{name: "array of 1024", reply: hostile{head: "*1024\r\n" + strings.Repeat(":1\r\n", 1024)},
			want: func() []any {
				v := make([]any, 1024)
				for i := range v {
					v[i] = int64(1)
				}
				return v
			}()},
		{name: "bulk string of the limit", reply: hostile{head: "$6000000\r\n" + strings.Repeat("y", 6_000_000) + "\r\n"},
			want: []byte(strings.Repeat("y", 6_000_000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(cn net.Conn, _ []string) { tc.reply.send(cn) })
			c := New(Options{Addr: f.addr(), MaxReply: cacheMaxReply})
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // bounds a client that waits
			defer cancel()

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			v, err := c.Do(ctx, "", "GET", "k")
			runtime.ReadMemStats(&after)

			if tc.err == "" && !tc.large {
				require.NoError(t, err)
				assert.Equal(t, tc.want, v)
				return
			}
			require.Error(t, err)
			assert.NotErrorIs(t, err, context.DeadlineExceeded, "refused at once, not after waiting")
			assert.Contains(t, err.Error(), tc.err)
			assert.Equal(t, tc.large, errors.Is(err, ErrTooLarge), "ErrTooLarge: %v", err)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2*cacheMaxReply), "bytes allocated")
			c.mu.Lock()
			defer c.mu.Unlock()
			assert.Empty(t, c.idle[f.addr()], "the connection is closed, not pooled")
		})
	}
}

// FuzzRead reads any bytes as a reply: it must not panic, and a reply it
// accepts must be within the limits.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n", "-ERR x\r\n", ":42\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n$1\r\na\r\n:1\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
		"*6000000\r\n", "*2\r\n-ERR a\r\n$-1\r\n", "$5000\r\n",
	} {
		f.Add([]byte(seed))
	}
	const limit = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		cn := &conn{r: bufio.NewReader(bytes.NewReader(data))}
		v, err := cn.read(limit)
		var re *Error
		if err != nil && !errors.As(err, &re) {
			return
		}
		size, depth := measure(v)
		if size > limit || depth > maxDepth {
			t.Fatalf("accepted %q: %d bytes, %d deep", data, size, depth)
		}
	})
}

// measure returns what v counts against the limit, and its arrays' depth.
func measure(v any) (size, depth int) {
	switch v := v.(type) {
	case []byte:
		return len(v), 0
	case []any:
		if len(v) > maxArray {
			return 1 << 30, 0
		}
		size = len(v) * slotSize
		for _, e := range v {
			s, d := measure(e)
			size, depth = size+s, max(depth, d)
		}
		return size, depth + 1
	}
	return 0, 0
}
