package cache

import (
	"bytes"
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is an in-process Store bounded by the bytes of its keys and values,
// evicting the least recently used entry first. It is safe for concurrent
// use.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	max   int64
	size  int64
	order list.List // of *entry, most recently used first
	items map[string]*list.Element
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns a Memory holding at most maxBytes of keys and values;
// now is its clock (nil: time.Now). With maxBytes <= 0 it holds nothing.
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: maxBytes, items: make(map[string]*list.Element)}
}

// Get returns a copy of key's value unless it is missing or expired. It never
// fails.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.order.MoveToFront(el)
	return bytes.Clone(e.value), true, nil
}

// Set stores a copy of value for ttl, evicting the least recently used
// entries to make room. A value that cannot be kept (ttl <= 0, or larger than
// the whole store) removes key instead, so that an older value is not served
// in its place. It never fails.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	expires := m.now().Add(ttl)
	size := int64(len(key) + len(value))
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	if ttl <= 0 || size > m.max {
		return nil
	}
	for m.size+size > m.max {
		m.remove(m.order.Back())
	}
	m.items[key] = m.order.PushFront(&entry{key: key, value: append([]byte{}, value...), expires: expires})
	m.size += size
	return nil
}

// Bytes returns the bytes of keys and values held, expired entries included
// until they are evicted or looked up.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size
}

func (m *Memory) remove(el *list.Element) {
	e := m.order.Remove(el).(*entry)
	delete(m.items, e.key)
	m.size -= int64(len(e.key) + len(e.value))
}
