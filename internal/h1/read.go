package h1

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// Bounds on what an answer's head may hold; WeChat's heads are a few hundred
// bytes.
const (
	maxHeaderLines = 128
	maxInterim     = 8 // 1xx answers before the real one
)

// readResponse reads one answer to method from br, appending its body to
// dst, at most limit bytes. keep says whether the connection may carry
// another request.
func readResponse(br *bufio.Reader, method string, dst *bytes.Buffer, limit int64) (r Response, keep bool, err error) {
	for interim := 0; ; interim++ {
		if interim > maxInterim {
			return r, false, &ProtocolError{"too many 1xx answers"}
		}
		line, err := readLine(br)
		if err != nil {
			return r, false, err
		}
		var minor int
		if minor, r.Status, err = statusLine(line); err != nil {
			return r, false, err
		}
		var h head
		if err := h.read(br); err != nil {
			return r, false, err
		}
		if r.Status >= 100 && r.Status < 200 {
			if r.Status == 101 {
				return r, false, &ProtocolError{"101 Switching Protocols, never asked for"}
			}
			continue
		}
		r.ContentType, r.RetryAfter = h.contentType, h.retryAfter
		// An HTTP/1.0 answer framed by chunks must end its connection
		// (RFC 9112 §6.1).
		keep = !h.close && (minor >= 1 || h.keepAlive && !h.chunked)
		switch {
		case method == "HEAD" || r.Status == 204 || r.Status == 304:
			return r, keep, nil
		case h.chunked:
			err = readChunked(br, dst, limit)
		case h.length >= 0:
			err = readLength(br, dst, h.length, limit)
		default:
			// Delimited by the connection's end.
			keep = false
			err = readToEOF(br, dst, limit)
		}
		if err != nil {
			return r, false, err
		}
		return r, keep, nil
	}
}

// readLine returns a line without its CR LF (or LF). A line longer than the
// reader's buffer is an error: no head line of a real answer is.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return line, &ProtocolError{"a head line longer than " + strconv.Itoa(br.Size()) + " bytes"}
		}
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// statusLine parses "HTTP/1.x NNN reason".
func statusLine(line []byte) (minor, status int, err error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		// Quoted only up to its first space: a server that echoes the
		// request line would echo its URL.
		first, _, _ := bytes.Cut(line[:min(len(line), 16)], []byte(" "))
		return 0, 0, &ProtocolError{"status line starting " + strconv.Quote(string(first))}
	}
	if line[7] < '0' || line[7] > '9' {
		return 0, 0, &ProtocolError{"HTTP version"}
	}
	minor = int(line[7] - '0')
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, &ProtocolError{"status code"}
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, 0, &ProtocolError{"status code"}
	}
	return minor, status, nil
}

// head is what the client reads of an answer's header fields.
type head struct {
	length      int64 // -1: not given
	chunked     bool
	close       bool
	keepAlive   bool
	contentType string
	retryAfter  string
}

func (h *head) read(br *bufio.Reader) error {
	h.length = -1
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			if h.chunked && h.length >= 0 {
				// RFC 9112 §6.3: a sign of smuggling, handled as an error.
				return &ProtocolError{"both Content-Length and Transfer-Encoding"}
			}
			return nil
		}
		if n >= maxHeaderLines {
			return &ProtocolError{"more than " + strconv.Itoa(maxHeaderLines) + " header fields"}
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			// No name, or an obsolete folded line (RFC 9112 §5.2 lets a
			// client refuse it).
			return &ProtocolError{"header field"}
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case is(name, "content-length"):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || !digits(value) || (h.length >= 0 && h.length != v) {
				return &ProtocolError{"Content-Length"}
			}
			h.length = v
		case is(name, "transfer-encoding"):
			if !is(value, "chunked") || h.chunked {
				// Only chunked is ever sent to a client that asks for no
				// compression; anything else cannot be framed safely.
				return &ProtocolError{"Transfer-Encoding " + strconv.Quote(string(value[:min(len(value), 40)]))}
			}
			h.chunked = true
		case is(name, "connection"):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				h.close = h.close || is(tok, "close")
				h.keepAlive = h.keepAlive || is(tok, "keep-alive")
			}
		case is(name, "content-type"):
			h.contentType = intern(value)
		case is(name, "retry-after"):
			h.retryAfter = string(value)
		}
	}
}

// digits reports whether b is a non-empty run of ASCII digits.
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// is compares an ASCII header token with a lower-case name.
func is(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// intern returns WeChat's usual media types without allocating.
func intern(v []byte) string {
	switch string(v) {
	case "application/json":
		return "application/json"
	case "application/json; charset=utf-8":
		return "application/json; charset=utf-8"
	case "application/json; encoding=utf-8":
		return "application/json; encoding=utf-8"
	case "text/plain":
		return "text/plain"
	case "text/plain; charset=utf-8":
		return "text/plain; charset=utf-8"
	}
	return string(v)
}

// readLength reads a body of n bytes.
func readLength(br *bufio.Reader, dst *bytes.Buffer, n, limit int64) error {
	if n > limit {
		return ErrTooLarge
	}
	return readN(br, dst, n)
}

func readN(br *bufio.Reader, dst *bytes.Buffer, n int64) error {
	dst.Grow(int(n))
	b := dst.AvailableBuffer()[:n]
	if _, err := io.ReadFull(br, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	dst.Write(b)
	return nil
}

// readChunked reads a chunked body (RFC 9112 §7.1), trailers skipped.
func readChunked(br *bufio.Reader, dst *bytes.Buffer, limit int64) error {
	var total int64
	for {
		line, err := readLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimRight(line, " \t")
		size, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil || size < 0 || len(line) == 0 || line[0] == '+' || line[0] == '-' {
			return &ProtocolError{"chunk size"}
		}
		if size == 0 {
			var trailers head // read as header fields, and dropped
			return trailers.read(br)
		}
		if total += size; total > limit || total < 0 {
			return ErrTooLarge
		}
		if err := readN(br, dst, size); err != nil {
			return err
		}
		if crlf, err := readLine(br); err != nil || len(crlf) != 0 {
			if err == nil || err == io.EOF {
				err = &ProtocolError{"chunk end"}
			}
			return err
		}
	}
}

// readToEOF reads a body that ends with the connection.
func readToEOF(br *bufio.Reader, dst *bytes.Buffer, limit int64) error {
	n, err := dst.ReadFrom(io.LimitReader(br, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return ErrTooLarge
	}
	return nil
}
