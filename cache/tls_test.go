package cache

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/internal/redistest"
)

// TestRedisTLSVerifiesTheHostName (README: "rediss:// verifies the
// server's certificate against the URL's host name"): against a TLS
// redis-server whose certificate, from a CA the client trusts, is for
// 127.0.0.1 only, a URL naming 127.0.0.1 connects, and one naming
// localhost, which reaches the same server, is refused for the name alone.
// (TestRedisTLSAuthDB has a CA the client does not trust refused.)
func TestRedisTLSVerifiesTheHostName(t *testing.T) {
	srv, roots := redistest.StartTLS(t, "s3cret-pass")
	_, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	for _, tc := range []struct {
		name, host string
		refused    string // "" when it connects
	}{
		{"the name in the certificate", "127.0.0.1", ""},
		{"a name the certificate does not hold", "localhost", "x509: certificate is not valid for any names, but wanted to match localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRedis("rediss://:s3cret-pass@"+tc.host+":"+port, RedisOptions{Timeout: 5 * time.Second, RootCAs: roots, Logger: slog.New(&logs{})})
			require.NoError(t, err)
			t.Cleanup(func() { _ = r.Close() })
			ctx := context.Background()
			err = r.Set(ctx, "k", []byte(`{"a":1}`), time.Minute)
			if tc.refused == "" {
				require.NoError(t, err)
				_, ok, err := r.Get(ctx, "k")
				require.NoError(t, err)
				assert.True(t, ok)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refused)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}
