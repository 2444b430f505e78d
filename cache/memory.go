package cache

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"
)

// EntryOverhead is what Memory counts for each entry besides the bytes
// allocated for its key and value: its slot in the entry table (48 bytes,
// in chunks of slabLen) and its share of the key index, a map whose slots (a
// string and an int32: 24 bytes and a control byte) are between about 3/8
// and 7/8 full, depending on how recently the map grew and how many
// deleted slots it holds. Measured as heap growth over thousands of entries
// (TestMemoryHeapWithinBound and its helper memoryHeap), it is 90 to 130
// bytes; 160 keeps the bound for the index's sparsest state.
const EntryOverhead = 160

// slabLen is the number of entry slots allocated at once: entries live in
// fixed chunks of the table, so that storing one costs no allocation of its
// own and the table never copies itself to grow.
const slabLen = 256

// Memory is an in-process Store bounded by the memory its entries occupy:
// each entry counts the bytes allocated for its key and value (their
// length rounded up to the allocator's size class) plus EntryOverhead. It
// evicts the least recently used entry first. It is safe for concurrent
// use.
//
// An entry is one allocation: its key and value in one byte slice, whose
// key part is also the index's map key (the slice is never written once
// filled, so the string over it is immutable, as Go strings must be). The
// entries themselves, with their recency list, live in a table of
// fixed-size chunks, linked by index rather than by pointer.
//
// The table and the index keep the capacity of the most entries ever held
// at once (Go maps do not shrink); the bound is for a steady mix of sizes,
// and at worst, after many tiny entries gave way to a few large ones, that
// capacity, at most maxBytes/EntryOverhead slots of table and index, adds
// up to about three quarters of maxBytes.
type Memory struct {
	now   func() time.Time
	epoch time.Time // expiry times are durations since epoch, so monotonic

	mu    sync.Mutex
	max   int64
	size  int64
	items map[string]int32 // key → slot
	slabs [][]entry        // slot i is slabs[i/slabLen][i%slabLen]; slot 0 is the recency list's head
	used  int32            // slots ever handed out, the head included
	free  int32            // first free slot, linked by next; 0: none
}

// entry is one slot of the table: a stored key and value, or a free slot.
type entry struct {
	data       []byte // key then value; cap is what was allocated
	klen       int
	prev, next int32 // recency list (slot 0 its head: next is the most recent, prev the least), or the free list
	expires    int64 // nanoseconds since Memory.epoch
}

// NewMemory returns a Memory whose entries occupy at most maxBytes, as
// counted by Bytes; now is its clock (nil: time.Now). With maxBytes <= 0 it
// holds nothing.
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	// Slot 0, the head, is handed out with the first chunk: an empty
	// circular list.
	return &Memory{now: now, epoch: now(), max: maxBytes, items: make(map[string]int32), used: 1}
}

func (m *Memory) slot(i int32) *entry { return &m.slabs[i/slabLen][i%slabLen] }

// since is t as nanoseconds since m's epoch.
func (m *Memory) since(t time.Time) int64 { return int64(t.Sub(m.epoch)) }

// Get returns a copy of key's value unless it is missing or expired. It never
// fails.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := m.since(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.items[key]
	if !ok {
		return nil, false, nil
	}
	e := m.slot(i)
	if now >= e.expires {
		m.remove(i)
		return nil, false, nil
	}
	m.unlink(i)
	m.pushFront(i)
	return append([]byte{}, e.data[e.klen:]...), true, nil
}

// Set stores a copy of value for ttl, evicting the least recently used
// entries to make room. A value that cannot be kept (ttl <= 0, or larger than
// the whole store) removes key instead, so that an older value is not served
// in its place. It never fails.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	n := len(key) + len(value)
	var data []byte
	keep := ttl > 0 && int64(n)+EntryOverhead <= m.max
	if keep {
		// Allocated outside the lock; append rounds cap up to the size class,
		// so cap is what the entry really occupies.
		data = append(slices.Grow([]byte(nil), n), key...)
		data = append(data, value...)
	}
	now := m.since(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.items[key]; ok {
		m.remove(i)
	}
	size := int64(cap(data)) + EntryOverhead
	if !keep || size > m.max {
		return nil
	}
	for m.size+size > m.max {
		m.remove(m.slot(0).prev)
	}
	i := m.alloc()
	e := m.slot(i)
	e.data, e.klen, e.expires = data, len(key), now+min(int64(ttl), math.MaxInt64-max(now, 0))
	m.pushFront(i)
	m.items[unsafe.String(unsafe.SliceData(data), len(key))] = i
	m.size += size
	return nil
}

// Bytes returns the memory counted against the bound: for each entry held,
// expired ones included until they are evicted or looked up, its allocated
// key and value bytes plus EntryOverhead.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size
}

// alloc returns a free slot, growing the table by a chunk if none is.
func (m *Memory) alloc() int32 {
	if i := m.free; i != 0 {
		m.free = m.slot(i).next
		return i
	}
	if int(m.used) >= len(m.slabs)*slabLen {
		m.slabs = append(m.slabs, make([]entry, slabLen))
	}
	m.used++
	return m.used - 1
}

// remove drops slot i's entry and frees the slot.
func (m *Memory) remove(i int32) {
	e := m.slot(i)
	delete(m.items, unsafe.String(unsafe.SliceData(e.data), e.klen))
	m.size -= int64(cap(e.data)) + EntryOverhead
	m.unlink(i)
	*e = entry{next: m.free}
	m.free = i
}

func (m *Memory) unlink(i int32) {
	e := m.slot(i)
	m.slot(e.prev).next = e.next
	m.slot(e.next).prev = e.prev
}

// pushFront makes slot i the most recently used.
func (m *Memory) pushFront(i int32) {
	head := m.slot(0)
	e := m.slot(i)
	e.prev, e.next = 0, head.next
	m.slot(head.next).prev = i
	head.next = i
}
