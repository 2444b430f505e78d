package casing

import "context"

// Work converts src and returns how much work the key handling did: names
// compared, hash slots probed and members moved.
func Work(c Converter, src []byte) (int, error) {
	s := getState(context.Background(), c, src, nil)
	defer putState(s)
	i, err := s.value(s.ws(0), 0)
	if err == nil {
		err = s.end(i)
	}
	return s.work, err
}

// SetMaxSize lowers the size bound for a test; the returned func restores it.
func SetMaxSize(n int) (restore func()) {
	old := maxSize
	maxSize = n
	return func() { maxSize = old }
}
