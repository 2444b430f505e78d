//go:build !race

// The race detector's instrumentation turns off the compiler's fusing of
// slices.Grow's append and make, so that Set allocates twice under -race;
// these counts hold for the built binary, as deployed.

package cache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMemoryAllocations pins what an entry costs to store and to read: one
// allocation each (its key and value; the copy returned), once the store is
// full and evicting.
func TestMemoryAllocations(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(1<<20, nil)
	keys := make([]string, 8192)
	for i := range keys {
		keys[i] = Key("appid:wx0123456789abcdef", "getWeeklyRetain", []byte(strconv.Itoa(i)))
	}
	value := make([]byte, 400)
	i := 0
	set := func() {
		_ = m.Set(ctx, keys[i%len(keys)], value, time.Hour)
		i++
	}
	for range len(keys) {
		set() // fills the store and grows its index once
	}
	assert.Equal(t, 1.0, testing.AllocsPerRun(1000, set), "Set")
	assert.Equal(t, 1.0, testing.AllocsPerRun(1000, func() {
		if _, ok, _ := m.Get(ctx, keys[(i-1)%len(keys)]); !ok {
			t.Fatal("miss")
		}
	}), "Get")
}
