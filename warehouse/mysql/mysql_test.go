package mysql

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfig(t *testing.T) {
	parse := func(raw string) *url.URL {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		return u
	}
	cfg, err := config(parse("mysql://app:p%40ss@db.example.com/analytics?tls=true&collation=utf8mb4_unicode_ci"))
	require.NoError(t, err)
	assert.Equal(t, "db.example.com:3306", cfg.Addr)
	assert.Equal(t, "app", cfg.User)
	assert.Equal(t, "p@ss", cfg.Passwd)
	assert.Equal(t, "analytics", cfg.DBName)
	require.NotNil(t, cfg.TLS, "tls=true")
	assert.Equal(t, "db.example.com", cfg.TLS.ServerName, "the certificate is checked against the URL's host")
	assert.Equal(t, "utf8mb4_unicode_ci", cfg.Collation)
	assert.Equal(t, 10*time.Second, cfg.Timeout, "the default connect timeout stays with other parameters")
	assert.False(t, cfg.ClientFoundRows, "changed rows, for the shared store's SetNX")
	assert.Equal(t, time.UTC, cfg.Loc)

	cfg, err = config(parse("mysql://app@10.0.0.5:3307/db?timeout=3s&tls=preferred"))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.5:3307", cfg.Addr)
	assert.Equal(t, 3*time.Second, cfg.Timeout)
	assert.True(t, cfg.AllowFallbackToPlaintext, "tls=preferred keeps its fallback")

	_, err = config(parse("mysql://app:secret@h/db?password=x"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
	_, err = config(parse("mysql://app:secret@h/db?timeout=soon"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}
