package scfrpc_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"
	"go.uber.org/goleak"

	"github.com/wxanalysis/wxanalysis/internal/scf"
	"github.com/wxanalysis/wxanalysis/internal/scfrpc"
)

// serverEnv makes the test binary, started again with it, a function
// serving testHandler, as SCF starts one (_LAMBDA_SERVER_PORT): with
// scf-go-lib's own server (cloudfunction.StartHandler), the reference, or
// with scfrpc.Start. A process of its own for each, because gob numbers the
// types it sends in the order a process first uses them: two fresh
// processes send the same bytes only if they use them alike.
const serverEnv = "SCFRPC_TEST_SERVER"

func TestMain(m *testing.M) {
	switch os.Getenv(serverEnv) {
	case "scf-go-lib":
		cloudfunction.StartHandler(testHandler{})
	case "scfrpc":
		scfrpc.Start(testHandler{})
	}
	os.Exit(m.Run())
}

// testHandler is the function both servers run: it answers with what the
// invocation gave it (payload, function context, deadline, an environment
// variable), or fails as the payload says.
type testHandler struct{}

type testError struct{ msg string }

func (e *testError) Error() string { return e.msg }

type valueError struct{}

func (valueError) Error() string { return "a value error" }

type panicValue struct{ what string }

func (testHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	switch string(payload) {
	case "error":
		return nil, &testError{"it failed"}
	case "value-error":
		return nil, valueError{}
	case "nil":
		return nil, nil
	case "panic":
		panic("boom")
	case "panic-pointer":
		panic(&panicValue{"boom"})
	}
	fc, ok := functioncontext.FromContext(ctx)
	deadline, hasDeadline := ctx.Deadline()
	return json.Marshal(map[string]any{
		"payload": string(payload), "context": fc, "hasContext": ok,
		"deadline": deadline.Format(time.RFC3339Nano), "hasDeadline": hasDeadline,
		"env": os.Getenv("SCFRPC_TEST_VAR"),
	})
}

// process starts the test binary as a function served by server (see
// serverEnv) and returns its address.
func process(t testing.TB, server string) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	p, err := scf.StartTo(io.Discard, exe, []string{serverEnv + "=" + server}, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p.Addr()
}

// reference is scf-go-lib's server, in a process of its own.
func reference(t *testing.T) string { return process(t, "scf-go-lib") }

// ours serves h with scfrpc on a loopback port of this process and returns
// its address; the test's cleanup closes the listener and waits for Serve to
// return.
func ours(t *testing.T, h scfrpc.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		scfrpc.Serve(l, h)
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its listener closed")
		}
	})
	return l.Addr().String()
}

// A call is one request as net/rpc's client sends it: a header naming the
// method, then a body.
type call struct {
	method string
	body   any
	reply  any // what to decode a successful response's body into
}

// An answer is what a server sent for one call: the bytes, and the decoded
// header and body.
type answer struct {
	raw    []byte
	header rpc.Response
	body   any
}

// exchange makes calls one after another on one connection to addr, each
// gob-encoded as net/rpc's client encodes it, and returns each call's
// answer.
func exchange(t *testing.T, addr string, calls []call) []answer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	enc := gob.NewEncoder(conn)
	var rec bytes.Buffer
	dec := gob.NewDecoder(io.TeeReader(conn, &rec))
	var out []answer
	for i, c := range calls {
		require.NoError(t, enc.Encode(&rpc.Request{ServiceMethod: c.method, Seq: uint64(100 + i)}))
		require.NoError(t, enc.Encode(c.body))
		var a answer
		require.NoError(t, dec.Decode(&a.header), "call %d (%s)", i, c.method)
		if a.header.Error != "" {
			require.NoError(t, dec.DecodeValue(reflect.Value{}))
		} else {
			require.NoError(t, dec.Decode(c.reply))
			a.body = c.reply
		}
		a.raw = bytes.Clone(rec.Bytes())
		rec.Reset()
		out = append(out, a)
	}
	return out
}

var deadline = messages.InvokeRequest_Timestamp{Seconds: 4102444800, Nanos: 123456789} // 2100-01-01

// calls are the requests both servers answer, in this order on one
// connection: so that gob's type definitions, sent once per connection,
// are compared too.
func calls() []call {
	invoke := func(req messages.InvokeRequest) call {
		if req.Deadline == (messages.InvokeRequest_Timestamp{}) {
			req.Deadline = deadline
		}
		return call{method: "Function.Invoke", body: &req, reply: new(messages.InvokeResponse)}
	}
	ping := call{method: "Function.Ping", body: &messages.PingRequest{}, reply: new(messages.PingResponse)}
	return []call{
		ping,
		invoke(messages.InvokeRequest{
			Payload: []byte(`{"action":"getWeeklyRetain"}`), RequestId: "req-1", TraceId: "trace", InvokedFunctionUnique: "qcs::scf:ap-guangzhou",
			ClientContext: []byte(`{"Client":{"installation_id":"i1"},"env":{"a":"b"},"custom":{"c":"d"}}`),
			Namespace:     "default", FunctionName: "analysis", FunctionVersion: "$LATEST", MemoryLimitInMb: 128, TimeLimitInMs: 3000,
			Environment: `{"SCFRPC_TEST_VAR":"set by the invocation","WX_OPENID":"o1"}`, TencentcloudRegion: "ap-guangzhou",
			TencentcloudAppID: "1250000000", TencentcloudUin: "100000000001", FunctionTrace: "ft",
		}),
		invoke(messages.InvokeRequest{Payload: []byte("second, the environment left as the last one set it"), RequestId: "req-2"}),
		invoke(messages.InvokeRequest{Payload: []byte("error")}),
		invoke(messages.InvokeRequest{Payload: []byte("value-error")}),
		invoke(messages.InvokeRequest{Payload: []byte("nil")}),
		invoke(messages.InvokeRequest{Payload: []byte("x"), ClientContext: []byte("not JSON")}),
		invoke(messages.InvokeRequest{Payload: []byte("x"), Environment: `["not","an","object"]`}),
		invoke(messages.InvokeRequest{}), // no deadline: the zero time's
		{method: "Function.Nope", body: &messages.PingRequest{}},
		{method: "Other.Invoke", body: &messages.InvokeRequest{Payload: []byte("x")}},
		{method: "Function", body: &messages.PingRequest{}},
		// Bodies of another type: gob decodes what it can match, and
		// refuses a body that is not a struct.
		{method: "Function.Invoke", body: &messages.PingRequest{}, reply: new(messages.InvokeResponse)},
		{method: "Function.Ping", body: &messages.InvokeRequest{Payload: []byte("x")}, reply: new(messages.PingResponse)},
		{method: "Function.Ping", body: 42},
		ping,
	}
}

// TestAnswersAsSCFGoLib: for the same requests on one connection, scfrpc
// sends the very bytes scf-go-lib's net/rpc server sends: answers, function
// errors, the errors of a malformed invocation, of a method it does not
// serve and of a body it cannot decode; and the connection goes on serving
// after each.
func TestAnswersAsSCFGoLib(t *testing.T) {
	want := exchange(t, reference(t), calls())
	got := exchange(t, process(t, "scfrpc"), calls())
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].header, got[i].header, "call %d", i)
		assert.Equal(t, want[i].body, got[i].body, "call %d", i)
		assert.Equal(t, want[i].raw, got[i].raw, "call %d: the bytes", i)
	}

	// What they agree on is what SCF expects, not a shared mistake.
	assert.Equal(t, uint64(101), got[1].header.Seq)
	assert.JSONEq(t, `{"payload":"{\"action\":\"getWeeklyRetain\"}","hasContext":true,"hasDeadline":true,
		"deadline":"2100-01-01T00:00:00.123456789Z","env":"set by the invocation",
		"context":{"RequestID":"req-1","InvokedFunctionUnique":"qcs::scf:ap-guangzhou",
		 "ClientContext":{"Client":{"installation_id":"i1","app_title":"","app_version_code":"","app_package_name":""},"env":{"a":"b"},"custom":{"c":"d"}},
		 "Namespace":"default","FunctionName":"analysis","FunctionVersion":"$LATEST","MemoryLimitInMb":128,"TimeLimitInMs":3000,
		 "Environment":{"SCFRPC_TEST_VAR":"set by the invocation","WX_OPENID":"o1"},"TencentcloudRegion":"ap-guangzhou",
		 "TencentcloudAppID":"1250000000","TencentcloudUin":"100000000001","FunctionTrace":"ft"}}`,
		string(got[1].body.(*messages.InvokeResponse).Payload))
	assert.Contains(t, string(got[2].body.(*messages.InvokeResponse).Payload), `"env":"set by the invocation"`)
	assert.Equal(t, &messages.InvokeResponse_Error{Message: "it failed", Type: "testError"}, got[3].body.(*messages.InvokeResponse).Error)
	assert.Equal(t, &messages.InvokeResponse_Error{Message: "a value error", Type: "valueError"}, got[4].body.(*messages.InvokeResponse).Error)
	assert.Equal(t, &messages.InvokeResponse{}, got[5].body)
	assert.Equal(t, "SyntaxError", got[6].body.(*messages.InvokeResponse).Error.Type)
	assert.Equal(t, "UnmarshalTypeError", got[7].body.(*messages.InvokeResponse).Error.Type)
	assert.Equal(t, "rpc: can't find method Function.Nope", got[9].header.Error)
	assert.Equal(t, "rpc: can't find service Other.Invoke", got[10].header.Error)
	assert.Equal(t, "rpc: service/method request ill-formed: Function", got[11].header.Error)
	assert.Contains(t, string(got[12].body.(*messages.InvokeResponse).Payload), `"payload":""`)
	assert.Equal(t, &messages.PingResponse{}, got[13].body)
	assert.Equal(t, "gob: type mismatch in decoder: want struct type messages.PingRequest; got non-struct", got[14].header.Error)
	assert.Equal(t, &messages.PingResponse{}, got[15].body)
}

// TestPanicAsSCFGoLib: a panicking invocation is answered as scf-go-lib
// answers it: the panic's value and type, ShouldExit, and a stack trace in
// which the panicking function's frame is the same. (The frames between the
// recover and that function name each server's own code.)
func TestPanicAsSCFGoLib(t *testing.T) {
	for _, payload := range []string{"panic", "panic-pointer"} {
		t.Run(payload, func(t *testing.T) {
			c := []call{{method: "Function.Invoke", body: &messages.InvokeRequest{Payload: []byte(payload), Deadline: deadline},
				reply: new(messages.InvokeResponse)}}
			want := exchange(t, reference(t), c)[0].body.(*messages.InvokeResponse).Error
			c[0].reply = new(messages.InvokeResponse)
			got := exchange(t, ours(t, testHandler{}), c)[0].body.(*messages.InvokeResponse).Error
			require.NotNil(t, want)
			require.NotNil(t, got)
			assert.Equal(t, want.Message, got.Message)
			assert.Equal(t, want.Type, got.Type)
			assert.True(t, got.ShouldExit)
			assert.Equal(t, want.ShouldExit, got.ShouldExit)
			assert.Equal(t, frameOf(t, want.StackTrace, "testHandler.Invoke"), frameOf(t, got.StackTrace, "testHandler.Invoke"))
		})
	}
}

func frameOf(t *testing.T, frames []*messages.InvokeResponse_Error_StackFrame, label string) messages.InvokeResponse_Error_StackFrame {
	t.Helper()
	for _, f := range frames {
		if f.Label == label {
			return *f
		}
	}
	t.Fatalf("no frame %s in %v", label, frames)
	return messages.InvokeResponse_Error_StackFrame{}
}

// TestUndecodableHeaderCloses: a header gob cannot decode ends the
// connection, as it does for scf-go-lib's server, with nothing sent.
func TestUndecodableHeaderCloses(t *testing.T) {
	for name, addr := range map[string]string{"reference": reference(t), "scfrpc": ours(t, testHandler{})} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = conn.Write([]byte("\x07garbage and more garbage"))
		require.NoError(t, err)
		b, err := io.ReadAll(conn)
		assert.NoError(t, err, name)
		assert.Empty(t, b, name)
		conn.Close()
	}
}

// barrier answers each invocation once n invocations have arrived, so that
// every one of them must be in progress at once, and answers with the
// payload.
type barrier struct {
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func (b *barrier) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if b.arrived.Add(1) == b.n {
		close(b.all)
	}
	select {
	case <-b.all:
		return payload, nil
	case <-time.After(10 * time.Second):
		return nil, errors.New("not every invocation arrived")
	}
}

// callWithin is client.Call, bounded: an answer that does not come within
// 10 s is an error.
func callWithin(client *rpc.Client, method string, args, reply any) error {
	call := client.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		return call.Error
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: no answer within 10 s", method)
	}
}

// TestConcurrentInvocations: the invocations on one connection run at once,
// each answered to its own call, as net/rpc serves them; and once the client
// closes the connection no goroutine of the server's is left.
func TestConcurrentInvocations(t *testing.T) {
	// A cleanup, so that it runs after ours has closed its listener.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	const n = 24
	h := &barrier{n: n, all: make(chan struct{})}
	client, err := rpc.Dial("tcp", ours(t, h))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var resp messages.InvokeResponse
			err := callWithin(client, "Function.Invoke", &messages.InvokeRequest{Payload: fmt.Appendf(nil, "call %d", i), Deadline: deadline}, &resp)
			assert.NoError(t, err)
			assert.Nil(t, resp.Error)
			assert.Equal(t, fmt.Sprintf("call %d", i), string(resp.Payload))
		})
	}
	wg.Wait()
	require.NoError(t, client.Close())
}

// TestServeConnEndsWithItsClient: ServeConn returns once the client has
// closed the connection and every answer due is sent, and closes it.
func TestServeConnEndsWithItsClient(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	server, clientConn := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		scfrpc.ServeConn(server, testHandler{})
	}()
	client := rpc.NewClient(clientConn)
	var resp messages.InvokeResponse
	require.NoError(t, callWithin(client, "Function.Invoke", &messages.InvokeRequest{Payload: []byte("value-error"), Deadline: deadline}, &resp))
	assert.Equal(t, "valueError", resp.Error.Type)
	require.NoError(t, client.Close())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ServeConn did not return after its client closed the connection")
	}
	_, err := server.Write([]byte{0})
	assert.ErrorIs(t, err, io.ErrClosedPipe, "ServeConn closes its connection")
}

// BenchmarkInvoke: one invocation at a time through each server, from
// net/rpc's client as SCF's runtime sends it, each server in a process of
// its own; the handler answers at once, so what is measured is the protocol.
func BenchmarkInvoke(b *testing.B) {
	for _, server := range []string{"scf-go-lib", "scfrpc"} {
		b.Run(server, func(b *testing.B) {
			client, err := rpc.Dial("tcp", process(b, server))
			require.NoError(b, err)
			defer client.Close()
			req := &messages.InvokeRequest{Payload: []byte("nil"), RequestId: "req-1", Deadline: deadline,
				Environment: `{"SCFRPC_TEST_VAR":"v"}`}
			b.ReportAllocs()
			for b.Loop() {
				var resp messages.InvokeResponse
				if err := client.Call("Function.Invoke", req, &resp); err != nil || resp.Error != nil {
					b.Fatal(err, resp.Error)
				}
			}
		})
	}
}
