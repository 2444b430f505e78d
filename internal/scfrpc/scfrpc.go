// Package scfrpc serves a Go1 cloud function over Tencent SCF's runtime
// protocol, as github.com/tencentyun/scf-go-lib's cloudfunction.StartHandler
// does: net/rpc's gob encoding on each TCP connection the runtime opens to
// localhost:$_LAMBDA_SERVER_PORT, the service Function with the methods Ping
// and Invoke, scf-go-lib's request and response messages. Every answer is
// the one scf-go-lib's server gives, byte for byte (the tests run both), but
// for the frames of a panic's stack trace below the panicking function.
//
// It exists so that the binary does not link net/rpc. net/rpc finds a
// service's methods by reflection (reflect.Type.Method), and once a program
// does that the linker keeps every exported method of every type the
// program converts to an interface, since it can no longer tell which are
// called; net/rpc also brings html/template for its debug page. For this
// function that was 1.7 MiB of the 10.9 MiB stripped binary, and a cold
// start reads all of it from disk (bench/NOTES.md).
package scfrpc

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// A Handler serves one invocation: scf-go-lib's cloudfunction.Handler.
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Request is net/rpc's request header, as gob sends it: the same name and
// exported fields, so that the bytes are the same.
type Request struct {
	ServiceMethod string
	Seq           uint64
}

// Response is net/rpc's response header, as gob sends it.
type Response struct {
	ServiceMethod string
	Seq           uint64
	Error         string
}

// The methods served, as net/rpc names them.
const (
	service      = "Function"
	invokeMethod = service + ".Invoke"
	pingMethod   = service + ".Ping"
)

// invalidRequest is the body of an error response, as net/rpc sends it.
var invalidRequest = struct{}{}

// Start serves h on localhost:$_LAMBDA_SERVER_PORT for the life of the
// process. Like scf-go-lib, it exits the process (log.Fatal) when it cannot
// listen or accept.
func Start(h Handler) {
	l, err := net.Listen("tcp", "localhost:"+os.Getenv("_LAMBDA_SERVER_PORT"))
	if err != nil {
		log.Fatal(err)
	}
	Serve(l, h)
	log.Fatal("accept should not have returned")
}

// Serve accepts connections on l and serves each on a goroutine of its own
// until it closes. It returns when Accept fails (as when l is closed), after
// logging it as net/rpc does; connections already accepted are still served.
func Serve(l net.Listener, h Handler) {
	for {
		conn, err := l.Accept()
		if err != nil {
			log.Print("rpc.Serve: accept:", err.Error())
			return
		}
		go ServeConn(conn, h)
	}
}

// ServeConn serves the requests on rwc, each invocation on a goroutine of its
// own as net/rpc runs them, until the client closes it or sends a header it
// cannot decode; then it waits for the answers still due, and closes rwc.
func ServeConn(rwc io.ReadWriteCloser, h Handler) {
	buf := bufio.NewWriter(rwc)
	c := &conn{rwc: rwc, dec: gob.NewDecoder(rwc), enc: gob.NewEncoder(buf), buf: buf}
	var wg sync.WaitGroup
	for {
		var req Request
		if c.dec.Decode(&req) != nil {
			// net/rpc stops reading too; it logs why only in its debug mode.
			break
		}
		switch req.ServiceMethod {
		case invokeMethod:
			in := new(messages.InvokeRequest)
			if err := c.dec.Decode(in); err != nil {
				c.reply(&req, invalidRequest, err.Error())
				continue
			}
			wg.Go(func() {
				out := new(messages.InvokeResponse)
				invoke(h, in, out)
				c.reply(&req, out, "")
			})
		case pingMethod:
			in := new(messages.PingRequest)
			if err := c.dec.Decode(in); err != nil {
				c.reply(&req, invalidRequest, err.Error())
				continue
			}
			wg.Go(func() { c.reply(&req, &messages.PingResponse{}, "") })
		default:
			c.dec.DecodeValue(reflect.Value{}) // discard the body, as net/rpc does
			c.reply(&req, invalidRequest, lookupError(req.ServiceMethod))
		}
	}
	wg.Wait()
	c.close()
}

// lookupError is net/rpc's error for a method it does not serve.
func lookupError(serviceMethod string) string {
	dot := strings.LastIndex(serviceMethod, ".")
	switch {
	case dot < 0:
		return "rpc: service/method request ill-formed: " + serviceMethod
	case serviceMethod[:dot] != service:
		return "rpc: can't find service " + serviceMethod
	default:
		return "rpc: can't find method " + serviceMethod
	}
}

// A conn is one connection's encoder side.
type conn struct {
	rwc     io.ReadWriteCloser
	dec     *gob.Decoder
	sending sync.Mutex // one response at a time; guards enc, buf, closed
	enc     *gob.Encoder
	buf     *bufio.Writer
	closed  bool
}

// reply writes req's response: body, or invalidRequest and errmsg when
// errmsg is not empty. A response gob cannot encode closes the connection,
// as net/rpc's does.
func (c *conn) reply(req *Request, body any, errmsg string) {
	if errmsg != "" {
		body = invalidRequest
	}
	c.sending.Lock()
	defer c.sending.Unlock()
	if err := c.enc.Encode(&Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq, Error: errmsg}); err != nil {
		if c.buf.Flush() == nil {
			log.Println("rpc: gob error encoding response:", err)
			c.closeLocked()
		}
		return
	}
	if err := c.enc.Encode(body); err != nil {
		if c.buf.Flush() == nil {
			log.Println("rpc: gob error encoding body:", err)
			c.closeLocked()
		}
		return
	}
	c.buf.Flush()
}

func (c *conn) close() {
	c.sending.Lock()
	defer c.sending.Unlock()
	c.closeLocked()
}

func (c *conn) closeLocked() {
	if !c.closed {
		c.closed = true
		c.rwc.Close()
	}
}

// invoke is scf-go-lib's Function.Invoke: the invocation's context (its
// deadline, its functioncontext.FunctionContext), the invocation's
// environment set in the process, h's answer or error, and a panic reported
// with ShouldExit.
func invoke(h Handler, req *messages.InvokeRequest, resp *messages.InvokeResponse) {
	defer func() {
		if p := recover(); p != nil {
			resp.Error = &messages.InvokeResponse_Error{
				Message:    fmt.Sprintf("%v", p),
				Type:       typeName(p),
				StackTrace: panicStack(),
				ShouldExit: true,
			}
		}
	}()
	deadline := time.Unix(req.Deadline.Seconds, req.Deadline.Nanos).UTC()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	fc := &functioncontext.FunctionContext{
		RequestID:             req.RequestId,
		InvokedFunctionUnique: req.InvokedFunctionUnique,
		Namespace:             req.Namespace,
		FunctionName:          req.FunctionName,
		FunctionVersion:       req.FunctionVersion,
		MemoryLimitInMb:       req.MemoryLimitInMb,
		TimeLimitInMs:         req.TimeLimitInMs,
		TencentcloudRegion:    req.TencentcloudRegion,
		TencentcloudAppID:     req.TencentcloudAppID,
		TencentcloudUin:       req.TencentcloudUin,
		FunctionTrace:         req.FunctionTrace,
	}
	if len(req.ClientContext) > 0 {
		if err := json.Unmarshal(req.ClientContext, &fc.ClientContext); err != nil {
			resp.Error = errorResponse(err)
			return
		}
	}
	if len(req.Environment) > 0 {
		if err := json.Unmarshal([]byte(req.Environment), &fc.Environment); err != nil {
			resp.Error = errorResponse(err)
			return
		}
		// scf-go-lib does this, and callers may depend on it (see
		// handler/identity.go for why this function does not).
		for k, v := range fc.Environment {
			os.Setenv(k, v)
		}
	}
	payload, err := h.Invoke(functioncontext.NewContext(ctx, fc), req.Payload)
	if err != nil {
		resp.Error = errorResponse(err)
		return
	}
	resp.Payload = payload
}

// errorResponse reports err as scf-go-lib does: its message and the name of
// its type, a pointer's element type's.
func errorResponse(err error) *messages.InvokeResponse_Error {
	return &messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// maxFrames is how many frames of a panic's stack are reported.
const maxFrames = 32

// panicStack is the stack of the panic being recovered, from the deferred
// function that recovers it (panicStack's caller) outward, each frame as
// scf-go-lib reports it.
func panicStack() []*messages.InvokeResponse_Error_StackFrame {
	pcs := make([]uintptr, maxFrames)
	n := runtime.Callers(2, pcs) // skip runtime.Callers and panicStack
	if n == 0 {
		return []*messages.InvokeResponse_Error_StackFrame{}
	}
	var out []*messages.InvokeResponse_Error_StackFrame
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		out = append(out, stackFrame(f))
		if !more {
			return out
		}
	}
}

// stackFrame is f as scf-go-lib reports it: the file's path from the
// directory that holds the package's import path (as many trailing path
// elements as the function's name has slashes, plus two), and the function's
// name without its package.
func stackFrame(f runtime.Frame) *messages.InvokeResponse_Error_StackFrame {
	path, label := f.File, f.Function
	cut := len(path)
	for range strings.Count(label, "/") + 2 {
		cut = strings.LastIndex(path[:cut], "/")
		if cut < 0 {
			break
		}
	}
	path = path[cut+1:]
	label = label[strings.LastIndex(label, "/")+1:]
	label = label[strings.Index(label, ".")+1:]
	return &messages.InvokeResponse_Error_StackFrame{Path: path, Line: int32(f.Line), Label: label}
}
