package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// fake is a RESP server on loopback whose handler answers each command; it
// stops, closing every connection, when the test ends.
type fake struct {
	l       net.Listener
	handler func(cn net.Conn, args []string) // writes the reply to cn
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	dials int // connections accepted
}

func startFake(t *testing.T, handler func(cn net.Conn, args []string)) *fake {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{l: l, handler: handler}
	f.wg.Go(f.accept)
	t.Cleanup(f.stop)
	return f
}

func (f *fake) addr() string { return f.l.Addr().String() }

func (f *fake) accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials
}

// stop closes the listener and every connection, and waits for their
// goroutines; a stopped fake refuses connections.
func (f *fake) stop() {
	f.l.Close()
	f.closeConns()
	f.wg.Wait()
}

// closeConns closes the connections accepted so far, as a server does to
// idle clients.
func (f *fake) closeConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cn := range f.conns {
		cn.Close()
	}
	f.conns = nil
}

func (f *fake) accept() {
	for {
		cn, err := f.l.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, cn)
		f.dials++
		f.mu.Unlock()
		f.wg.Go(func() {
			defer cn.Close()
			r := bufio.NewReader(cn)
			for {
				args, err := readCommand(r)
				if err != nil {
					return
				}
				f.handler(cn, args)
			}
		})
	}
}

// readCommand reads one command, an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	n, err := header(r, '*')
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		size, err := header(r, '$')
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

func header(r *bufio.Reader, kind byte) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 3 || line[0] != kind {
		return 0, fmt.Errorf("fake: bad header %q", line)
	}
	n, err := strconv.Atoi(line[1 : len(line)-2])
	if err != nil || n < 0 || n > 1<<20 {
		return 0, errors.New("fake: bad length")
	}
	return n, nil
}
