package cloudcall

import (
	"bytes"
	"fmt"
	"strconv"
)

// decide turns a 200 answer into the outcome wx-server-sdk gives (§5 rows 4 to 12).
// api is the apiName, e.g. "analysis.getWeeklyRetain".
func decide(api, contentType string, body []byte) (*Response, *Error) {
	// Rows 4 to 6: node-sdk parses the body as JSON only for this exact content type,
	// and falls back to the protobuf when that fails.
	if contentType == "application/json; charset=utf-8" {
		if v, err := parseJS(body); err == nil {
			return nil, decideJSON(api, v)
		}
	}
	resp, decodeErr := decodeCommOpenAPIResp(body)
	if decodeErr == nil {
		if resp.errorCode != 0 { // row 11
			return nil, &Error{Code: int(resp.errorCode), ErrMsg: "system error: error code: " + strconv.Itoa(int(resp.errorCode))}
		}
		return &Response{Data: resp.respData, ContentType: resp.contentType}, nil // row 12
	}
	v, err := parseJS(body)
	if err != nil { // row 10
		return nil, &Error{Code: -601001, ErrMsg: api + ":fail unknown wx response received: " + decodeErr.Error()}
	}
	if v.kind == jsNull {
		return nil, nullRead(api)
	}
	if code := v.member("code"); code != nil && code.truthy() {
		if msg := v.member("message"); msg != nil { // row 8
			return nil, &Error{Code: tcbErrCode(code), ErrMsg: api + ":fail " + msg.toString()}
		}
	}
	var text bytes.Buffer // row 9
	writeStringify(&text, v)
	return nil, &Error{Code: -501001, ErrMsg: api + ":fail " + text.String()}
}

// decideJSON is rows 4 to 6: a JSON answer is always a failure.
func decideJSON(api string, v *jsValue) *Error {
	if code := v.member("code"); code != nil && code.truthy() { // row 4: node-sdk throws a TcbError
		// errMsg is message when truthy, else the TcbError itself as its toString
		// prints it: "Error", or "Error: <message>" for a message other than "".
		errMsg := "Error"
		if msg := v.member("message"); msg != nil && msg.truthy() {
			errMsg = msg.toString()
		} else if msg != nil && !(msg.kind == jsString && msg.str == "") {
			errMsg = "Error: " + msg.toString()
		}
		return errorStyle(api, tcbErrCode(code), errMsg)
	}
	switch {
	case v.kind == jsNull:
		return nullRead(api)
	case v.member("errcode") != nil && v.member("errcode").truthy(): // row 5
		ec := v.member("errcode")
		code := -501001
		if ec.kind == jsNumber {
			if n, err := strconv.Atoi(jsNumberString(ec.float())); err == nil {
				code = n
			}
		}
		msg := "undefined"
		if m := v.member("errmsg"); m != nil {
			msg = m.toString()
		}
		return &Error{Code: code, ErrMsg: api + ":fail " + msg}
	case isZero(v.member("byteLength")):
		return &Error{Code: -601001, ErrMsg: api + ":fail empty response"}
	}
	return &Error{Code: -501001, ErrMsg: api + ":fail unknown response " + v.toString()} // row 6
}

func isZero(v *jsValue) bool { return v != nil && v.kind == jsNumber && v.float() == 0 }

// nullRead is the SDK reading .code of a JSON null: a TypeError, errCode -1.
func nullRead(api string) *Error {
	return &Error{Code: -1, ErrMsg: "openapi." + api + ":fail Cannot read properties of null (reading 'code')"}
}

// errorStyle is wx-server-sdk's toSDKError message for {errCode, errMsg}.
func errorStyle(api string, code int, text string) *Error {
	return &Error{Code: code, ErrMsg: fmt.Sprintf("openapi.%s:fail %d %s. %s", api, code, errDesc[code], text)}
}

// tcbErrCode is TCB_ERR_CODE[code] || -501001, code converted to a property key.
func tcbErrCode(code *jsValue) int {
	if n := tcbErrCodes[code.toString()]; n != 0 {
		return n
	}
	return -501001
}

// commOpenAPIResp holds the CommOpenApiResp fields the SDK uses.
type commOpenAPIResp struct {
	respData    []byte
	contentType string
	errorCode   int32
}

// pbError is a protobufjs decoding error, as `${err}` prints it.
type pbError string

func (e pbError) Error() string { return string(e) }

// pbReader is protobufjs 7.6.6's BufferReader: the same reads, bounds checks and
// error texts, so that row 10's message is the SDK's.
type pbReader struct {
	buf      []byte
	pos, len int64
}

func (r *pbReader) outOfRange(n int64) error {
	if n == 0 {
		n = 1
	}
	return pbError(fmt.Sprintf("RangeError: index out of range: %d + %d > %d", r.pos, n, r.len))
}

func (r *pbReader) uint32() (uint32, error) {
	if r.len-r.pos < 5 {
		if r.pos >= r.len {
			return 0, r.outOfRange(1)
		}
		if r.buf[r.pos] >= 128 {
			var v uint32
			for i := 0; i < 4; i++ {
				if r.pos >= r.len {
					return 0, r.outOfRange(1)
				}
				b := r.buf[r.pos]
				r.pos++
				v |= uint32(b&127) << (7 * i)
				if b < 128 {
					return v, nil
				}
			}
			return 0, r.outOfRange(1)
		}
	}
	var v uint32
	for i := 0; i < 5; i++ {
		b := r.buf[r.pos]
		r.pos++
		if i < 4 {
			v |= uint32(b&127) << (7 * i)
		} else {
			v |= uint32(b&15) << 28
		}
		if b < 128 {
			return v, nil
		}
	}
	if r.pos += 5; r.pos > r.len {
		r.pos = r.len
		return 0, r.outOfRange(10)
	}
	return v, nil
}

func (r *pbReader) bytes() ([]byte, error) {
	n, err := r.uint32()
	if err != nil {
		return nil, err
	}
	end := r.pos + int64(n)
	if end > r.len {
		return nil, r.outOfRange(int64(n))
	}
	b := r.buf[r.pos:end]
	r.pos = end
	return b, nil
}

// string clamps at the end of the buffer instead of failing, as BufferReader's does.
func (r *pbReader) string() (string, error) {
	n, err := r.uint32()
	if err != nil {
		return "", err
	}
	end := min(r.pos+int64(n), r.len)
	s := string(r.buf[r.pos:end])
	r.pos = end
	return s, nil
}

func (r *pbReader) skip(n int64) error {
	if r.pos+n > r.len {
		return r.outOfRange(n)
	}
	r.pos += n
	return nil
}

func (r *pbReader) skipType(wireType uint32, depth int) error {
	if depth > 100 {
		return pbError("Error: maximum nesting depth exceeded")
	}
	switch wireType {
	case 0:
		for {
			if r.pos >= r.len {
				return r.outOfRange(1)
			}
			b := r.buf[r.pos]
			r.pos++
			if b&128 == 0 {
				return nil
			}
		}
	case 1:
		return r.skip(8)
	case 2:
		n, err := r.uint32()
		if err != nil {
			return err
		}
		return r.skip(int64(n))
	case 3:
		for {
			t, err := r.uint32()
			if err != nil {
				return err
			}
			if t&7 == 4 {
				return nil
			}
			if err := r.skipType(t&7, depth+1); err != nil {
				return err
			}
		}
	case 5:
		return r.skip(4)
	}
	return pbError(fmt.Sprintf("Error: invalid wire type %d at offset %d", wireType, r.pos))
}

// decodeCommOpenAPIResp is the SDK's static CommOpenApiResp.decode.
func decodeCommOpenAPIResp(b []byte) (*commOpenAPIResp, error) {
	r := &pbReader{buf: b, len: int64(len(b))}
	m := &commOpenAPIResp{}
	for r.pos < r.len {
		tag, err := r.uint32()
		if err != nil {
			return nil, err
		}
		switch tag >> 3 {
		case 1:
			m.respData, err = r.bytes()
		case 2:
			m.contentType, err = r.string()
		case 3:
			var v uint32
			v, err = r.uint32()
			m.errorCode = int32(v)
		case 4, 6:
			_, err = r.uint32()
		case 5: // HttpHeader, read and dropped
			var n uint32
			if n, err = r.uint32(); err == nil {
				end := r.pos + int64(n)
				for err == nil && r.pos < end {
					var t uint32
					if t, err = r.uint32(); err == nil {
						if t>>3 == 1 || t>>3 == 2 {
							_, err = r.string()
						} else {
							err = r.skipType(t&7, 0)
						}
					}
				}
			}
		default:
			err = r.skipType(tag&7, 0)
		}
		if err != nil {
			return nil, err
		}
	}
	if m.respData == nil {
		m.respData = []byte{}
	}
	return m, nil
}
