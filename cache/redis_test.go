package cache

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

const prefix = "wxatest:"

// newRedis returns a Redis on url with the clock and log l, closed at the
// end of the test.
func newRedis(t *testing.T, url string, clk *clock, l *logs) *Redis {
	t.Helper()
	r, err := NewRedis(url, RedisOptions{Timeout: time.Second, Now: clk.Now, Logger: slog.New(l), Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestRedisShared: two instances share one redis-server; final answers get
// FinalTTL, others TTL.
func TestRedisShared(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	clk := newClock(time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC))
	l := &logs{}
	opts := Options{TTL: 10 * time.Minute, FinalTTL: 30 * 24 * time.Hour, Now: clk.Now}
	a := New(newRedis(t, srv.URL(), clk, l), opts)
	b := New(newRedis(t, srv.URL(), clk, l), opts)
	admin := newAdmin(t, srv.Addr())

	for _, tc := range []struct {
		name, method, begin, end string
		ttl                      time.Duration
	}{
		{"final", "getDailyVisitTrend", "20240229", "20240229", 30 * 24 * time.Hour},
		{"not final", "getDailyVisitTrend", "20240308", "20240308", 10 * time.Minute},
		{"never final", "getUserPortrait", "20240201", "20240301", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := Key("appid:wx1111", tc.method, []byte(tc.begin+tc.end))
			answer := []byte(`{"list":[],"errMsg":"openapi.analysis.` + tc.method + `:ok","errCode":0}`)
			f := &counter{val: answer}
			v, outcome, err := a.Do(ctx, key, tc.method, tc.begin, tc.end, f.fetch)
			require.NoError(t, err)
			assert.Equal(t, Miss, outcome)
			v, outcome, err = b.Do(ctx, key, tc.method, tc.begin, tc.end, f.fetch)
			require.NoError(t, err)
			assert.Equal(t, Hit, outcome, "fetched by the other instance")
			assert.Equal(t, answer, v)
			assert.Equal(t, int32(1), f.calls.Load())

			ttl := admin.pttl(prefix + key)
			assert.LessOrEqual(t, ttl, tc.ttl)
			assert.Greater(t, ttl, tc.ttl-time.Minute)
		})
	}
	assert.Empty(t, l.messages(slog.LevelWarn))
}

// TestRedisStopped: Redis stopped mid-run costs misses, no error, one
// warning; once it is back (and the back-off over) it works again.
func TestRedisStopped(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	clk := newClock(time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC))
	l := &logs{}
	opts := Options{TTL: 10 * time.Minute, Now: clk.Now}
	a := New(newRedis(t, srv.URL(), clk, l), opts)
	b := New(newRedis(t, srv.URL(), clk, l), opts)
	f := &counter{val: []byte(`{"answer":1}`)}
	do := func(c *Cache, key string) Outcome {
		t.Helper()
		v, outcome, err := c.Do(ctx, key, "getDailyVisitTrend", "20240229", "20240229", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, `{"answer":1}`, string(v))
		return outcome
	}
	require.Equal(t, Miss, do(a, "k1"))
	require.Equal(t, Hit, do(b, "k1"))

	srv.Stop()
	for range 3 {
		assert.Equal(t, Miss, do(a, "k1"))
		assert.Equal(t, Miss, do(b, "k2"))
	}
	clk.Add(DefaultRedisBackoff) // tried again, still down: no second warning
	assert.Equal(t, Miss, do(a, "k1"))
	assert.Equal(t, int32(8), f.calls.Load())
	assert.Len(t, l.messages(slog.LevelWarn), 2, "one warning per instance")

	srv.Restart()
	assert.Equal(t, Miss, do(a, "k3"), "still backing off")
	clk.Add(DefaultRedisBackoff)
	assert.Equal(t, Miss, do(a, "k3"))
	assert.Equal(t, Hit, do(b, "k3"), "b tries again too")
	assert.Equal(t, Hit, do(a, "k3"))
	assert.Len(t, l.messages(slog.LevelWarn), 2)
	assert.Len(t, l.messages(slog.LevelInfo), 2, "each instance says Redis answers again")
}

// blackhole accepts connections and never answers: a Redis that hangs.
func blackhole(t *testing.T) (addr string, accepted *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted = new(atomic.Int32)
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// TestRedisSlow: a Redis that does not answer costs one operation's budget,
// then nothing while backing off.
func TestRedisSlow(t *testing.T) {
	ctx := context.Background()
	addr, accepted := blackhole(t)
	clk := newClock(t0)
	l := &logs{}
	r, err := NewRedis("redis://"+addr, RedisOptions{Timeout: 20 * time.Millisecond, Now: clk.Now, Logger: slog.New(l)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	c := New(r, Options{TTL: time.Hour, Now: clk.Now})
	f := &counter{val: []byte("answer")}
	for range 3 {
		v, outcome, err := c.Do(ctx, "k", "getVisitPage", "20200101", "20200101", f.fetch)
		require.NoError(t, err)
		assert.Equal(t, Miss, outcome)
		assert.Equal(t, "answer", string(v))
	}
	assert.Equal(t, int32(1), accepted.Load(), "tried once, then backed off")
	warnings := l.messages(slog.LevelWarn)
	assert.Len(t, warnings, 1)

	_, _, err = r.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrUnavailable)
	clk.Add(DefaultRedisBackoff)
	_, _, err = r.Get(ctx, "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrUnavailable, "tried again")
	assert.Len(t, l.messages(slog.LevelWarn), 1, "still the one warning")
}

// TestRedisCallerGaveUp: the caller's context ending is not Redis failing.
func TestRedisCallerGaveUp(t *testing.T) {
	srv := redistest.Start(t)
	clk := newClock(t0)
	l := &logs{}
	r := newRedis(t, srv.URL(), clk, l)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := r.Get(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, r.Set(context.Background(), "k", []byte(`{"v":1}`), time.Minute), "not backing off")
	v, ok, err := r.Get(context.Background(), "k")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, `{"v":1}`, string(v))
	assert.Empty(t, l.messages(slog.LevelWarn))
}

func TestRedisGetSet(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRedis(t, srv.URL(), newClock(t0), &logs{})
	v, ok, err := r.Get(ctx, "absent")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, v)

	require.NoError(t, r.Set(ctx, "zero", []byte(`{"v":1}`), 0))
	_, ok, _ = r.Get(ctx, "zero")
	assert.False(t, ok, "ttl 0: not stored")

	in := []byte("{\"a\" : [1,\n2], \"\u00e9\":\"\\u0000\"}\n")
	require.NoError(t, r.Set(ctx, "bin", in, time.Minute))
	v, ok, err = r.Get(ctx, "bin")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, in, v, "byte-identical")
}

func TestNewRedisURL(t *testing.T) {
	for _, tc := range []struct{ url, err string }{
		{"redis://127.0.0.1:6379", ""},
		{"rediss://user:pass@redis.example:6380/2", ""},
		{"http://user:s3cret@127.0.0.1:6379", `scheme "http" must be redis or rediss`},
		{"127.0.0.1:6379", "not a URL"},
		{"localhost:6379", `scheme "localhost" must be redis or rediss`},
		{"redis://:s3cret@", "no host"},
		{"redis://:s3cret@h:6379/x", "invalid database number"},
		{"redis://:s3cret@h:port\x7f", "not a URL"},
		{"redis://:s3cret@h:6379/0?dial_timeout=fast", "unexpected option: \"dial_timeout\""},
		{"redis://:s3cret@h:6379/0?password=x", "unexpected option: \"password\""},
		{"redis://:s3cret@h:0/0", "port must be a number"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			r, err := NewRedis(tc.url, RedisOptions{})
			if tc.err == "" {
				require.NoError(t, err)
				require.NoError(t, r.Close())
				return
			}
			require.ErrorContains(t, err, tc.err)
			assert.NotContains(t, err.Error(), "s3cret", "the password never")
		})
	}
}

// TestRedisTLSAuthDB: rediss:// with a password and a database number,
// against a redis-server that speaks TLS only and requires the password; a
// wrong password is one warning that never holds it.
func TestRedisTLSAuthDB(t *testing.T) {
	ctx := context.Background()
	srv, roots := redistest.StartTLS(t, "s3cret-pass")
	url := "rediss://:s3cret-pass@" + srv.Addr() + "/3"
	l := &logs{}
	r, err := NewRedis(url, RedisOptions{Timeout: 5 * time.Second, Logger: slog.New(l), RootCAs: roots})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	require.NoError(t, r.Set(ctx, "k", []byte(`{"a":1}`), time.Minute))
	v, ok, err := r.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, `{"a":1}`, string(v))

	for name, u := range map[string]string{
		"wrong password": "rediss://:wrong-s3cret@" + srv.Addr() + "/3",
		"plain TCP":      "redis://:s3cret-pass@" + srv.Addr() + "/3",
	} {
		bad, err := NewRedis(u, RedisOptions{Timeout: 2 * time.Second, Logger: slog.New(l), RootCAs: roots})
		require.NoError(t, err)
		_, _, err = bad.Get(ctx, "k")
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "s3cret", name)
		_ = bad.Close()
	}
	assert.Contains(t, l.text(), "WRONGPASS", "the warning says why")
	assert.NotContains(t, l.text(), "s3cret", "never the password")
	assert.Len(t, l.messages(slog.LevelWarn), 2, "each bad client warned")

	other, err := NewRedis("rediss://:s3cret-pass@"+srv.Addr()+"/4", RedisOptions{Timeout: 5 * time.Second, RootCAs: roots})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	_, ok, err = other.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok, "another database number, another keyspace")

	untrusted, err := NewRedis(url, RedisOptions{Timeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = untrusted.Close() })
	_, _, err = untrusted.Get(ctx, "k")
	assert.ErrorContains(t, err, "certificate", "the server's certificate is checked")
}

// TestRedisValues: the view for values other than answers keeps any bytes,
// takes a SetNX lock once, deletes, lives apart from answers, and serves
// nothing copied from another key.
func TestRedisValues(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRedis(t, srv.URL(), newClock(t0), &logs{})
	v := r.Values()

	require.NoError(t, v.Set(ctx, "refresh", []byte("not json at all"), time.Minute))
	got, ok, err := v.Get(ctx, "refresh")
	require.NoError(t, err)
	require.True(t, ok, "any bytes are a value")
	assert.Equal(t, []byte("not json at all"), got)
	_, ok, _ = r.Get(ctx, "refresh")
	assert.False(t, ok, "values are not answers")

	won, err := v.SetNX(ctx, "lock", []byte("1"), time.Minute)
	require.NoError(t, err)
	assert.True(t, won)
	won, err = v.SetNX(ctx, "lock", []byte("2"), time.Minute)
	require.NoError(t, err)
	assert.False(t, won, "held")
	gone, err := v.DelIfEqual(ctx, "lock", []byte("2"))
	require.NoError(t, err)
	assert.False(t, gone, "another holder's value is left alone")
	gone, err = v.DelIfEqual(ctx, "lock", []byte("1"))
	require.NoError(t, err)
	assert.True(t, gone, "its own value is removed")
	won, err = v.SetNX(ctx, "lock", []byte("1"), time.Minute)
	require.NoError(t, err)
	require.True(t, won)
	require.NoError(t, v.Del(ctx, "lock"))
	won, err = v.SetNX(ctx, "lock", []byte("3"), time.Minute)
	require.NoError(t, err)
	assert.True(t, won, "released")

	// Another key's sealed value, copied under this key, is not served.
	a := newAdmin(t, srv.Addr())
	a.do(prefix+sharedPrefix+"copy", "SET", prefix+sharedPrefix+"copy", a.get(prefix+sharedPrefix+"refresh"))
	_, ok, err = v.Get(ctx, "copy")
	require.NoError(t, err)
	assert.False(t, ok, "a value sealed for another key")
}
