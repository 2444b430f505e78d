package warehouse_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxanalysis/wxanalysis/openapi"
	"github.com/wxanalysis/wxanalysis/warehouse"
)

// clock is a time tests move by hand.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

var _ openapi.SharedStore = (*warehouse.Shared)(nil)

// TestShared: the database as the platform's shared store, on the three
// servers: values round-trip (any bytes), expire by the store's clock,
// SetNX has exactly one winner among concurrent callers (in one process
// and across stores, as two instances are) and takes over an expired key;
// and a database of the previous version gains the table.
func TestShared(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			url := b.fresh(t)
			clk := newClock()
			s := open(t, url, warehouse.Options{Now: clk.now})
			sh := s.Shared()

			t.Run("get, set, del, expiry", func(t *testing.T) {
				_, ok, err := sh.Get(ctx, "k1")
				require.NoError(t, err)
				assert.False(t, ok)
				value := []byte{0, 1, 2, 0xff, '\'', '"', '\\'}
				require.NoError(t, sh.Set(ctx, "k1", value, 10*time.Second))
				got, ok, err := sh.Get(ctx, "k1")
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, value, got)
				require.NoError(t, sh.Set(ctx, "k1", []byte("second"), 10*time.Second))
				got, _, _ = sh.Get(ctx, "k1")
				assert.Equal(t, "second", string(got), "Set replaces")
				clk.add(9999 * time.Millisecond)
				_, ok, _ = sh.Get(ctx, "k1")
				assert.True(t, ok, "alive until its ttl")
				clk.add(time.Millisecond)
				_, ok, err = sh.Get(ctx, "k1")
				require.NoError(t, err)
				assert.False(t, ok, "expired at its ttl")
				require.NoError(t, sh.Set(ctx, "k2", []byte("v"), time.Minute))
				require.NoError(t, sh.Del(ctx, "k2"))
				_, ok, _ = sh.Get(ctx, "k2")
				assert.False(t, ok)
				require.NoError(t, sh.Del(ctx, "never-there"))
				require.NoError(t, sh.Set(ctx, "held", []byte("mine"), time.Minute))
				gone, err := sh.DelIfEqual(ctx, "held", []byte("theirs"))
				require.NoError(t, err)
				assert.False(t, gone, "another holder's value is left alone")
				_, ok, _ = sh.Get(ctx, "held")
				assert.True(t, ok)
				gone, err = sh.DelIfEqual(ctx, "held", []byte("mine"))
				require.NoError(t, err)
				assert.True(t, gone, "its own value is removed")
				_, ok, _ = sh.Get(ctx, "held")
				assert.False(t, ok)
				assert.Error(t, sh.Set(ctx, strings.Repeat("k", warehouse.MaxSharedKey+1), nil, time.Minute))
				_, _, err = sh.Get(ctx, strings.Repeat("k", warehouse.MaxSharedKey+1))
				require.Error(t, err)
				assert.Contains(t, err.Error(), "1 to 191 bytes")
			})

			t.Run("SetNX: kept while alive, taken once expired", func(t *testing.T) {
				won, err := sh.SetNX(ctx, "lock", []byte("a"), 5*time.Second)
				require.NoError(t, err)
				assert.True(t, won)
				won, err = sh.SetNX(ctx, "lock", []byte("b"), 5*time.Second)
				require.NoError(t, err)
				assert.False(t, won, "held")
				got, _, _ := sh.Get(ctx, "lock")
				assert.Equal(t, "a", string(got), "the loser changed nothing")
				clk.add(5 * time.Second)
				won, err = sh.SetNX(ctx, "lock", []byte("c"), 5*time.Second)
				require.NoError(t, err)
				assert.True(t, won, "expired: taken over")
				got, _, _ = sh.Get(ctx, "lock")
				assert.Equal(t, "c", string(got))
				clk.add(4 * time.Second)
				won, err = sh.SetNX(ctx, "lock", []byte("d"), 5*time.Second)
				require.NoError(t, err)
				assert.False(t, won, "the new holder's ttl counts from its SetNX")
			})

			t.Run("SetNX at once: exactly one winner", func(t *testing.T) {
				// Two stores on one database are two instances.
				other := open(t, url, warehouse.Options{Now: clk.now}).Shared()
				for round := range 5 {
					key := fmt.Sprintf("race-%d", round)
					if round%2 == 1 {
						// An expired holder: the racers compete to replace it.
						require.NoError(t, sh.Set(ctx, key, []byte("old"), time.Second))
						clk.add(time.Second)
					}
					var wins atomic.Int32
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range 16 {
						st := sh
						if i%2 == 1 {
							st = other
						}
						wg.Go(func() {
							<-start
							won, err := st.SetNX(ctx, key, []byte(fmt.Sprint(i)), time.Minute)
							assert.NoError(t, err)
							if won {
								wins.Add(1)
							}
						})
					}
					close(start)
					wg.Wait()
					assert.Equal(t, int32(1), wins.Load(), "round %d", round)
				}
			})

			t.Run("from the previous version", func(t *testing.T) {
				url := b.fresh(t)
				all, err := warehouse.Migrations(s.Dialect())
				require.NoError(t, err)
				old := open(t, url, warehouse.Options{Version: len(all) - 1})
				put(t, old, period("wx1"), retainBody, true)
				_, _, err = old.Shared().Get(ctx, "k")
				require.Error(t, err, "the previous version has no wxa_shared")
				s := open(t, url, warehouse.Options{})
				v, err := s.Version(ctx)
				require.NoError(t, err)
				assert.Equal(t, len(all), v)
				require.NoError(t, s.Shared().Set(ctx, "k", []byte("v"), time.Minute))
				got, ok, err := s.Shared().Get(ctx, "k")
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, "v", string(got))
				_, ok, err = s.Final(ctx, period("wx1"))
				require.NoError(t, err)
				assert.True(t, ok, "the data kept")
			})
		})
	}
}
