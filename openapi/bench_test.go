package openapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxanalysis/wxanalysis/openapi"
)

// BenchmarkTokenCacheParallel is the cost of getting a cached token with
// every core asking at once.
func BenchmarkTokenCacheParallel(b *testing.B) {
	c := openapi.NewTokenCache(tokenFunc(func(context.Context) (*openapi.Token, error) {
		return &openapi.Token{AccessToken: "T", Expiry: time.Now().Add(time.Hour)}, nil
	}), openapi.DefaultRefreshMargin)
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
